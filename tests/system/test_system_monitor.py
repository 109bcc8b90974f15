"""SystemMonitor and the psutil readers, on this machine for real."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from labtrack.system import SystemMonitor
from labtrack.system.cpu import HostSampler, ProcessTree

HOST_KEYS = {
    "cpu_percent", "proc_cpu_percent", "memory_used_mb", "memory_available_mb",
    "memory_percent", "proc_rss_mb", "disk_free_gb", "net_sent_mbps", "net_recv_mbps",
}  # fmt: skip


class Recorder:
    def __init__(self) -> None:
        self.samples: list[tuple[dict[str, float], float]] = []
        self.lock = threading.Lock()

    def __call__(self, values: dict[str, float], timestamp: float) -> None:
        with self.lock:
            self.samples.append((values, timestamp))


def test_monitor_emits_samples_with_sane_values(tmp_path: Path) -> None:
    rec = Recorder()
    before = time.time()
    monitor = SystemMonitor(rec, interval=0.2, cwd=str(tmp_path)).start()
    time.sleep(1.1)
    assert monitor.stop(timeout=2.0)
    assert not monitor.running
    assert 3 <= len(rec.samples) <= 6
    assert monitor.samples == len(rec.samples) and monitor.errors == 0

    times = [ts for _, ts in rec.samples]
    assert before < times[0] and times == sorted(times)
    gaps = [b - a for a, b in zip(times[:-1], times[1:], strict=True)]
    assert all(0.1 < gap < 0.6 for gap in gaps)

    total_mb = psutil.virtual_memory().total / 2**20
    free_gb = psutil.disk_usage(str(tmp_path)).free / 2**30
    my_rss = psutil.Process().memory_info().rss / 2**20
    for values, _ in rec.samples:
        keys = {k.removeprefix("system/") for k in values}
        assert all(k.startswith("system/") for k in values)
        assert HOST_KEYS <= keys
        assert all(isinstance(v, float) and math.isfinite(v) for v in values.values())
        assert 0.0 <= values["system/cpu_percent"] <= 100.0
        assert 0.0 <= values["system/memory_percent"] <= 100.0
        assert 0 < values["system/memory_used_mb"] < total_mb
        assert 0 < values["system/memory_available_mb"] <= total_mb
        assert values["system/proc_rss_mb"] >= 0.5 * my_rss
        assert values["system/proc_cpu_percent"] >= 0.0
        assert values["system/disk_free_gb"] == pytest.approx(free_gb, rel=0.1, abs=0.5)
        rates = [v for k, v in values.items() if k.endswith("_mbps")]
        assert rates and all(r >= 0.0 for r in rates)
    assert monitor.cpu_seconds > 0


def test_disk_write_rate_sees_a_real_write(tmp_path: Path) -> None:
    sampler = HostSampler(cwd=str(tmp_path))
    if sampler.sample().get("disk_write_mbps") is None:
        pytest.skip("no disk counters in this environment")
    block = os.urandom(1 << 20)
    with open(tmp_path / "blob", "wb") as f:
        for _ in range(16):
            f.write(block)
        f.flush()
        os.fsync(f.fileno())
    time.sleep(0.05)
    values = sampler.sample()
    if values["disk_write_mbps"] == 0.0:
        pytest.skip("the file system here does not show up in the disk counters (tmpfs?)")
    assert values["disk_write_mbps"] > 0.0


def test_process_tree_counts_a_busy_child() -> None:
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        tree = ProcessTree(os.getpid(), rescan_s=0.0)
        time.sleep(0.1)  # the child is now running; it joins at the next scan
        tree.read()
        time.sleep(0.8)
        values = tree.read()
        child_alone = ProcessTree(child.pid)
        time.sleep(0.3)
        child_values = child_alone.read()
    finally:
        child.kill()
        child.wait()
    # a process spinning on one of the cores: well above idle even on a loaded machine
    assert values["proc_cpu_percent"] > 25.0
    assert child_values["proc_cpu_percent"] > 25.0
    own_rss = psutil.Process().memory_info().rss / 2**20
    assert values["proc_rss_mb"] > own_rss


def test_monitor_of_another_pid_that_exits() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.4)"])
    rec = Recorder()
    monitor = SystemMonitor(rec, interval=0.2, pid=child.pid, gpu=False).start()
    child.wait()
    time.sleep(0.7)
    monitor.stop()
    assert monitor.errors == 0
    assert any("system/proc_rss_mb" in v for v, _ in rec.samples[:1])
    # once the process is gone, host metrics continue without the process ones
    assert "system/proc_rss_mb" not in rec.samples[-1][0]
    assert "system/cpu_percent" in rec.samples[-1][0]


def test_emit_errors_do_not_kill_the_thread(caplog: pytest.LogCaptureFixture) -> None:
    calls = []

    def emit(values: dict[str, float], ts: float) -> None:
        calls.append(ts)
        raise ValueError("store is down")

    with caplog.at_level(logging.WARNING, logger="labtrack.system"):
        monitor = SystemMonitor(emit, interval=0.1, gpu=False).start()
        time.sleep(0.65)
        assert monitor.running
        monitor.stop()
    assert len(calls) >= 3
    assert monitor.errors == len(calls) and monitor.samples == 0
    warnings = [r for r in caplog.records if "store is down" in r.getMessage()]
    assert len(warnings) == 1


def test_stop_is_prompt_and_idempotent() -> None:
    monitor = SystemMonitor(Recorder(), interval=60.0, gpu=False)
    assert monitor.stop() is True  # never started
    monitor.start()
    monitor.start()  # already running: no second thread
    names = [t.name for t in threading.enumerate()].count("labtrack-system-monitor")
    assert names == 1
    started = time.perf_counter()
    assert monitor.stop(timeout=2.0) is True
    assert time.perf_counter() - started < 1.0


def test_context_manager_and_bad_interval() -> None:
    rec = Recorder()
    with SystemMonitor(rec, interval=0.1, gpu=False) as monitor:
        time.sleep(0.35)
    assert not monitor.running and len(rec.samples) >= 2
    with pytest.raises(ValueError):
        SystemMonitor(rec, interval=0)
