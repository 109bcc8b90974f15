"""An imported run, and how it is written: a run log with the source's own times, then indexed.

Importers fill an :class:`ImportedRun` (metadata, config, metric points with
their original steps and wall-clock times, media, files) and hand it to
:class:`RunWriter`, which writes ``runs/<id>/run.log`` in the store directory
exactly as a live run would (records of columnar chunks, so timestamps are
kept) and applies it to the index with :func:`labtrack.sync.sync_run`.

Run ids are derived from the source's run id (:func:`derive_run_id`), so a
second import of the same source finds its runs and skips them, or replaces
them with ``replace=True``.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._jsonsafe import float_out, to_jsonable
from .._names import valid_run_id
from ..errors import NotFoundError

CHUNK_POINTS = 100_000  # points per metric chunk
RECORD_POINTS = 400_000  # points per run log record

Progress = Callable[[int, int, str], None]


def derive_run_id(source: str, key: str, readable: str | None = None) -> str:
    """A labtrack run id that is the same every time the same source run is imported.

    ``readable`` (the source's own id) is used as is when it makes a valid id;
    otherwise a hash of ``key`` (which must identify the source run) is.
    """
    if readable:
        candidate = f"{source}-{readable}"
        if valid_run_id(candidate):
            return candidate
    return f"{source}-{hashlib.sha1(key.encode()).hexdigest()[:20]}"


@dataclass
class ImportReport:
    """What an import did: run ids imported, skipped (already there) and failed."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": self.skipped, "errors": self.errors,
                "notes": self.notes}


@dataclass
class _Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    kind: str | None = None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "float"


@dataclass
class ImportedRun:
    """Everything an importer read about one source run."""

    run_id: str
    project: str
    name: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    notes: str | None = None
    group: str | None = None
    job_type: str | None = None
    owner: str | None = None
    host: str | None = None
    created_at: float | None = None
    finished_at: float | None = None
    state: str | None = None  # finished, failed, killed, crashed; None: left running
    exit_code: int | None = None
    error: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    series: dict[str, _Series] = field(default_factory=dict)
    media: list[tuple[str, int, Any]] = field(default_factory=list)
    files: list[tuple[str, Path | bytes]] = field(default_factory=list)
    temp_dirs: list[Path] = field(default_factory=list)  # removed once the run is written

    def add_point(self, key: str, step: int, value: float | int | bool, when: float) -> None:
        """One metric point at ``step``, logged at wall-clock time ``when`` (epoch seconds)."""
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = _Series()
        kind = _kind(value)
        s.kind = kind if s.kind in (None, kind) else "float"
        s.steps.append(int(step))
        s.values.append(float(value))
        s.times.append(float(when))

    def add_media(self, key: str, step: int, media: Any) -> None:
        """A labtrack media object (``Histogram``, ``Image`` ...) at ``step``."""
        self.media.append((key, int(step), media))

    def add_file(self, path: str, source: Path | bytes) -> None:
        """A run file named ``path``, from a local file or bytes."""
        self.files.append((path.replace(os.sep, "/"), source))

    def point_count(self) -> int:
        return sum(len(s.steps) for s in self.series.values())

    def last_time(self) -> float | None:
        times = [s.times[-1] for s in self.series.values() if s.times]
        return max(times) if times else None

    def max_step(self) -> int:
        return max((max(s.steps) for s in self.series.values() if s.steps), default=-1)


class RunWriter:
    """Writes imported runs into one store directory (and its index)."""

    def __init__(self, store_dir: str | Path | None = None, replace: bool = False) -> None:
        from ..settings import Settings
        from ..store import open_store

        self.dir = Path(store_dir).expanduser() if store_dir is not None else Settings().dir
        self.replace = replace
        self.store = open_store(self.dir)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> RunWriter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def run_dir(self, run_id: str) -> Path:
        return self.dir / "runs" / run_id

    def exists(self, run_id: str) -> bool:
        """Whether a run with this id is already in the store."""
        if (self.run_dir(run_id) / "run.log").exists():
            return True
        try:
            self.store.get_run(run_id)
        except NotFoundError:
            return False
        return True

    def remove(self, run_id: str) -> None:
        """Delete a run's index rows and its log folder (for ``replace``)."""
        try:
            self.store.delete_run(run_id)
        except NotFoundError:
            pass
        shutil.rmtree(self.run_dir(run_id), ignore_errors=True)

    def write(self, run: ImportedRun) -> bool:
        """Write one run; False when it exists and ``replace`` is off (nothing changes)."""
        from ..runlog import RunLogWriter
        from ..sync import SyncReport, sync_run

        if self.exists(run.run_id):
            if not self.replace:
                return False
            self.remove(run.run_id)
        run_dir = self.run_dir(run.run_id)
        log = RunLogWriter(run_dir / "run.log")
        try:
            for header, blobs in self._records(run):
                log.append(header, blobs)
            log.sync()
        except BaseException:
            log.close()
            shutil.rmtree(run_dir, ignore_errors=True)  # no half-imported run stays behind
            raise
        log.close()
        sync_run(self.store, run.run_id, run_dir, SyncReport())
        return True

    # -- records ---------------------------------------------------------------
    def _records(self, run: ImportedRun) -> list[tuple[dict[str, Any], list[bytes]]]:
        created = run.created_at if run.created_at is not None else (
            _first_time(run) or time.time())
        meta: dict[str, Any] = {"project": run.project, "name": run.name or run.run_id,
                                "created_at": created}
        for key in ("group", "job_type", "notes", "owner", "host"):
            value = getattr(run, key)
            if value is not None:
                meta[key] = value
        if run.tags:
            meta["tags"] = [str(t) for t in run.tags]
        records: list[tuple[dict[str, Any], list[bytes]]] = [(
            {"run": meta, "config": to_jsonable(run.config),
             "environment": to_jsonable(run.environment), "time": created, "step": 0}, [])]
        next_step = run.max_step() + 1
        records += [(dict(h, step=next_step), b) for h, b in self._series_records(run, created)]
        end = run.finished_at or run.last_time() or created
        final: dict[str, Any] = {"time": end, "step": next_step}
        final["summary"], final["summary_explicit"] = self._summary(run)
        media = self._media_entries(run)
        if media:
            final["media"] = media
        files = self._file_entries(run)
        if files:
            final["files"] = files
        if run.state is not None:
            final["state"] = {"state": run.state, "finished_at": end, "error": run.error,
                              "exit_code": run.exit_code if run.exit_code is not None else
                              (0 if run.state == "finished" else 1)}
        records.append((final, []))
        return records

    @staticmethod
    def _series_records(run: ImportedRun, created: float
                        ) -> list[tuple[dict[str, Any], list[bytes]]]:
        import numpy as np

        from ..store import chunks

        out: list[tuple[dict[str, Any], list[bytes]]] = []
        entries: list[dict[str, Any]] = []
        blobs: list[bytes] = []
        points = 0
        latest = created

        def emit() -> None:
            nonlocal entries, blobs, points
            if entries:
                out.append(({"series": entries, "time": latest}, blobs))
            entries, blobs, points = [], [], 0

        for key, s in run.series.items():
            steps = np.asarray(s.steps, dtype=np.int64)
            values = np.asarray(s.values, dtype=np.float64)
            times = np.asarray(s.times, dtype=np.float64)
            backwards = bool(len(steps) > 1 and (np.diff(steps) < 0).any())
            for lo in range(0, len(steps), CHUNK_POINTS):
                st, va, ti = (a[lo:lo + CHUNK_POINTS] for a in (steps, values, times))
                entry, blob = chunks.series_entry(key, s.kind or "float", st, va, ti,
                                                  backwards)
                entries.append(entry)
                blobs.append(blob)
                latest = max(latest, float(ti.max()))
                points += len(st)
                if points >= RECORD_POINTS:
                    emit()
        emit()
        return out

    @staticmethod
    def _summary(run: ImportedRun) -> tuple[dict[str, Any], dict[str, Any]]:
        """The last value of every series, overlaid with the source's own summary."""
        summary: dict[str, Any] = {}
        for key, s in run.series.items():
            if s.values and not key.startswith("system/"):  # as a live run's summary
                last = s.values[-1]
                if s.kind == "int" and math.isfinite(last):
                    summary[key] = int(last)
                elif s.kind == "bool":
                    summary[key] = bool(last)
                else:
                    summary[key] = float_out(last)
        explicit = {k: float_out(v) if isinstance(v, float) else to_jsonable(v)
                    for k, v in run.summary.items()}
        summary.update(explicit)
        return summary, explicit

    def _media_entries(self, run: ImportedRun) -> list[dict[str, Any]]:
        if not run.media:
            return []
        blobs = self._blobs()

        def put_blob(data: bytes, ext: str = "") -> str:
            return blobs.put_bytes(data)

        return [{"key": key, "step": step, "record": media.to_record(put_blob)}
                for key, step, media in run.media]

    def _file_entries(self, run: ImportedRun) -> list[dict[str, Any]]:
        if not run.files:
            return []
        blobs = self._blobs()
        entries = []
        for name, source in run.files:
            if isinstance(source, bytes):
                digest, size = blobs.put_bytes(source), len(source)
            else:
                digest, size = blobs.put_file(source)
            entries.append({"path": name, "digest": digest, "size": size})
        return entries

    def _blobs(self) -> Any:
        from ..blobs import LocalBlobStore

        root = self.dir / "blobs"
        root.mkdir(parents=True, exist_ok=True)
        return LocalBlobStore(root)


def _first_time(run: ImportedRun) -> float | None:
    times = [s.times[0] for s in run.series.values() if s.times]
    return min(times) if times else None


def write_runs(runs: Any, writer: RunWriter, report: ImportReport,
               progress: Progress | None = None, total: int | None = None) -> ImportReport:
    """Write every run an importer yields, counting what was imported, skipped or failed.

    ``runs`` yields ``(label, run_id, loader)``; ``loader()`` reads the source run
    and returns its :class:`ImportedRun` (or None to leave it out). A run already
    in the store is skipped before it is read, unless the writer replaces runs.
    """
    done = 0
    for label, run_id, loader in runs:
        if progress is not None:
            progress(done, total or 0, label)
        done += 1
        if not writer.replace and writer.exists(run_id):
            report.skipped.append(run_id)
            continue
        run = None
        try:
            run = loader()
            if run is None:
                continue
            if writer.write(run):
                report.imported.append(run.run_id)
            else:
                report.skipped.append(run.run_id)
        except Exception as err:  # noqa: BLE001 - one bad source run must not stop the rest
            report.errors[run_id] = f"{type(err).__name__}: {err}"
        finally:
            for temp in run.temp_dirs if run is not None else ():
                shutil.rmtree(temp, ignore_errors=True)
    if progress is not None:
        progress(done, total or done, "")
    return report
