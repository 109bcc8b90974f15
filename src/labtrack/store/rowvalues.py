"""What a run log record changes in the index, whatever the database.

Both writers of the index, :class:`~labtrack.store.sql.SQLStore` (SQLAlchemy) and
:class:`~labtrack.store.lite.LiteSink` (stdlib ``sqlite3``), turn a record into the
same column values with these functions; each then writes them in its own way.
Nothing here imports a database library.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from .._jsonsafe import float_in
from ..errors import StoreError
from ..runlog import Record


def records_to_apply(run_id: str, records: Sequence[Record], last: int, exists: bool,
                     stream: str) -> Iterator[Record]:
    """The records a stream has not applied yet, checked to follow on without a gap.

    A side stream's records (``stream != "main"``) may not create the run nor set its
    metadata or state, and are renumbered from ``last`` + 1.
    """
    for record in records:
        if record.seq <= last:
            continue
        if record.seq != last + 1:
            raise StoreError(
                f"run {run_id}: record {record.seq} follows {last}; records are missing "
                "from the index. Run `labtrack sync` to re-apply the run log.")
        if stream != "main":
            if not exists:
                raise StoreError(f"run {run_id} does not exist yet (stream {stream})")
            record = Record({k: v for k, v in record.header.items()
                             if k not in ("run", "state")}, record.blobs, record.offset)
            record.header["seq"] = last + 1
        yield record
        exists = True
        last = record.seq


def tags_text(tags: list[str]) -> str:
    """``|a|b|``: the tags as one string, for a portable ``in tags`` filter."""
    return "|" + "|".join(t.replace("|", "/") for t in tags) + "|" if tags else ""


def run_values(header: dict[str, Any], run_id: str, seq: int, stream: str, exists: bool,
               now: float, project_id: Callable[[str], int],
               current: Callable[[str], dict[str, Any] | None]) -> dict[str, Any]:
    """The ``runs`` columns a record sets.

    Args:
        project_id: the id of a project by name (created if need be).
        current: the stored value of a JSON column of the run (for merges).
    """
    h = header
    values: dict[str, Any] = {"updated_at": now, "heartbeat_at": now}
    if stream == "main":
        values["last_seq"] = seq
    meta = h.get("run")
    if meta:
        tags = list(meta.get("tags") or [])
        values.update(
            project_id=project_id(meta.get("project") or "uncategorized"),
            name=meta.get("name") or run_id, group_name=meta.get("group"),
            job_type=meta.get("job_type"), tags=tags, tags_text=tags_text(tags),
            notes=meta.get("notes"), host=meta.get("host"), pid=meta.get("pid"),
            owner=meta.get("owner"), sweep_id=meta.get("sweep_id"),
            reproduced_from=meta.get("reproduced_from"), state="running",
            finished_at=None, exit_code=None, error=None,
        )
    update_meta = h.get("run_update") if stream != "main" else None
    if update_meta:
        for key, column in (("name", "name"), ("group", "group_name"),
                            ("job_type", "job_type"), ("notes", "notes")):
            if key in update_meta and (update_meta[key] is not None or key == "notes"):
                values[column] = update_meta[key]
        if update_meta.get("tags") is not None:
            tags = [str(t) for t in update_meta["tags"]]
            values.update(tags=tags, tags_text="|" + "|".join(tags) + "|" if tags else "")
        if update_meta.get("project"):
            values["project_id"] = project_id(update_meta["project"])
        if update_meta.get("favorite") is not None:
            values["favorite"] = bool(update_meta["favorite"])
    for key in ("config", "summary", "environment", "metric_defs"):
        if key not in h:
            continue
        merge = key == "summary" or (stream != "main" and key in ("config", "metric_defs"))
        if merge and exists:
            # two streams (and resumed runs) each send snapshots: keep both sides' keys
            values[key] = {**(current(key) or {}), **h[key]}
        else:
            values[key] = h[key]
    if "step" in h and stream == "main":
        values["step"] = int(h["step"])
    state = h.get("state")
    if state:
        values.update(state=state["state"], exit_code=state.get("exit_code"),
                      error=state.get("error"), finished_at=state.get("finished_at"))
    if not exists:
        values.update(id=run_id, created_at=float(meta.get("created_at", now)) if meta else now)
        values.setdefault("config", {})
        values.setdefault("summary", {})
    return values


def merged_stats(stored: tuple[Any, ...], entry: dict[str, Any]) -> tuple[Any, ...]:
    """A series' running stats after one more chunk.

    ``stored`` and the result are (count, min, max, first_step, last_step, backwards);
    the result also carries (last, last_time) at the end.
    """
    count, cur_min, cur_max, first_step, last_step, backwards = stored
    lo, hi = float_in(entry.get("min")), float_in(entry.get("max"))
    new_min = lo if cur_min is None else (cur_min if lo is None else min(cur_min, lo))
    new_max = hi if cur_max is None else (cur_max if hi is None else max(cur_max, hi))
    if isinstance(new_min, float) and new_min != new_min:
        new_min = None
    if isinstance(new_max, float) and new_max != new_max:
        new_max = None
    goes_back = bool(entry.get("backwards")) or (
        last_step is not None and int(entry["first_step"]) < last_step)
    return (int(count or 0) + int(entry["n"]), new_min, new_max,
            entry["first_step"] if first_step is None else first_step, entry["last_step"],
            bool(backwards) or goes_back, float_in(entry.get("last")), entry.get("last_time"))
