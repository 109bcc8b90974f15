"""The background writer: batches logged rows into columnar chunks, the run log and the index.

``Run.log`` only appends ``(step, time, row)`` to :attr:`Writer.rows`. The
process's flusher thread (:mod:`labtrack.flusher`) flushes the writer at least
every ``flush_interval`` seconds: it turns the rows into one chunk per series,
appends one framed record to the run log (the truth) and then applies it to the
sink (the local index or the team server). ``log()`` flushes on its own thread
when the buffer is full, and ``finish()`` does the last flush on its own thread.

This is the one place that tolerates failures, and it reports them:

* the sink fails (database locked, read-only, server down): the run goes on,
  records stay queued in memory up to a bound and are retried; past the bound
  they are dropped from memory only (they are in the run log) and the writer
  re-reads them from the log once the sink is back; ``labtrack sync`` does the
  same after the process is gone.
* the run log cannot be written (disk full): the batch is kept and retried;
  past ``max_buffer * 10`` unwritten points the oldest are dropped and counted,
  and ``finish()`` says how many.
"""

from __future__ import annotations

import collections
import operator
import sys
import threading
import time
from array import array
from collections.abc import Callable
from itertools import chain, islice
from typing import Any, Protocol

from ._summary import Stats
from .flusher import flusher
from .runlog import Record, RunLogWriter, read_records

MAX_PENDING_BYTES = 64 << 20
# above this many points in one batch, numpy's import (~70 ms) costs less than plain
# Python's slower encoding (~0.2 us more per point), so the writer imports it
PLAIN_MAX_POINTS = 250_000
HEARTBEAT_EVERY = 10.0
_warm_sinks: set[str] = set()  # sink keys a writer of this process has opened


class Sink(Protocol):
    """Where flushed records go after the run log."""

    def apply(self, run_id: str, records: list[Record], stream: str = "main") -> int: ...
    def last_seq(self, run_id: str, stream: str = "main") -> int: ...
    def heartbeat(self, run_id: str, when: float) -> None: ...
    def close(self) -> None: ...


def _warn(message: str) -> None:
    print(f"labtrack: {message}", file=sys.stderr, flush=True)


def _safe_float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def _kind(value: Any) -> str:
    t = type(value)
    if t is bool:
        return "bool"
    if t is int:
        return "int"
    return "float"


class Writer:
    """Owns the row buffer, the series stats and the flushing of one run (see flusher.py)."""

    def __init__(
        self,
        run_id: str,
        log: RunLogWriter,
        make_sink: Callable[[], Sink] | None,
        header_parts: Callable[[], dict[str, Any]],
        summary: Callable[[], dict[str, Any]],
        current_step: Callable[[], int],
        flush_interval: float = 1.0,
        max_buffer: int = 200_000,
        stream: str = "main",
        sink_key: str = "",
    ) -> None:
        self.run_id = run_id
        self.sink_key = sink_key  # what make_sink opens (a store directory, a server URL)
        self.stream = stream
        self.log = log
        self.rows: collections.deque[tuple[int, float, dict[str, Any]]] = collections.deque()
        self.stats: dict[str, Stats] = {}
        self.max_buffer = max_buffer
        self.flush_interval = flush_interval
        self._make_sink = make_sink
        self._sink: Sink | None = None
        self._sink_failed_at = 0.0
        self._header_parts = header_parts
        self._summary = summary
        self._current_step = current_step
        self._cols: dict[str, list[tuple[Any, Any, Any, Any]]] = {}
        # re-entrant: finish() from a signal handler may interrupt this thread inside them
        self._ingest_lock = threading.RLock()
        self._flush_lock = threading.RLock()  # flush() inside flush_safely() and stop()
        self._flushing: int | None = None  # the thread inside flush(), if any
        self._sink_lock = threading.Lock()
        self._stopping = False
        self._closed = False  # the last flush is done: nothing is written any more
        self._deadline: float | None = None  # the last flush's limit for the sink (monotonic)
        self.summary_dirty = False
        self._pending: list[Record] = []
        self._pending_bytes = 0
        self._needs_resync = False
        self._unwritten: list[tuple[dict[str, Any], list[bytes], int]] = []
        self.dropped_points = 0
        self.sink_error: str | None = None
        self.log_error: str | None = None
        self._last_heartbeat = 0.0
        self._warned: set[str] = set()
        self.on_applied: Callable[[int], None] | None = None

    # -- flushing ----------------------------------------------------------------
    def start(self) -> None:
        """Have the process's flusher thread flush this writer periodically, after warming
        it up when it is the first of this process to use its sink."""
        cold = self._make_sink is not None and self.sink_key not in _warm_sinks
        flusher().register(self, warm=cold or "labtrack.store.chunks" not in sys.modules)

    def wake(self) -> None:
        """Ask for a flush soon (new metadata, files or events to record)."""
        flusher().wake(self)

    def wait_for_room(self) -> None:
        """Back-pressure: the buffer is full, so ``log()`` flushes it on its own thread."""
        self.flush_safely()

    def warm_up(self) -> None:
        """Import the codec and open the sink now, on the flusher thread, not at the
        first flush, so that ``finish()`` of a short run does not pay for them. numpy is
        not imported here: while the process has not imported it, rows are encoded
        without it."""
        try:
            from .store import chunks  # noqa: F401

            if self._get_sink() is not None:
                _warm_sinks.add(self.sink_key)
        except Exception as err:  # noqa: BLE001 - the flusher must survive anything
            self._warn_once("flush", f"writer error: {type(err).__name__}: {err}")

    def flush_safely(self, final: bool = False) -> None:
        """:meth:`flush`, with any error reported once instead of raised."""
        with self._flush_lock:
            if self._closed:
                return
            final = final or self._stopping  # stop() could not wait for this flush
            try:
                self.flush(final=final)
            except Exception as err:  # noqa: BLE001 - the writer must survive anything
                self._warn_once("flush", f"writer error: {type(err).__name__}: {err}")
            finally:
                if final:
                    self._close()

    def stop(self, timeout: float) -> bool:
        """The last flush, on the calling thread. Returns False if the index was not
        updated within ``timeout`` seconds (the run log has it: ``labtrack sync``).

        Waiting for the sink is bounded by the deadline where the sink allows it
        (the local index: its busy timeout for this transaction).
        """
        self._stopping = True
        deadline = time.monotonic() + timeout
        if self._flushing == threading.get_ident():
            # a signal handler (SIGTERM) interrupted this thread inside a flush, which
            # cannot be entered again: the flusher makes the last flush after it
            flusher().wake(self)
            return False
        if not self._flush_lock.acquire(timeout=max(0.0, timeout)):
            # the flusher is inside a flush of this run that outlasts the deadline (a
            # locked index): it does the last flush when that one returns
            flusher().wake(self)
            return False
        try:
            self._deadline = deadline
            self.flush_safely(final=True)  # nothing if the flusher made the last flush
        finally:
            self._flush_lock.release()
        return not self._pending and not self._needs_resync

    def _close(self) -> None:
        """After the last flush: no more flushes, the run log and the sink closed."""
        self._closed = True
        flusher().forget(self)
        self.log.close()
        with self._sink_lock:
            sink, self._sink = self._sink, None
        if sink is not None:
            try:
                sink.close()
            except Exception:  # noqa: BLE001 - closing must not raise at exit
                pass

    # -- ingest ----------------------------------------------------------------
    def ingest(self) -> None:
        """Move buffered rows into per-series columns and update the stats.

        With numpy imported by the process (any ML script) the columns are numpy
        arrays; before that, plain sequences (:meth:`_ingest_plain`), so that a
        script that never imports numpy does not pay ~70 ms to import it here,
        unless the batch holds more than :data:`PLAIN_MAX_POINTS` points.
        """
        with self._ingest_lock:
            dq = self.rows
            n = len(dq)
            if not n:
                return
            # n popleft() calls from C (rows logged meanwhile stay for the next flush)
            items = list(islice(iter(dq.popleft, None), n))
            steps, times, dicts = zip(*items, strict=True)
            if "numpy" not in sys.modules and n * len(dicts[0]) <= PLAIN_MAX_POINTS:
                self._ingest_plain(steps, times, dicts)
                return
            import numpy as np

            from .store.chunks import finite_stats_array

            parts: dict[str, list[tuple[Any, Any, Any, Any]]] = {}
            kinds: dict[str, str] = {}
            for keys, g_steps, g_times, values, positions, first in self._groups(
                    steps, times, dicts):
                s, tt, arr = self._arrays(keys, g_steps, g_times, values)
                pos = np.asarray(positions, dtype=np.int64)
                for j, key in enumerate(keys):
                    parts.setdefault(key, []).append((pos, s, arr[:, j], tt))
                    kind = _kind(first[key])
                    kinds[key] = kind if kinds.get(key, kind) == kind else "float"
            for key, pieces in parts.items():
                if len(pieces) == 1:
                    _, s, col, tt = pieces[0]
                else:
                    # a key logged in rows with different key sets: back in logging order
                    order = np.argsort(np.concatenate([p[0] for p in pieces]), kind="stable")
                    s = np.concatenate([p[1] for p in pieces])[order]
                    col = np.concatenate([p[2] for p in pieces])[order]
                    tt = np.concatenate([p[3] for p in pieces])[order]
                stats = finite_stats_array(col)
                self._cols.setdefault(key, []).append((s, col, tt, stats))
                st = self._series_stats(key, kinds[key], int(s[0]),
                                        len(s) > 1 and bool((np.diff(s) < 0).any()))
                st.fold(col, max(int(s[-1]), st.last_step), stats)
            self.summary_dirty = True

    def _ingest_plain(self, steps: tuple[int, ...], times: tuple[float, ...],
                      dicts: tuple[dict[str, Any], ...]) -> None:
        """:meth:`ingest` without numpy: the same columns as plain sequences
        (steps and times as tuples, values as ``array('d')``, plus their finite
        stats, used again by the flush), the same stats."""
        from .store.chunks import finite_stats

        parts: dict[str, list[tuple[Any, Any, Any, Any]]] = {}
        kinds: dict[str, str] = {}
        going_back: dict[int, bool] = {}  # id(steps) -> whether they go back somewhere
        for keys, g_steps, g_times, values, positions, first in self._groups(
                steps, times, dicts):
            s, tt = tuple(g_steps), tuple(g_times)
            columns = list(zip(*values, strict=True)) if len(keys) > 1 else \
                [tuple(v[0] for v in values)]
            for key, column in zip(keys, columns, strict=True):
                parts.setdefault(key, []).append((positions, s, self._floats(column), tt))
                kind = _kind(first[key])
                kinds[key] = kind if kinds.get(key, kind) == kind else "float"
        for key, pieces in parts.items():
            if len(pieces) == 1:
                _, s, col, tt = pieces[0]
            else:
                # a key logged in rows with different key sets: back in logging order
                merged = sorted(
                    (p, st, v, t) for pos, ss, vv, ts in pieces
                    for p, st, v, t in zip(pos, ss, vv, ts, strict=True))
                s = tuple(m[1] for m in merged)
                col = array("d", (m[2] for m in merged))
                tt = tuple(m[3] for m in merged)
            stats = finite_stats(col)
            self._cols.setdefault(key, []).append((s, col, tt, stats))
            back = going_back.get(id(s))
            if back is None:  # the series of one row group share their steps: check once
                back = going_back[id(s)] = len(s) > 1 and any(map(operator.lt, s[1:], s))
            st = self._series_stats(key, kinds[key], int(s[0]), back)
            st.fold(col, max(int(s[-1]), st.last_step), stats)
        self.summary_dirty = True

    def _series_stats(self, key: str, kind: str, first_step: int, backwards: bool) -> Stats:
        """The stats of ``key``, its kind widened and its backwards flag set as the new
        points (starting at ``first_step``; ``backwards`` within them) require."""
        st = self.stats.get(key)
        if st is None:
            st = self.stats[key] = Stats(kind=kind)
        elif st.kind != "float" and kind != st.kind:
            st.kind = "float"
        if backwards or (st.count and first_step < st.last_step):
            st.backwards = True
        return st

    def _floats(self, column: tuple[Any, ...]) -> array[float]:
        try:
            return array("d", column)
        except (OverflowError, TypeError, ValueError):
            self._warn_once("overflow", "a logged integer is beyond the float64 range "
                            "and was stored as +/-inf")
            return array("d", map(_safe_float, column))

    @staticmethod
    def _groups(steps: tuple[int, ...], times: tuple[float, ...],
                dicts: tuple[dict[str, Any], ...]) -> list[tuple[Any, ...]]:
        """Split rows into groups that share one key set:
        (keys, steps, times, values, positions in the batch, first row).

        The common case (every row has the same keys) is handled with C-level
        map/itemgetter calls only; mixed batches fall back to a loop.
        """
        import operator

        first = dicts[0]
        keys = tuple(first)
        width = len(keys)
        if width and min(map(len, dicts)) == width == max(map(len, dicts)):
            getter = operator.itemgetter(*keys)
            try:
                values = list(map(getter, dicts))
            except KeyError:
                pass
            else:
                if width == 1:
                    values = [(v,) for v in values]
                return [(keys, steps, times, values, range(len(steps)), first)]
        buckets: dict[tuple[str, ...], tuple[list[int], list[float], list[tuple[Any, ...]],
                                              list[int], dict[str, Any]]] = {}
        for i, (step, t, row) in enumerate(zip(steps, times, dicts, strict=True)):
            sig = tuple(row)
            g = buckets.get(sig)
            if g is None:
                buckets[sig] = g = ([], [], [], [], row)
            g[0].append(step)
            g[1].append(t)
            g[2].append(tuple(row.values()))
            g[3].append(i)
        return [(sig, *g) for sig, g in buckets.items() if sig]

    def _arrays(self, keys: tuple[str, ...], steps: Any, times: Any,
                vals: list[tuple[Any, ...]]) -> tuple[Any, Any, Any]:
        import numpy as np

        s = np.array(steps, dtype=np.int64)
        tt = np.array(times, dtype=np.float64)
        try:
            arr = np.array(vals, dtype=np.float64)
        except (OverflowError, TypeError, ValueError):
            arr = np.array([[_safe_float(v) for v in r] for r in vals], dtype=np.float64)
            self._warn_once("overflow", "a logged integer is beyond the float64 range "
                            "and was stored as +/-inf")
        return s, tt, arr.reshape(len(s), len(keys))

    # -- flush -----------------------------------------------------------------
    def flush(self, final: bool = False) -> None:
        """Write everything buffered to the run log, then to the sink."""
        from .store import chunks as codec

        with self._flush_lock:
            outer, self._flushing = self._flushing, threading.get_ident()
            try:
                self._flush(codec, final)
            finally:
                self._flushing = outer

    def _flush(self, codec: Any, final: bool) -> None:
        """:meth:`flush`'s work, under the flush lock."""
        self.ingest()
        with self._ingest_lock:
            cols, self._cols = self._cols, {}
        header: dict[str, Any] = self._header_parts()
        if self.summary_dirty or "summary_explicit" in header:
            self.summary_dirty = False
            header["summary"] = self._summary()
        entries, blobs, points = self._encode(codec, cols)
        now = time.time()
        if entries:
            header["series"] = entries
        if not header:
            self._retry_unwritten()
            if final:
                self._sync_log()
            self._apply_pending()
            if now - self._last_heartbeat > HEARTBEAT_EVERY:
                self._heartbeat(now)
            return
        header["time"] = now
        header["step"] = self._current_step()
        self._retry_unwritten()
        self._append(header, blobs, points)
        if final:
            self._apply_durably()
        else:
            self._apply_pending()
        self._last_heartbeat = now

    def _encode(self, codec: Any, cols: dict[str, list[tuple[Any, Any, Any, Any]]]
                ) -> tuple[list[dict[str, Any]], list[bytes], int]:
        """One chunk per series: (run log entries, chunk bytes, points)."""
        entries: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        points = 0
        plain = "numpy" not in sys.modules  # else numpy takes plain parts as they are
        memo: dict[tuple[int, bool], tuple[Any, bytes]] = {}  # shared steps and times
        for key, parts in cols.items():
            st = self.stats[key]
            if plain:
                if len(parts) == 1:
                    steps, values, times, stats = parts[0]
                else:
                    steps = tuple(chain.from_iterable(p[0] for p in parts))
                    values = array("d", chain.from_iterable(p[1] for p in parts))
                    times = tuple(chain.from_iterable(p[2] for p in parts))
                    stats = None
                entry, blob = codec.series_entry_plain(key, st.kind, steps, values, times,
                                                       st.backwards, memo, stats)
            else:
                import numpy as np

                entry, blob = codec.series_entry(
                    key, st.kind, np.concatenate([np.asarray(p[0], np.int64) for p in parts]),
                    np.concatenate([np.asarray(p[1], np.float64) for p in parts]),
                    np.concatenate([np.asarray(p[2], np.float64) for p in parts]),
                    st.backwards, parts[0][3] if len(parts) == 1 else None)
            entries.append(entry)
            blobs.append(blob)
            points += entry["n"]
        return entries, blobs, points

    def _apply_durably(self) -> None:
        """The last flush's fsync of the run log and index update, side by side: the
        fsync runs on the flusher thread when it is idle (``os.fsync`` and SQLite both
        release the GIL), and this returns when both are done. (The index may hold a
        record before its log is on disk, as after every periodic flush: nothing
        reads the index as proof that the log is durable.)"""
        self._get_sink()  # opened (or looked up) before the fsync starts beside it
        synced = flusher().call_soon(self._sync_log) if self._deadline is not None else None
        if synced is None:
            self._sync_log()
            self._apply_pending()
            return
        try:
            self._apply_pending()
        finally:
            synced.wait()

    def _sync_log(self) -> None:
        try:
            self.log.sync()
        except OSError:
            pass

    def _append(self, header: dict[str, Any], blobs: list[bytes], points: int) -> None:
        try:
            seq = self.log.append(header, blobs)
        except OSError as err:
            self.log_error = str(err)
            self._warn_once("log", f"cannot write the run log {self.log.path} ({err}); keeping "
                            "data in memory and retrying")
            self._unwritten.append((header, blobs, points))
            total = sum(p for _, _, p in self._unwritten)
            while total > self.max_buffer * 10 and len(self._unwritten) > 1:
                _, _, lost = self._unwritten.pop(0)
                self.dropped_points += lost
                total -= lost
            return
        record = Record(dict(header, seq=seq), blobs)
        self._pending.append(record)
        self._pending_bytes += sum(len(b) for b in blobs)

    def _retry_unwritten(self) -> None:
        while self._unwritten:
            header, blobs, points = self._unwritten[0]
            try:
                seq = self.log.append(header, blobs)
            except OSError:
                return
            self._unwritten.pop(0)
            self._pending.append(Record(dict(header, seq=seq), blobs))
            self._pending_bytes += sum(len(b) for b in blobs)
        self.log_error = None

    # -- sink --------------------------------------------------------------------
    def _get_sink(self) -> Sink | None:
        if self._make_sink is None:
            return None
        with self._sink_lock:  # the flusher's warm-up and a caller's flush may both ask
            if self._sink is None:
                if self._closed or time.time() - self._sink_failed_at < 5.0:
                    return None
                try:
                    self._sink = self._make_sink()
                except Exception as err:  # noqa: BLE001
                    self._sink_failed_at = time.time()
                    self._sink_failure(err)
                    return None
                background = getattr(self._sink, "checkpoint_in_background", None)
                if background is not None:  # the local index, written with sqlite3
                    background(flusher().later)
            return self._sink

    def _sink_failure(self, err: Exception) -> None:
        self.sink_error = f"{type(err).__name__}: {err}"
        self._warn_once("sink", f"cannot update the index ({self.sink_error}). Logging goes on "
                        "into the run log; the index catches up when it can (or `labtrack sync`).")

    def _apply_pending(self) -> None:
        sink = self._get_sink()
        if sink is None:
            self._bound_pending()
            return
        try:
            if self._needs_resync:
                after = sink.last_seq(self.run_id, self.stream)
                missing = [r for r in read_records(self.log.path, after_seq=after)
                           if r.seq <= self.log.last_seq]
                sink.apply(self.run_id, missing, self.stream)
                self._needs_resync = False
                self._pending = [r for r in self._pending if r.seq > self.log.last_seq]
            if self._pending:
                last = self._apply(sink, self._pending)
                if self.on_applied is not None:
                    self.on_applied(last)
            self._pending = []
            self._pending_bytes = 0
            self.sink_error = None
        except Exception as err:  # noqa: BLE001 - any sink failure leaves the log intact
            self._sink_failure(err)
            self._bound_pending()

    def _apply(self, sink: Sink, records: list[Record]) -> int:
        """``sink.apply``; in the last flush, within ``stop()``'s deadline where the sink
        can bound its wait (``apply_within``: the local index's busy timeout)."""
        within = getattr(sink, "apply_within", None)
        if within is None or self._deadline is None:
            return sink.apply(self.run_id, records, self.stream)
        return int(within(self.run_id, records, self.stream,
                          max(0.0, self._deadline - time.monotonic())))

    def _bound_pending(self) -> None:
        if self._pending_bytes > MAX_PENDING_BYTES or len(self._pending) > 10_000:
            self._pending = []
            self._pending_bytes = 0
            self._needs_resync = True

    def _heartbeat(self, now: float) -> None:
        self._last_heartbeat = now
        sink = self._get_sink()
        if sink is None:
            return
        try:
            sink.heartbeat(self.run_id, now)
        except Exception as err:  # noqa: BLE001
            self._sink_failure(err)

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            _warn(message)
