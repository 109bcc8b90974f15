"""CPU overhead of the system metrics thread (target: <= 1% of one core at 2 s).

Runs a :class:`labtrack.system.SystemMonitor` for ``--seconds`` (default 20)
at ``--interval`` (default 2.0) while the main thread sleeps, and reports the
CPU time the monitor thread used, measured twice: by the thread itself
(``time.thread_time``) and from outside (psutil's per-thread times).

    python bench/system_overhead.py [--seconds 20] [--interval 2.0] [--busy]

``--busy`` keeps the main thread spinning in Python, as a training loop would,
to show the monitor's cost under GIL contention.
"""

from __future__ import annotations

import argparse
import json
import time

import psutil

from labtrack.system import SystemMonitor


def _thread_cpu(native_id: int | None) -> float | None:
    for thread in psutil.Process().threads():
        if thread.id == native_id:
            return float(thread.user_time + thread.system_time)
    return None


def main() -> None:
    """Run the monitor and print its overhead as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=2.0)
    parser.add_argument("--busy", action="store_true", help="spin the main thread")
    args = parser.parse_args()

    samples: list[dict[str, float]] = []
    monitor = SystemMonitor(lambda values, ts: samples.append(values), interval=args.interval)
    wall0 = time.perf_counter()
    monitor.start()
    time.sleep(0.05)
    native_id = monitor.native_id
    deadline = wall0 + args.seconds
    if args.busy:
        x = 0
        while time.perf_counter() < deadline:
            x += 1
    else:
        time.sleep(max(0.0, deadline - time.perf_counter()))
    outside = _thread_cpu(native_id)  # read while the thread is still alive
    monitor.stop()
    wall = time.perf_counter() - wall0
    result = {
        "interval_s": args.interval,
        "wall_s": round(wall, 2),
        "samples": monitor.samples,
        "keys": len(samples[-1]) if samples else 0,
        "thread_cpu_s": round(monitor.cpu_seconds, 4),
        "thread_cpu_s_psutil": None if outside is None else round(outside, 4),
        "percent_of_one_core": round(100.0 * monitor.cpu_seconds / wall, 3),
        "setup_cpu_s": round(monitor.setup_cpu_seconds, 4),
        "cpu_ms_per_sample": round(
            1000.0 * (monitor.cpu_seconds - monitor.setup_cpu_seconds) / max(1, monitor.samples),
            3,
        ),
        "main_thread_busy": args.busy,
        "target_percent": 1.0,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
