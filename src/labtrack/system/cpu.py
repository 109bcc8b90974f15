"""Host and process readings through psutil: CPU, memory, disk, network.

Rates (CPU percent, MB/s) come from the difference between two readings, so
a :class:`HostSampler` is primed when created and each :meth:`~HostSampler.sample`
reports the interval since the previous one. Units: MB = 2**20 bytes,
GB = 2**30 bytes, ``*_mbps`` = MB per second.
"""

from __future__ import annotations

import os
import time
from typing import Any

import psutil

MB = float(1 << 20)
GB = float(1 << 30)


def _busy_total(times: Any) -> tuple[float, float]:
    """(busy, total) CPU seconds of ``psutil.cpu_times()``, as psutil's cpu_percent counts."""
    total = sum(times)
    # guest time is already included in user time on Linux
    total -= getattr(times, "guest", 0.0) + getattr(times, "guest_nice", 0.0)
    idle = times.idle + getattr(times, "iowait", 0.0)
    return total - idle, total


class ProcessTree:
    """CPU and memory of one process and all its descendants.

    Descendants come and go between readings; each process's CPU time is
    tracked by (pid, create_time) so a new child counts from its start and an
    exited one simply stops counting.
    """

    # share of one core the descendant scan may use when the rescan interval adapts
    SCAN_BUDGET = 0.005
    MAX_RESCAN_S = 10.0

    def __init__(self, pid: int, rescan_s: float | None = None) -> None:
        """Measure ``pid`` and its descendants.

        Args:
            pid: the root process.
            rescan_s: seconds between scans of the process table for new
                descendants; None adapts it so the scan costs at most
                ``SCAN_BUDGET`` of a core (every reading on a quiet machine, up
                to ``MAX_RESCAN_S`` on one with thousands of processes).
        """
        self.pid = pid
        self.rescan_s = rescan_s
        self._root = psutil.Process(pid)
        self._procs: dict[int, psutil.Process] = {pid: self._root}
        self._cpu: dict[tuple[int, float], float] = {}
        self._primed = False
        self._next_scan = 0.0
        self._last = time.monotonic()
        self.read()  # prime the CPU counters
        self._primed = True

    def _members(self) -> list[psutil.Process]:
        now = time.monotonic()
        if now < self._next_scan:
            return list(self._procs.values())
        started = time.thread_time()
        try:
            children = self._root.children(recursive=True)
        except psutil.Error:
            children = []
        procs: dict[int, psutil.Process] = {self.pid: self._root}
        for child in children:
            # reuse cached Process objects: psutil caches create_time on them
            known = self._procs.get(child.pid)
            procs[child.pid] = known if known is not None and known == child else child
        self._procs = procs
        if self.rescan_s is not None:
            wait = self.rescan_s
        else:
            wait = min(self.MAX_RESCAN_S, (time.thread_time() - started) / self.SCAN_BUDGET)
        self._next_scan = now + wait
        return list(procs.values())

    def read(self) -> dict[str, float]:
        """``proc_cpu_percent`` (100 = one core) and ``proc_rss_mb`` since the last read.

        Raises:
            psutil.NoSuchProcess: the root process is gone.
        """
        now = time.monotonic()
        elapsed = now - self._last
        self._last = now
        if not self._root.is_running():
            raise psutil.NoSuchProcess(self.pid)
        cpu_delta = 0.0
        rss = 0
        seen: dict[tuple[int, float], float] = {}
        for proc in self._members():
            try:
                with proc.oneshot():
                    key = (proc.pid, proc.create_time())
                    times = proc.cpu_times()
                    rss += proc.memory_info().rss
            except psutil.Error:
                if proc is not self._root:
                    self._procs.pop(proc.pid, None)  # exited; forget it until the next scan
                continue
            used = times.user + times.system
            seen[key] = used
            # a process first seen after priming started since the last read: count all of it
            start = self._cpu.get(key, 0.0 if self._primed else used)
            cpu_delta += max(0.0, used - start)
        self._cpu = seen
        values = {"proc_rss_mb": rss / MB}
        if elapsed > 0:
            values["proc_cpu_percent"] = 100.0 * cpu_delta / elapsed
        return values


class HostSampler:
    """System-wide CPU, memory, disk and network readings, plus one process tree."""

    def __init__(
        self, pid: int | None = None, cwd: str | None = None, rescan_s: float | None = None
    ) -> None:
        """Prime the counters; ``pid`` (default: this process) roots the process tree."""
        self.cwd = cwd or os.getcwd()
        self._last = time.monotonic()
        self._cpu = _busy_total(psutil.cpu_times())
        self._disk = self._disk_counters()
        self._net = self._net_counters()
        try:
            self._tree: ProcessTree | None = ProcessTree(
                pid if pid is not None else os.getpid(), rescan_s=rescan_s
            )
        except psutil.Error:
            self._tree = None

    @staticmethod
    def _disk_counters() -> tuple[int, int] | None:
        try:
            io = psutil.disk_io_counters()
        except Exception:  # missing /proc/diskstats in some containers
            return None
        return None if io is None else (io.read_bytes, io.write_bytes)

    @staticmethod
    def _net_counters() -> tuple[int, int] | None:
        try:
            io = psutil.net_io_counters()
        except Exception:
            return None
        return None if io is None else (io.bytes_sent, io.bytes_recv)

    def sample(self) -> dict[str, float]:
        """One reading; keys without the ``system/`` prefix."""
        now = time.monotonic()
        elapsed = max(now - self._last, 1e-9)
        self._last = now
        values: dict[str, float] = {}

        busy, total = _busy_total(psutil.cpu_times())
        d_total = total - self._cpu[1]
        if d_total > 0:
            values["cpu_percent"] = min(100.0, max(0.0, 100.0 * (busy - self._cpu[0]) / d_total))
        self._cpu = (busy, total)

        mem = psutil.virtual_memory()
        values["memory_used_mb"] = mem.used / MB
        values["memory_available_mb"] = mem.available / MB
        values["memory_percent"] = float(mem.percent)

        if self._tree is not None:
            try:
                values.update(self._tree.read())
            except psutil.Error:
                self._tree = None  # the process is gone; stop reading it

        values.update(self._rates("disk_read_mbps", "disk_write_mbps", "_disk", elapsed))
        values.update(self._rates("net_sent_mbps", "net_recv_mbps", "_net", elapsed))
        try:
            values["disk_free_gb"] = psutil.disk_usage(self.cwd).free / GB
        except OSError:
            pass
        return values

    def _rates(self, key_a: str, key_b: str, attr: str, elapsed: float) -> dict[str, float]:
        previous = getattr(self, attr)
        current = self._disk_counters() if attr == "_disk" else self._net_counters()
        setattr(self, attr, current)
        if previous is None or current is None:
            return {}
        # counters can wrap or reset (interface removed): never report a negative rate
        return {
            key_a: max(0, current[0] - previous[0]) / MB / elapsed,
            key_b: max(0, current[1] - previous[1]) / MB / elapsed,
        }
