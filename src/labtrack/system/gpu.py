"""NVIDIA GPU readings through NVML (``pip install nvidia-ml-py``), when present.

Without the ``pynvml`` module, or when NVML cannot start (no driver, no GPU),
:meth:`GpuSampler.open` returns None and :func:`gpu_inventory` returns ``[]``:
a machine without GPUs is not an error. GPU indices are NVML's (physical
order), independent of ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

MB = 1024 * 1024


def load_nvml() -> ModuleType | None:
    """The ``pynvml`` module, or None when it is not installed."""
    try:
        return importlib.import_module("pynvml")
    except Exception:  # ImportError, or a broken install raising anything
        return None


def _str(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _cuda_version(nvml: ModuleType) -> str | None:
    try:
        raw = int(nvml.nvmlSystemGetCudaDriverVersion())
    except Exception:
        return None
    return f"{raw // 1000}.{raw % 1000 // 10}"


class GpuSampler:
    """Reads utilization, memory, temperature and power of every NVIDIA GPU.

    Use :meth:`open` to create one; call :meth:`close` when done.
    """

    def __init__(self, nvml: ModuleType, handles: list[Any]) -> None:
        self._nvml = nvml
        self._handles = handles
        # (device, metric) pairs that raised once (e.g. power on some boards) are not retried
        self._unsupported: set[tuple[int, str]] = set()
        self._closed = False

    @classmethod
    def open(cls, nvml: ModuleType | None = None) -> GpuSampler | None:
        """Start NVML and find the GPUs; None when NVML or GPUs are unavailable."""
        nvml = nvml if nvml is not None else load_nvml()
        if nvml is None:
            return None
        try:
            nvml.nvmlInit()
        except Exception:
            return None
        try:
            count = int(nvml.nvmlDeviceGetCount())
            handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        except Exception:
            handles = []
        if not handles:
            _shutdown(nvml)
            return None
        return cls(nvml, handles)

    @property
    def count(self) -> int:
        """Number of GPUs read."""
        return len(self._handles)

    def _read(self, index: int, name: str, read: Callable[[], Any]) -> Any:
        """``read()``, or None when it fails (then it is not tried again)."""
        if (index, name) in self._unsupported:
            return None
        try:
            return read()
        except Exception:
            self._unsupported.add((index, name))
            return None

    def _sample_device(self, index: int, handle: Any) -> dict[str, float]:
        nvml = self._nvml
        values: dict[str, float] = {}
        util = self._read(index, "utilization", lambda: nvml.nvmlDeviceGetUtilizationRates(handle))
        if util is not None:
            values["utilization"] = float(util.gpu)
        memory = self._read(index, "memory", lambda: nvml.nvmlDeviceGetMemoryInfo(handle))
        if memory is not None:
            values["memory_used_mb"] = memory.used / MB
            values["memory_total_mb"] = memory.total / MB
        temp = self._read(
            index,
            "temperature",
            lambda: nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU),
        )
        if temp is not None:
            values["temperature"] = float(temp)
        power = self._read(index, "power", lambda: nvml.nvmlDeviceGetPowerUsage(handle))
        if power is not None:
            values["power_w"] = power / 1000.0  # NVML reports milliwatts
        return values

    def sample(self) -> dict[str, float]:
        """One reading: ``{"gpu.{i}.utilization": ..., "gpu.{i}.power_w": ...}``.

        A metric a device does not support is left out (and not asked again).
        """
        if self._closed:
            return {}
        values: dict[str, float] = {}
        for index, handle in enumerate(self._handles):
            for name, value in self._sample_device(index, handle).items():
                values[f"gpu.{index}.{name}"] = value
        return values

    def close(self) -> None:
        """Shut NVML down (NVML counts inits, so other users are unaffected)."""
        if not self._closed:
            self._closed = True
            _shutdown(self._nvml)


def _shutdown(nvml: ModuleType) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:
        pass


def gpu_inventory(nvml: ModuleType | None = None) -> list[dict[str, Any]]:
    """Describe each NVIDIA GPU: index, name, uuid, memory_total_mb, driver, cuda.

    Returns ``[]`` when NVML is unavailable.
    """
    nvml = nvml if nvml is not None else load_nvml()
    if nvml is None:
        return []
    try:
        nvml.nvmlInit()
    except Exception:
        return []
    try:
        try:
            driver: str | None = _str(nvml.nvmlSystemGetDriverVersion())
        except Exception:
            driver = None
        cuda = _cuda_version(nvml)
        gpus = []
        for index in range(int(nvml.nvmlDeviceGetCount())):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            gpu: dict[str, Any] = {"index": index, "name": None, "uuid": None}
            for key, call in (("name", "nvmlDeviceGetName"), ("uuid", "nvmlDeviceGetUUID")):
                try:
                    gpu[key] = _str(getattr(nvml, call)(handle))
                except Exception:
                    pass
            try:
                gpu["memory_total_mb"] = nvml.nvmlDeviceGetMemoryInfo(handle).total / MB
            except Exception:
                gpu["memory_total_mb"] = None
            gpu.update(driver=driver, cuda=cuda)
            gpus.append(gpu)
        return gpus
    except Exception:
        return []
    finally:
        _shutdown(nvml)
