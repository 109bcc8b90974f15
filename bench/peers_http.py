"""Start a tool's UI server, time HTTP requests to it, stop it (workload E)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """A UI server in its own process group, killed (the group) on exit."""

    def __init__(self, argv: Sequence[str], port: int, cwd: Path,
                 env: dict[str, str] | None = None) -> None:
        self.port = port
        self.log_path = cwd / "server.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(list(argv), cwd=cwd, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(env or {})})

    def wait_ready(self, path: str, timeout: float = 120.0) -> float:
        """Poll ``GET path`` until it answers below 500; returns seconds since start."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): "
                                   f"{self.log_path.read_text(errors='replace')[-1500:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", path)
                status = conn.getresponse().status
                conn.close()
                if status < 500:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"server not ready after {timeout:.0f} s: "
                           f"{self.log_path.read_text(errors='replace')[-1500:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(10)
        self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def request(port: int, method: str, path: str, body: Any = None,
            decode: bool = True) -> tuple[float, int, Any]:
    """One request on a new connection: (seconds until the body is read and parsed,
    body bytes, parsed JSON or None). Raises on a status >= 400."""
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request(method, path, body=payload, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    parsed = json.loads(data) if decode and data else None
    elapsed = time.perf_counter() - t0
    conn.close()
    if resp.status >= 400:
        raise RuntimeError(f"{method} {path[:120]} -> {resp.status}: {data[:500]!r}")
    return elapsed, len(data), parsed


def cold_warm(fetch: Callable[[], tuple[float, int, Any]], warm_tries: int = 3
              ) -> tuple[float, float, int, Any]:
    """First call (cold), then the median of ``warm_tries`` more (one more when the cold
    one took over a second, to bound the run time): (cold, warm, bytes, data)."""
    cold, size, data = fetch()
    tries = warm_tries if cold < 1.0 else 1
    warm = statistics.median(fetch()[0] for _ in range(tries))
    return cold, warm, size, data
