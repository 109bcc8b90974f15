"""What a run ran with: command line, Python packages, machine, environment variables.

Every function returns JSON-safe data and masks secrets (see :mod:`.secrets`).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._hostinfo import hostname, user
from .secrets import is_secret_name, mask, mask_argv, strip_url_credentials

# Variables recorded by name ...
ENV_NAMES = frozenset(
    {
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "CUDA_LAUNCH_BLOCKING",
        "CUBLAS_WORKSPACE_CONFIG",
        "NVIDIA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "PYTHONHASHSEED",
        "PYTHONOPTIMIZE",
        "TOKENIZERS_PARALLELISM",
        "MASTER_ADDR",
        "MASTER_PORT",
        "WORLD_SIZE",
        "RANK",
        "LOCAL_RANK",
        "NODE_RANK",
        "LOCAL_WORLD_SIZE",
        "VIRTUAL_ENV",
        "CONDA_DEFAULT_ENV",
    }
)
# ... and by prefix.
ENV_PREFIXES = (
    "LABTRACK_",
    "WANDB_",
    "TF_",
    "TORCH_",
    "PYTORCH_",
    "HF_",
    "TRANSFORMERS_",
    "JAX_",
    "XLA_",
    "NCCL_",
    "CUDNN_",
    "SLURM_",
)


def _program() -> str | None:
    """Absolute path of the entry script, or None (``python -c``, interactive)."""
    main = sys.modules.get("__main__")
    candidates: list[str | None] = [getattr(main, "__file__", None)]
    if sys.argv and sys.argv[0] not in ("", "-c", "-m"):
        candidates.append(sys.argv[0])
    for candidate in candidates:
        if candidate and os.path.isfile(candidate):
            return os.path.abspath(str(candidate))
    return None


_IMPLEMENTATIONS = {"cpython": "CPython", "pypy": "PyPy", "ironpython": "IronPython",
                    "jython": "Jython"}  # platform.python_implementation()'s names


def capture_command() -> dict[str, Any]:
    """The command that started this process (secret option values masked).

    Keys: ``argv``, ``orig_argv`` (with interpreter flags such as ``-m``),
    ``program`` (absolute entry script or None), ``cwd``, ``executable``,
    ``python`` (version), ``implementation``, ``pid``, ``virtualenv``.
    """
    try:
        cwd: str | None = os.getcwd()
    except OSError:  # the working directory was removed
        cwd = None
    return {
        "argv": mask_argv(sys.argv),
        "orig_argv": mask_argv(getattr(sys, "orig_argv", sys.argv)),
        "program": _program(),
        "cwd": cwd,
        "executable": sys.executable,
        "python": sys.version.split()[0],  # as platform.python_version(), without platform
        "implementation": _IMPLEMENTATIONS.get(sys.implementation.name,
                                               sys.implementation.name),
        "pid": os.getpid(),
        "virtualenv": sys.prefix if sys.prefix != sys.base_prefix else None,
    }


_packages_cache: tuple[Any, dict[str, str]] | None = None
_machine_cache: tuple[Any, dict[str, Any]] | None = None


NO_DISTS = "-"  # in a saved state: a sys.path entry that held no distribution


def _sys_path_state(holders: set[str] | frozenset[str]) -> list[list[Any]]:
    """``[entry, mtime]`` for each ``sys.path`` entry that holds distributions
    (``holders``: installing, upgrading or removing a package there changes its mtime),
    ``[entry, NO_DISTS]`` for the others (a script's folder, the working directory: their
    mtime moves with every file a run writes, which says nothing about packages)."""
    state: list[list[Any]] = []
    for entry in sys.path:
        if entry not in holders:
            state.append([entry, NO_DISTS])
            continue
        try:
            state.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            state.append([entry, None])
    return state


def _load_cached(cache_dir: str | Path | None, name: str, key: Any) -> Any:
    """The value saved by :func:`_save_cached` under ``name`` if its key is ``key``."""
    if cache_dir is None:
        return None
    import json

    try:
        with open(os.path.join(cache_dir, name), encoding="utf-8") as fh:
            saved = json.load(fh)
    except (OSError, ValueError):  # none yet, unreadable or damaged: scan again
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return saved.get("value")


def _save_cached(cache_dir: str | Path | None, name: str, key: Any, value: Any) -> None:
    """Keep ``value`` for later processes (written whole, then renamed; errors ignored)."""
    if cache_dir is None:
        return
    import json

    target = os.path.join(cache_dir, name)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        os.makedirs(cache_dir, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump({"key": key, "value": value}, fh)
        os.replace(tmp, target)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def capture_packages(cache_dir: str | Path | None = None) -> dict[str, str]:
    """``{distribution name: version}`` of every installed distribution, sorted by name.

    When a name is installed twice, the one found first on ``sys.path`` (the
    one Python imports) wins. The scan (0.05-0.1 s) is kept until the modification
    time of a ``sys.path`` folder that holds distributions changes (installing,
    upgrading or removing a package changes it), or such a folder leaves ``sys.path``
    or changes place in it, or a folder new on ``sys.path`` holds one: for the
    process, and in ``cache_dir/packages.json`` for later processes of the same
    interpreter when ``cache_dir`` is given, so a short run does not pay for the scan.
    Scripts started from different folders (each puts its own first on ``sys.path``)
    share the saved scan: a new folder is only looked over for ``*.dist-info`` and
    ``*.egg-info``. A folder that held no distribution at the scan is not watched: a
    distribution put there later (``pip install --target``) is seen at the next change
    elsewhere.
    """
    return dict(current_packages(cache_dir))


def current_packages(cache_dir: str | Path | None = None) -> dict[str, str]:
    """:func:`capture_packages` without the copy: the same dict object while the
    packages are unchanged (callers must not change it; an identity check then says
    "unchanged" without comparing ~150 entries)."""
    global _packages_cache
    if _packages_cache is not None:
        state, packages = _packages_cache
        if _still(state):
            return packages
    key = [sys.executable]
    saved = _load_cached(cache_dir, "packages.json", key)
    if isinstance(saved, dict) and isinstance(saved.get("state"), list) and \
            _still(saved["state"]) and _is_package_map(saved.get("packages")):
        state, packages = saved["state"], saved["packages"]
    else:
        packages, holders = _scan_packages()
        state = _sys_path_state(holders)
        _save_cached(cache_dir, "packages.json", key, {"state": state, "packages": packages})
    _packages_cache = (state, packages)
    return packages


def _still(state: list[list[Any]]) -> bool:
    """Whether a saved :func:`_sys_path_state` still gives ``sys.path``'s distributions:
    the folders that held some are on ``sys.path`` in the same order with the same
    mtimes, and any folder on ``sys.path`` the state does not name holds none."""
    try:
        holders = [entry for entry, mtime in state if mtime != NO_DISTS]
        known = {entry for entry, _ in state}
    except (TypeError, ValueError):
        return False
    held = set(holders)
    if [entry for entry in sys.path if entry in held] != holders:
        return False
    current = {entry: mtime for entry, mtime in _sys_path_state(held)}
    if any(current[entry] != mtime for entry, mtime in state if entry in held):
        return False
    return not any(_holds_distributions_now(e) for e in sys.path if e not in known)


# sys.path folders seen without distributions: folder -> its mtime then. A script run
# from another folder than the scan's puts that folder on sys.path; listing it again
# for every run of the process cost ~0.2 ms a run (a stat is ~100x cheaper, and adding a
# *.dist-info to a folder changes its mtime)
_without_distributions: dict[str, int] = {}


def _holds_distributions_now(entry: str) -> bool:
    """:func:`_holds_distributions`, skipping a folder unchanged since it held none."""
    try:
        folder = entry or os.getcwd()
        mtime = os.stat(folder).st_mtime_ns
    except OSError:
        return False
    if _without_distributions.get(folder) == mtime:
        return False
    holds = _holds_distributions(entry)
    if not holds and len(_without_distributions) < 256:
        _without_distributions[folder] = mtime
    return holds


def _holds_distributions(entry: str) -> bool:
    """Whether a ``sys.path`` folder has a ``*.dist-info`` or ``*.egg-info`` in it (what
    ``importlib.metadata`` finds distributions by)."""
    try:
        with os.scandir(entry or ".") as it:
            return any(e.name.endswith((".dist-info", ".egg-info")) for e in it)
    except OSError:  # missing, a zip file, unreadable
        return False


def _is_package_map(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


_FIELD = re.compile(r"^(Name|Version):[ \t]*(.*?)[ \t]*$", re.M)


def _scan_packages() -> tuple[dict[str, str], set[str]]:
    """Every distribution on ``sys.path`` (first one of a name wins), and the entries
    that hold at least one."""
    from importlib import metadata

    packages: dict[str, str] = {}
    holders: set[str] = set()
    for entry in list(sys.path):
        for dist in metadata.distributions(path=[entry]):
            holders.add(entry)
            try:
                # only the header block: the email parser over the whole file is 15x slower
                text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
            except Exception:  # a broken dist-info folder
                continue
            fields = dict(_FIELD.findall(text.split("\n\n", 1)[0]))
            name, version = fields.get("Name"), fields.get("Version")
            if name and version and name not in packages:
                packages[name] = version
    return dict(sorted(packages.items(), key=lambda item: item[0].lower())), holders


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                # x86: "model name"; some ARM kernels: "Hardware" / "Processor"
                if key.strip() in ("model name", "Hardware", "Processor", "cpu model"):
                    return value.strip() or None
    except OSError:
        pass
    if sys.platform == "darwin":
        import subprocess

        try:
            out = subprocess.run(
                ["sysctl", "-n", "machdep.cpu.brand_string"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    import platform

    return platform.processor() or None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def capture_machine(cache_dir: str | Path | None = None) -> dict[str, Any]:
    """The machine: OS, kernel, hostname, user, CPU, memory and NVIDIA GPUs.

    ``gpus`` is a list of ``{index, name, uuid, memory_total_mb, driver, cuda}``
    (empty without NVML); ``memory_total_mb`` is in units of 2**20 bytes.

    None of this changes while the machine is up, so where the kernel names its
    boot (Linux) the answer is kept for the process and, with ``cache_dir``, in
    ``cache_dir/machine.json`` until the next boot (keyed by boot id, hostname,
    user and the CPUs this process may use).
    """
    global _machine_cache
    boot = _boot_id()
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        affinity = None
    key = [boot, hostname(), user(), os.cpu_count(), affinity] if boot else None
    if key is not None:
        if _machine_cache is not None and _machine_cache[0] == key:
            return dict(_machine_cache[1])
        cached = _load_cached(cache_dir, "machine.json", key)
        if isinstance(cached, dict):
            _machine_cache = (key, cached)
            return dict(cached)
    machine = _scan_machine(affinity)
    if key is not None:
        _machine_cache = (key, machine)
        _save_cached(cache_dir, "machine.json", key, machine)
    return dict(machine)


def _scan_machine(affinity: int | None) -> dict[str, Any]:
    import platform

    import psutil

    from ..system.gpu import MB, gpu_inventory

    try:
        physical = psutil.cpu_count(logical=False)
    except Exception:
        physical = None
    return {
        "os": platform.system(),
        "platform": platform.platform(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "hostname": hostname(),
        "user": user(),
        "cpu_model": _cpu_model(),
        "cpu_count_logical": os.cpu_count(),
        "cpu_count_physical": physical,
        "cpu_count_available": affinity,
        "memory_total_mb": psutil.virtual_memory().total / MB,
        "gpus": gpu_inventory(),
    }


def is_captured_env_name(name: str) -> bool:
    """Whether an environment variable is on the allow-list of recorded variables."""
    return name in ENV_NAMES or name.startswith(ENV_PREFIXES)


def capture_env_vars(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Allow-listed environment variables, secret-looking ones masked as ``***``.

    Only variables in :data:`ENV_NAMES` or starting with one of
    :data:`ENV_PREFIXES` are recorded; ``HF_TOKEN``, ``LABTRACK_API_KEY`` and
    the like keep their name with the value masked, and credentials inside
    URLs are stripped.
    """
    environ = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for name in sorted(environ):
        if not is_captured_env_name(name):
            continue
        value = environ[name]
        out[name] = mask(value) if is_secret_name(name) else strip_url_credentials(value)
    return out


def relative_program(program: str | None, root: str | None) -> str | None:
    """``program`` relative to the git root (``train/main.py``), or None when outside."""
    if not program or not root:
        return None
    try:
        rel = Path(program).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None
    return rel.as_posix()
