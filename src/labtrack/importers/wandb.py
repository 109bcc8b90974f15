"""Import wandb runs from their local folders (offline runs, or synced runs' local copies).

A wandb run folder (``wandb/offline-run-<time>-<id>`` or ``wandb/run-<time>-<id>``)
holds ``run-<id>.wandb``, the run's transaction log with everything it logged,
and ``files/``. The log is read record by record (:mod:`._wandb_log`, decoded
with wandb's own protobuf classes, ``pip install wandb``):

* run record: project, name, tags, notes, group, job type, host, start time, git;
* config updates (wandb's internal ``_wandb`` key is left out);
* history rows: numbers become series at the row's ``_step`` and ``_timestamp``;
  nested dicts become ``a/b`` keys (as ``labtrack.log`` would make them);
  ``wandb.Histogram`` and ``wandb.Image`` values become labtrack media;
* summary: wandb's final summary, as the run's summary;
* system stats: ``system/<name>`` series;
* exit record: finished (exit code 0) or failed; a run with no exit record
  (killed, crashed) is imported as crashed;
* ``files/`` (except ``media/``, which the media came from) and the console
  output (``output.log``) become run files.

A resumed run has a folder per segment, all with the same run id: they become
one run, read in folder (time) order; its steps go on as the segments logged
them (an offline resume starts again at 0, which is kept and flagged).

Run ids are ``wandb-<wandb run id>``: importing again skips runs already there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ._imported import ImportedRun, ImportReport, Progress, RunWriter, derive_run_id, write_runs
from ._wandb_log import iter_records

INTERNAL_KEYS = {"_step", "_runtime", "_timestamp", "_wandb"}


def find_runs(path: Path) -> list[Path]:
    """wandb run folders at or under ``path`` (``path`` itself, ``path/*``, ``path/wandb/*``)."""
    if _log_file(path) is not None:
        return [path]
    found: dict[Path, Path] = {}
    for parent in (path, path / "wandb"):
        if not parent.is_dir():
            continue
        for child in sorted(parent.iterdir()):
            if child.is_symlink() or not child.is_dir():  # latest-run points at another one
                continue
            if _log_file(child) is not None:
                found.setdefault(child.resolve(), child)
    return list(found.values())


def _log_file(folder: Path) -> Path | None:
    if not folder.is_dir():
        return None
    logs = sorted(folder.glob("run-*.wandb"))
    return logs[0] if logs else None


def import_wandb(
    path: str | Path,
    store_dir: str | Path | None = None,
    *,
    project: str | None = None,
    system: bool = True,
    replace: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import wandb run folders.

    Args:
        path: a run folder, a ``wandb/`` folder, or a folder that holds ``wandb/``.
        store_dir: the labtrack store (default ``LABTRACK_DIR``).
        project: put every run in this project instead of its wandb project.
        system: also import system metrics (``system/*`` series).
        replace: re-import runs that are already in the store.
        progress: called as ``progress(done, total, label)``.
    Raises:
        UsageError: no run folder was found, or wandb is not installed.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise UsageError(f"{path} does not exist")
    try:
        from wandb.proto import wandb_internal_pb2  # noqa: F401
    except ImportError:
        raise UsageError("importing wandb runs needs wandb: pip install wandb") from None
    folders = find_runs(root)
    if not folders:
        raise UsageError(f"no wandb run folder (with a run-<id>.wandb file) at or under {root}")
    segments: dict[str, list[Path]] = {}  # a resumed run has one folder per segment
    for folder in folders:
        segments.setdefault(_run_id(folder), []).append(folder)
    report = ImportReport()
    with RunWriter(store_dir, replace=replace) as writer:
        jobs = ((parts[0].name, derive_run_id("wandb", rid, rid),
                 _loader(parts, project, system, report)) for rid, parts in segments.items())
        write_runs(jobs, writer, report, progress, total=len(segments))
    return report


def _run_id(folder: Path) -> str:
    log = _log_file(folder)
    assert log is not None
    return log.stem[len("run-"):]


def _loader(folders: list[Path], project: str | None, system: bool,
            report: ImportReport) -> Any:
    return lambda: read_run(folders, project, system, report)


def _items(items: Any) -> Iterator[tuple[list[str], Any]]:
    for item in items:
        keys = list(item.nested_key) or [item.key]
        yield keys, json.loads(item.value_json)


def _set(target: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        nxt = target.get(key)
        if not isinstance(nxt, dict):
            nxt = target[key] = {}
        target = nxt
    target[keys[-1]] = value


def _remove(target: dict[str, Any], keys: list[str]) -> None:
    for key in keys[:-1]:
        target = target.get(key)  # type: ignore[assignment]
        if not isinstance(target, dict):
            return
    target.pop(keys[-1], None)


class _Reader:
    """Folds the records of one run's log into an :class:`ImportedRun`."""

    def __init__(self, project: str | None, system: bool) -> None:
        self.folder = Path()
        self.files_dir = Path()
        self.system = system
        self.run = ImportedRun(run_id="", project=project or "")
        self.project = project
        self.config: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.output: list[str] = []
        self.stats_step = 0
        self.exit: Any = None
        self.last_time: float | None = None
        self.left_out: set[str] = set()
        self.segments: list[Path] = []

    def start_segment(self, folder: Path) -> None:
        """The next folder of the run (a resumed run continues in a new one)."""
        self.folder = folder
        self.files_dir = folder / "files"
        self.segments.append(folder)
        self.exit = None  # only the last segment's exit counts

    def feed(self, record: Any) -> None:
        kind = record.WhichOneof("record_type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(getattr(record, kind))

    def _on_run(self, rec: Any) -> None:
        run = self.run
        first = not run.run_id
        run.run_id = derive_run_id("wandb", rec.run_id, rec.run_id)
        if first or rec.project:
            run.project = self.project or rec.project or "uncategorized"
        run.name = rec.display_name or run.name
        for attr, value in (("notes", rec.notes), ("group", rec.run_group),
                            ("job_type", rec.job_type), ("host", rec.host),
                            ("owner", rec.entity)):
            if value:
                setattr(run, attr, value)
        if list(rec.tags):
            run.tags = list(rec.tags)
        if rec.HasField("start_time"):
            start = rec.start_time.seconds + rec.start_time.nanos / 1e9
            run.created_at = start if run.created_at is None else min(run.created_at, start)
        run.environment.setdefault("imported_from", {}).update(
            {"source": "wandb", "path": str(self.segments[0]), "run_id": rec.run_id,
             "project": rec.project, "entity": rec.entity, "sweep_id": rec.sweep_id or None})
        if rec.git.commit or rec.git.remote_url:
            run.environment["git"] = {"available": True, "commit": rec.git.commit or None,
                                      "remote": rec.git.remote_url or None}
        self._on_config(rec.config)

    def _on_config(self, rec: Any) -> None:
        for keys, value in _items(rec.update):
            _set(self.config, keys, value)
        for item in rec.remove:
            _remove(self.config, list(item.nested_key) or [item.key])

    def _on_summary(self, rec: Any) -> None:
        for keys, value in _items(rec.update):
            _set(self.summary, keys, value)
        for item in rec.remove:
            _remove(self.summary, list(item.nested_key) or [item.key])

    def _on_environment(self, rec: Any) -> None:
        env = self.run.environment.setdefault("wandb", {})
        for name in ("os", "python", "program", "host", "username", "executable", "root"):
            value = getattr(rec, name, "")
            if value:
                env[name] = value
        if list(rec.args):
            env["args"] = list(rec.args)

    def _on_history(self, rec: Any) -> None:
        row: dict[str, Any] = {}
        for keys, value in _items(rec.item):
            _set(row, keys, value)
        step = int(row.get("_step", rec.step.num))
        when = float(row.get("_timestamp") or self.last_time or self.run.created_at or 0.0)
        self.last_time = max(self.last_time or when, when)
        for key, value in row.items():
            if key not in INTERNAL_KEYS:
                self._value(key, value, step, when)

    def _value(self, key: str, value: Any, step: int, when: float) -> None:
        if isinstance(value, (bool, int, float)):
            self.run.add_point(key, step, value, when)
        elif isinstance(value, dict) and "_type" in value:
            media = self._media(value)
            if media is None:
                self.left_out.add(f"{key} ({value['_type']})")
            else:
                self.run.add_media(key, step, media)
        elif isinstance(value, dict):
            for sub, inner in value.items():
                self._value(f"{key}/{sub}", inner, step, when)
        elif value is not None:
            self.left_out.add(key)

    def _media(self, value: dict[str, Any]) -> Any:
        from ..media import Histogram, Image

        kind = value["_type"]
        if kind == "histogram" and "values" in value and "bins" in value:
            return Histogram(np_histogram=(value["values"], value["bins"]))
        if kind == "image-file" and value.get("path"):
            path = self.files_dir / value["path"]
            if path.is_file():
                return Image(str(path), caption=value.get("caption"))
        return None

    def _on_stats(self, rec: Any) -> None:
        if not self.system:
            return
        when = rec.timestamp.seconds + rec.timestamp.nanos / 1e9
        for item in rec.item:
            value = json.loads(item.value_json)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.run.add_point(f"system/{item.key}", self.stats_step, float(value), when)
        self.stats_step += 1

    def _on_output_raw(self, rec: Any) -> None:
        self.output.append(rec.line)

    def _on_exit(self, rec: Any) -> None:
        self.exit = rec

    def finish(self) -> ImportedRun:
        run = self.run
        run.name = run.name or run.run_id.removeprefix("wandb-")
        run.config = {k: v for k, v in self.config.items() if k != "_wandb"}
        run.summary = _flat_summary(self.summary)
        if self.exit is not None:
            run.exit_code = int(self.exit.exit_code)
            run.state = "finished" if run.exit_code == 0 else "failed"
            if run.created_at is not None and self.exit.runtime:
                run.finished_at = max(run.created_at + self.exit.runtime, self.last_time or 0.0)
        else:
            run.state = "crashed"
        run.finished_at = run.finished_at or self.last_time
        self._add_files()
        return run

    def _add_files(self) -> None:
        files: dict[str, Path] = {}  # a later segment's copy of a file wins
        for folder in self.segments:
            root = folder / "files"
            if root.is_dir():
                for path in sorted(root.rglob("*")):
                    rel = path.relative_to(root)
                    if path.is_file() and rel.parts[0] != "media":
                        files[rel.as_posix()] = path
        for name, path in files.items():
            self.run.add_file(name, path)
        names = set(files)
        if self.output and "output.log" not in names:
            self.run.add_file("output.log", "".join(self.output).encode())


def _flat_summary(summary: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """wandb's summary without internal keys and media; nested dicts as ``a/b`` keys."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if not prefix and key in INTERNAL_KEYS:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            if "_type" not in value:
                out.update(_flat_summary(value, f"{name}/"))
        elif isinstance(value, float) and not math.isfinite(value):
            out[name] = value
        elif isinstance(value, (bool, int, float, str)):
            out[name] = value
    return out


def read_run(folders: Path | Sequence[Path], project: str | None = None, system: bool = True,
             report: ImportReport | None = None) -> ImportedRun:
    """Read one wandb run (its folder, or the folders of a resumed run in order)."""
    parts = [folders] if isinstance(folders, Path) else list(folders)
    reader = _Reader(project, system)
    torn: list[int] = []
    for folder in parts:
        log = _log_file(folder)
        if log is None:
            raise UsageError(f"{folder} holds no run-<id>.wandb file")
        reader.start_segment(folder)
        cut: list[int] = []
        for record in iter_records(log, cut):
            reader.feed(record)
        if cut:
            torn.append(cut[0])
    if not reader.run.run_id:
        raise UsageError(f"{parts[0]} has no run record")
    run = reader.finish()
    if report is not None:
        label = parts[0].name
        if torn:
            report.notes.append(f"{label}: the log ends in a torn record at byte "
                                f"{torn[0]}; what came before it was imported")
        if reader.left_out:
            report.notes.append(f"{label}: left out {', '.join(sorted(reader.left_out))}")
    return run
