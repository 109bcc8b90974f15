"""``labtrack sync``: apply run logs to the index, idempotently; rebuild a broken index.

The index remembers the last applied sequence number of each run, so syncing a
run that is fully indexed reads only its record headers and writes nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import NotFoundError, RunLogError, StoreError
from .runlog import ScanResult, iter_records
from .settings import Settings

BATCH = 256


@dataclass
class SyncReport:
    runs: int = 0
    records: int = 0
    torn: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    # artifact events of the applied records, replayed once every run is in the index
    events: list[tuple[float, str, Path, dict[str, Any]]] = field(default_factory=list,
                                                                  repr=False)


def run_logs(store_dir: Path, run_ids: Iterable[str] | None = None) -> list[tuple[str, Path]]:
    """(run id, run directory) of every run under ``store_dir/runs``."""
    runs_dir = store_dir / "runs"
    if run_ids is not None:
        return [(r, runs_dir / r) for r in run_ids]
    if not runs_dir.is_dir():
        return []
    return [(e.name, Path(e.path)) for e in sorted(os.scandir(runs_dir), key=lambda e: e.name)
            if e.is_dir() and (Path(e.path) / "run.log").exists()]


def streams(run_dir: Path) -> list[tuple[str, Path]]:
    """(stream, log path) of a run: the main run.log first, then side streams."""
    out = [("main", run_dir / "run.log")] if (run_dir / "run.log").exists() else []
    out += [(p.stem, p) for p in sorted(run_dir.glob("*.log")) if p.name != "run.log"]
    if not out:
        raise RunLogError(f"{run_dir} holds no run log")
    return out


def replay_artifact_events(store: Any, report: SyncReport) -> None:
    """Re-commit artifact versions and lineage recorded in run logs (local index only),
    in the order they happened: versions before the runs that used them.

    Commits are idempotent (same digest, same version), so replaying twice changes nothing.
    """
    events, report.events = sorted(report.events, key=lambda e: e[0]), []
    if not events or not hasattr(store, "engine"):
        return
    from .artifacts.index import ArtifactIndex
    from .blobs import LocalBlobStore

    index = ArtifactIndex(store, LocalBlobStore(events[0][2].parent.parent / "blobs"))
    for _, run_id, _, event in events:
        try:
            if event.get("entries") is not None:
                info = index.commit(event["project"], event["name"], event["type"],
                                    event["entries"], event["digest"],
                                    description=event.get("description"),
                                    metadata=event.get("metadata"),
                                    aliases=event.get("aliases") or (),
                                    run_id=run_id if event["kind"] == "logged" else None,
                                    version=event.get("version"))
            elif event["kind"] == "logged":  # content logged again: the version exists
                found = _version_by_digest(index, event)
                if found is None:
                    raise NotFoundError("no event of the run logs holds its manifest")
                index.commit(event["project"], event["name"], found["type"],
                             index.files(int(found["id"])), event["digest"],
                             aliases=event.get("aliases") or (), run_id=run_id)
                continue
            else:
                info = index.resolve(f"{event['name']}", project=event["project"])
                if info.get("digest") != event.get("digest"):
                    continue
            if event["kind"] == "used":
                index.record_use(int(info["id"]), run_id)
        except Exception as err:  # noqa: BLE001 - one bad event must not stop a rebuild
            import sys

            print(f"labtrack: run {run_id}: could not restore artifact "
                  f"{event.get('name')}: {err}", file=sys.stderr)


def _version_by_digest(index: Any, event: dict[str, Any]) -> dict[str, Any] | None:
    """The version of ``event``'s artifact whose digest is the event's, if restored."""
    try:
        versions = index.versions(event["project"], event["name"])
    except NotFoundError:
        return None
    return next((v for v in versions if v.get("digest") == event.get("digest")), None)


def sync_run(store: object, run_id: str, run_dir: Path, report: SyncReport) -> int:
    """Apply the records of a run's logs that the store lacks; returns how many."""
    applied = 0
    for stream, log_path in streams(run_dir):
        after = store.last_seq(run_id, stream)  # type: ignore[attr-defined]
        scan = ScanResult(0, 0, False)
        batch = []
        for record in iter_records(log_path, after_seq=after, scan=scan):
            for event in record.header.get("artifact_events") or ():
                when = float(record.header.get("time", 0.0))
                report.events.append((when, run_id, run_dir, event))
            batch.append(record)
            if len(batch) >= BATCH:
                store.apply(run_id, batch, stream)  # type: ignore[attr-defined]
                applied += len(batch)
                batch = []
        if batch:
            store.apply(run_id, batch, stream)  # type: ignore[attr-defined]
            applied += len(batch)
        if scan.torn:
            report.torn.append(run_id if stream == "main" else f"{run_id} ({stream})")
    return applied


def ack_path(run_dir: Path, stream: str) -> Path:
    return run_dir / f".{stream}.acked"


def write_ack(run_dir: Path, stream: str, seq: int) -> None:
    """Remember the last seq the team server acknowledged (remote mode)."""
    try:
        ack_path(run_dir, stream).write_text(str(seq))
    except OSError:
        pass


def unacknowledged(store_dir: Path) -> list[str]:
    """Runs whose logs hold records the team server has not acknowledged."""
    out = []
    for run_id, run_dir in run_logs(store_dir):
        for stream, log in streams(run_dir):
            ack = ack_path(run_dir, stream)
            if not ack.exists() or ack.stat().st_mtime < log.stat().st_mtime:
                out.append(run_id)
                break
    return out


def sync(
    store_dir: str | Path | None = None,
    run_ids: Iterable[str] | None = None,
    rebuild: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    url: str | None = None,
    api_key: str | None = None,
) -> SyncReport:
    """Bring the index of ``store_dir`` (or the team server at ``url``) up to date
    with the run logs in ``store_dir``.

    Args:
        rebuild: move the database aside (kept as ``labtrack.db.broken-<time>``)
            and build a new one from every run log (local index only).
        progress: called as ``progress(done, total, run_id)``.
        url: send to this team server instead of the local index.
    """
    from .store import open_store

    settings = Settings()
    directory = Path(store_dir) if store_dir is not None else settings.dir
    url = url or settings.url
    old_db: Path | None = None
    if url:
        from .store.http import HTTPStore

        store: Any = HTTPStore(url, api_key or settings.api_key,
                               blobs_dir=directory / "blobs")
    else:
        old_db = _move_aside(directory / "labtrack.db") if rebuild else None
        store = open_store(directory)
    report = SyncReport()
    logs = run_logs(directory, run_ids)
    try:
        for i, (run_id, path) in enumerate(logs):
            if progress:
                progress(i, len(logs), run_id)
            try:
                report.records += sync_run(store, run_id, path, report)
                report.runs += 1
                if url:
                    for stream, _ in streams(path):
                        write_ack(path, stream, store.last_seq(run_id, stream))
            except (RunLogError, StoreError, OSError) as err:
                report.errors[run_id] = str(err)
        replay_artifact_events(store, report)
        if old_db is not None:
            salvage(old_db, store, report)
        if progress:
            progress(len(logs), len(logs), "")
    finally:
        store.close()
    return report


def _move_aside(db: Path) -> Path | None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved = None
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(db) + suffix)
        if path.exists():
            target = Path(f"{db}.broken-{stamp}{suffix}")
            path.rename(target)
            if not suffix:
                moved = target
    return moved


# Tables with no run log behind them: a rebuild copies what it can still read of them
# from the database it moved aside.
SALVAGED_TABLES = ("sweeps", "sweep_runs", "reports", "report_revisions", "views", "users",
                   "api_keys", "project_members")


def _column_value(column: Any, value: Any) -> Any:
    """Raw SQLite values back to what the column type takes (JSON text -> data)."""
    import json

    from sqlalchemy import JSON

    kind = column.type
    if isinstance(getattr(kind, "impl", kind), JSON) or isinstance(kind, JSON):
        return json.loads(value) if isinstance(value, str) else value
    return value


def salvage(old_db: Path, store: Any, report: SyncReport) -> None:
    """Copy sweeps, reports, saved views and users from the old database, if readable."""
    import sqlite3

    from sqlalchemy import insert

    from .store import schema

    try:
        old = sqlite3.connect(f"file:{old_db}?mode=ro", uri=True)
        names = {r[0] for r in old.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as err:
        report.errors["salvage"] = f"the old index could not be read ({err}); sweeps, " \
            "reports, saved views and users it held are lost"
        return
    try:
        for name in SALVAGED_TABLES:
            table = schema.metadata.tables.get(name)
            if table is None or name not in names:
                continue
            try:
                cursor = old.execute(f'SELECT * FROM "{name}"')
                columns = [d[0] for d in cursor.description]
                rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
                rows = [{k: _column_value(table.c[k], v) for k, v in r.items() if k in table.c}
                        for r in rows]
                if rows:
                    with store.write() as conn:
                        conn.execute(table.delete())
                        conn.execute(insert(table), rows)
            except Exception as err:  # noqa: BLE001 - salvage what can be, report the rest
                report.errors[f"salvage:{name}"] = str(err)
    finally:
        old.close()
