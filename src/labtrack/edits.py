"""Edits of a run after the fact (rename, tags, notes, favourite), kept in its run log too.

An edit is appended to the run's ``edits.log`` stream (the same framed records
as every run log) and applied to the index through ``Store.apply``, so
``labtrack sync --rebuild`` restores it. A run whose logs are not on this
machine (the team server) is edited in the index only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .errors import ConflictError, UsageError
from .runlog import Record, RunLogWriter

EDITABLE = {"name", "tags", "notes", "favorite"}


def edit_run(store: Any, runs_dir: Path | None, run_id: str, **fields: Any) -> None:
    """Apply an edit to ``run_id``; raises ConflictError when the new name is taken."""
    unknown = set(fields) - EDITABLE
    if unknown:
        raise UsageError(f"cannot edit {', '.join(sorted(unknown))}; editable: "
                         f"{', '.join(sorted(EDITABLE))}")
    if not fields:
        return
    run = store.get_run(run_id)
    if "name" in fields:
        name = str(fields["name"]).strip()
        if not name:
            raise UsageError("a run name cannot be empty")
        fields["name"] = name
        clash = [r for r in store.runs(run["project"], filter=f"name == {_quote(name)}")
                 if r["id"] != run_id]
        if clash:
            raise ConflictError(f"another run in project {run['project']!r} is already "
                                f"named {name!r}")
    if "tags" in fields:
        fields["tags"] = [str(t) for t in fields["tags"]]
    folder = runs_dir / run_id if runs_dir is not None else None
    if folder is None or not (folder / "run.log").exists():
        store.update_run(run_id, **fields)
        return
    record = _append(folder / "edits.log", {"time": time.time(), "run_update": fields})
    store.apply(run_id, [record], stream="edits")


def _append(path: Path, header: dict[str, Any]) -> Record:
    for attempt in range(50):
        try:
            writer = RunLogWriter(path)
            break
        except ConflictError:
            if attempt == 49:
                raise
            time.sleep(0.05)  # another edit of the same run is being written
    try:
        seq = writer.append(header, [])
        return Record(dict(header, seq=seq), [])
    finally:
        writer.close()


def _quote(text: str) -> str:
    import json

    return json.dumps(text)
