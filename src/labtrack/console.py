"""Console capture for ``labtrack run``: a child's stdout and stderr, in order, with a size cap.

The child's two pipes are read by two threads; every chunk is passed on to
the terminal at once (so progress output stays live) and, line by line, into
one :class:`ConsoleCapture`. Lines are kept in the order they were completed,
which is the order the child wrote them when it does not buffer its output
(``labtrack run`` sets ``PYTHONUNBUFFERED=1``).

What is stored (the run file ``console/output.log``):

- carriage-return progress lines (tqdm and the like) keep only their last state;
- values of secret-looking environment variables are replaced by ``***``;
- at most ``LABTRACK_CONSOLE_MAX_BYTES`` (default 10 MiB): beyond it the first
  and the last halves are kept and one line in between says how many bytes
  were left out.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Iterable
from typing import BinaryIO

MASK = b"***"
PENDING_LIMIT = 64 * 1024  # a "line" without newline longer than this is cut


class ConsoleCapture:
    """Lines of console output from several streams, merged, capped and scrubbed.

    Args:
        max_bytes: cap of the stored text; head and tail halves are kept beyond it.
        secrets: byte strings replaced by ``***`` wherever they appear.
        tail_lines: how many recent lines of each stream :meth:`tail` can return.
    """

    def __init__(self, max_bytes: int = 10 * 1024 * 1024, secrets: Iterable[bytes] = (),
                 tail_lines: int = 40) -> None:
        if max_bytes < 2:
            raise ValueError("max_bytes must be >= 2")
        self.max_bytes = int(max_bytes)
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._lock = threading.Lock()
        self._head = bytearray()
        self._tail: collections.deque[bytes] = collections.deque()
        self._tail_size = 0
        self.omitted = 0
        self.total = 0
        self.version = 0  # bumped on every stored line; lets savers skip unchanged content
        self._pending: dict[str, bytearray] = {}
        self._recent: dict[str, collections.deque[bytes]] = {}
        self._tail_lines = tail_lines

    # -- input -------------------------------------------------------------
    def feed(self, data: bytes, stream: str = "stdout") -> None:
        """Add a chunk read from ``stream``; complete lines are stored at once."""
        if not data:
            return
        with self._lock:
            pending = self._pending.setdefault(stream, bytearray())
            pending += data
            start = 0
            while True:
                end = pending.find(b"\n", start)
                if end < 0:
                    break
                self._store(bytes(pending[start:end + 1]), stream)
                start = end + 1
            del pending[:start]
            if len(pending) > PENDING_LIMIT:
                cut = pending.rfind(b"\r")  # a progress bar: only its latest state matters
                if cut > 0:
                    del pending[:cut + 1]
                if len(pending) > PENDING_LIMIT:
                    self._store(bytes(pending) + b"\n", stream)
                    pending.clear()

    def close(self) -> None:
        """Store the unfinished last line of each stream."""
        with self._lock:
            for stream, pending in self._pending.items():
                if pending:
                    self._store(bytes(pending) + b"\n", stream)
                    pending.clear()

    def _store(self, line: bytes, stream: str) -> None:
        line = _collapse_cr(line)
        for secret in self._secrets:
            if secret in line:
                line = line.replace(secret, MASK)
        recent = self._recent.setdefault(stream, collections.deque(maxlen=self._tail_lines))
        recent.append(line)
        self.total += len(line)
        self.version += 1
        half = self.max_bytes // 2
        if len(self._head) < half:
            room = half - len(self._head)
            self._head += line[:room]
            line = line[room:]
            if not line:
                return
        self._tail.append(line)
        self._tail_size += len(line)
        limit = self.max_bytes - half
        while self._tail_size > limit and self._tail:
            first = self._tail[0]
            excess = self._tail_size - limit
            if len(first) <= excess:
                self._tail.popleft()
                self._tail_size -= len(first)
                self.omitted += len(first)
            else:
                self._tail[0] = first[excess:]
                self._tail_size -= excess
                self.omitted += excess

    # -- output ------------------------------------------------------------
    def getvalue(self, last: int | None = None) -> bytes:
        """The stored text; with ``last``, only about its last ``last`` bytes (a live view)."""
        with self._lock:
            head, tail, omitted = bytes(self._head), b"".join(self._tail), self.omitted
        if last is not None and len(head) + len(tail) > last:
            body = (head + tail)[-last:]
            skipped = omitted + len(head) + len(tail) - len(body)
            return _note(skipped, "live view: only the latest output is shown") + body
        if not omitted:
            return head + tail
        return head + _note(omitted, f"output beyond {self.max_bytes} bytes "
                                     "(LABTRACK_CONSOLE_MAX_BYTES)") + tail

    def tail(self, stream: str = "stderr", lines: int = 20, max_bytes: int = 4000) -> str:
        """The last ``lines`` lines of one stream, as text (for a failed run's error)."""
        with self._lock:
            recent = list(self._recent.get(stream, ()))[-lines:]
            pending = bytes(self._pending.get(stream, b""))
        text = b"".join(recent) + pending
        return text[-max_bytes:].decode("utf-8", "replace").strip("\n")


def _collapse_cr(line: bytes) -> bytes:
    """``10%\\r50%\\r100%\\n`` -> ``100%\\n`` (what a terminal finally shows)."""
    if b"\r" not in line:
        return line
    end = b"\n" if line.endswith(b"\n") else b""
    body = line[:-1] if end else line
    body = body.rstrip(b"\r")
    cut = body.rfind(b"\r")
    return (body[cut + 1:] if cut >= 0 else body) + end


def _note(skipped: int, why: str) -> bytes:
    return f"\n[labtrack: {skipped} bytes left out here, {why}]\n".encode()


def pump(source: BinaryIO, stream: str, capture: ConsoleCapture | None,
         sink: BinaryIO | None, sink_lock: threading.Lock) -> None:
    """Copy a pipe to ``sink`` (the terminal) chunk by chunk and feed ``capture``.

    Runs until end of file; a failing terminal (closed stdout) does not stop
    the capture.
    """
    fd = source.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        if sink is not None:
            with sink_lock:
                try:
                    sink.write(chunk)
                    sink.flush()
                except (OSError, ValueError):
                    sink = None
        if capture is not None:
            capture.feed(chunk, stream)
    source.close()
