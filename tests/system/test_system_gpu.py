"""GPU readings: absent NVML gives nothing and no error; values are mapped and scaled."""

from __future__ import annotations

import re
import sys
import time
import types
from typing import Any

import pytest

from labtrack.system import SystemMonitor
from labtrack.system.gpu import GpuSampler, gpu_inventory


def test_without_pynvml_there_are_no_gpu_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    assert GpuSampler.open() is None
    assert gpu_inventory() == []
    samples: list[dict[str, float]] = []
    monitor = SystemMonitor(lambda v, ts: samples.append(v), interval=0.1).start()
    time.sleep(0.35)
    monitor.stop()
    assert samples and monitor.errors == 0
    assert not any("gpu" in key for values in samples for key in values)


def test_gpu_disabled_gives_no_gpu_keys() -> None:
    samples: list[dict[str, float]] = []
    with SystemMonitor(lambda v, ts: samples.append(v), interval=0.1, gpu=False):
        time.sleep(0.25)
    assert samples and not any("gpu" in key for values in samples for key in values)


def test_real_nvml_if_installed() -> None:
    """With nvidia-ml-py installed: None without a GPU/driver, else well-formed readings."""
    pytest.importorskip("pynvml")
    sampler = GpuSampler.open()
    inventory = gpu_inventory()
    if sampler is None:
        assert inventory == []
        return
    try:
        values = sampler.sample()
    finally:
        sampler.close()
    assert len(inventory) == sampler.count >= 1
    assert all(re.fullmatch(r"gpu\.\d+\.[a-z_]+", key) for key in values)
    assert 0 <= values["gpu.0.utilization"] <= 100
    assert 0 < values["gpu.0.memory_used_mb"] <= values["gpu.0.memory_total_mb"]


class NVMLError(Exception):
    pass


def fake_nvml(power_supported: bool = True, init_fails: bool = False) -> Any:
    """A stand-in for pynvml with two GPUs (for machines without one)."""
    calls: dict[str, int] = {"power": 0, "shutdown": 0}

    def init() -> None:
        if init_fails:
            raise NVMLError("Driver Not Loaded")

    def power(handle: int) -> int:
        calls["power"] += 1
        if not power_supported:
            raise NVMLError("Not Supported")
        return 250_500 + handle  # milliwatts

    def shutdown() -> None:
        calls["shutdown"] += 1

    mem = types.SimpleNamespace
    return types.SimpleNamespace(
        calls=calls,
        NVML_TEMPERATURE_GPU=0,
        nvmlInit=init,
        nvmlShutdown=shutdown,
        nvmlDeviceGetCount=lambda: 2,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetUtilizationRates=lambda h: mem(gpu=40 + h, memory=5),
        nvmlDeviceGetMemoryInfo=lambda h: mem(used=(h + 1) * 2**30, total=80 * 2**30),
        nvmlDeviceGetTemperature=lambda h, sensor: 60 + h,
        nvmlDeviceGetPowerUsage=power,
        nvmlDeviceGetName=lambda h: b"NVIDIA H100 80GB HBM3",
        nvmlDeviceGetUUID=lambda h: f"GPU-{h}",
        nvmlSystemGetDriverVersion=lambda: "550.54.15",
        nvmlSystemGetCudaDriverVersion=lambda: 12040,
    )


def test_sampler_maps_and_scales_readings() -> None:
    nvml = fake_nvml()
    sampler = GpuSampler.open(nvml)
    assert sampler is not None and sampler.count == 2
    values = sampler.sample()
    assert values["gpu.1.utilization"] == 41.0
    assert values["gpu.1.memory_used_mb"] == 2048.0
    assert values["gpu.0.memory_total_mb"] == 80 * 1024.0
    assert values["gpu.1.temperature"] == 61.0
    assert values["gpu.0.power_w"] == pytest.approx(250.5)
    assert len(values) == 10
    sampler.close()
    sampler.close()
    assert nvml.calls["shutdown"] == 1
    assert sampler.sample() == {}


def test_unsupported_metric_is_left_out_and_not_retried() -> None:
    nvml = fake_nvml(power_supported=False)
    sampler = GpuSampler.open(nvml)
    assert sampler is not None
    first, second = sampler.sample(), sampler.sample()
    assert not any(key.endswith("power_w") for key in first)
    assert first.keys() == second.keys() and "gpu.0.temperature" in first
    assert nvml.calls["power"] == 2  # once per device, then never again


def test_init_failure_means_no_gpu() -> None:
    nvml = fake_nvml(init_fails=True)
    assert GpuSampler.open(nvml) is None
    assert gpu_inventory(nvml) == []


def test_inventory() -> None:
    nvml = fake_nvml()
    gpus = gpu_inventory(nvml)
    assert [g["index"] for g in gpus] == [0, 1]
    assert gpus[0]["name"] == "NVIDIA H100 80GB HBM3"
    assert gpus[0]["memory_total_mb"] == 80 * 1024.0
    assert gpus[0]["driver"] == "550.54.15" and gpus[0]["cuda"] == "12.4"
    assert nvml.calls["shutdown"] == 1
