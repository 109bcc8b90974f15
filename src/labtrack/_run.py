"""Run: one tracked execution. ``log``, ``config``, ``summary``, ``finish``; a context manager."""

from __future__ import annotations

import operator
import os
import threading
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from . import _current
from ._config import Config
from ._jsonsafe import to_jsonable
from ._summary import MetricDefs, compute_summary, jsonable_summary
from ._values import FAST_TYPES, flatten
from .errors import UsageError
from .runlog import RunLogWriter
from .settings import Settings
from .writer import Writer

FINAL_STATES = ("finished", "failed", "killed", "crashed", "early_terminated")


class Run:
    """A run being tracked by this process. Made by :func:`labtrack.init`."""

    def __init__(
        self,
        *,
        run_id: str,
        name: str,
        project: str,
        settings: Settings,
        meta: dict[str, Any],
        log: RunLogWriter,
        start_step: int = 0,
        resumed: bool = False,
    ) -> None:
        self._id = run_id
        self._name = name
        self._project = project
        self._settings = settings
        self._meta = meta
        self._lock = threading.RLock()  # finish() from a signal handler may re-enter
        self._dirty: set[str] = {"meta", "config"}
        self._once: dict[str, Any] = {}
        self._step = start_step
        self._max_step = start_step - 1
        self._pending_row: dict[str, Any] | None = None
        self._pending_step = 0
        self._known_keys: set[str] = set()
        self._finished = False
        self._error: str | None = None
        self._exit_state: str | None = None
        self._warned_backwards = False
        self._media_count = 0
        self.resumed = resumed
        self.should_stop = False
        self._monitor_pid: int | None = None  # `labtrack run` points this at its child
        self.defs = MetricDefs()
        self.config = Config(on_change=lambda: self._mark("config"))
        from ._summary import Summary

        self.summary = Summary(self._computed_summary, lambda: self._mark("summary"))
        self._run_dir = settings.runs_dir / run_id
        self._save_patterns: list[tuple[str, str | None]] = []
        make_sink = None
        if settings.mode == "online" and not settings.url:
            from .store import shared_store

            def make_sink() -> Any:
                return shared_store(settings.dir, settings.busy_timeout,
                                    settings.heartbeat_timeout)
        elif settings.url and settings.mode == "online":
            make_sink = _remote_sink_factory(settings)
        self._writer = Writer(
            run_id, log, make_sink, self._header_parts, self._summary_for_writer,
            lambda: self._step, settings.flush_interval, settings.max_buffer,
            stream=settings.run_stream, sink_key=settings.url or str(settings.dir),
        )
        if settings.url and settings.mode == "online":
            from .sync import write_ack

            self._writer.on_applied = lambda seq: write_ack(self._run_dir, settings.run_stream, seq)
        self._rows = self._writer.rows
        self._max_buffer = settings.max_buffer
        self._time = time.time

    # -- identity --------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._id

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        self._meta["name"] = self._name
        self._mark("meta")

    @property
    def project(self) -> str:
        return self._project

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self._meta.get("tags") or ())

    @tags.setter
    def tags(self, value: Any) -> None:
        self._meta["tags"] = [str(t) for t in value]
        self._mark("meta")

    @property
    def notes(self) -> str | None:
        return self._meta.get("notes")

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._meta["notes"] = value
        self._mark("meta")

    @property
    def group(self) -> str | None:
        return self._meta.get("group")

    @property
    def job_type(self) -> str | None:
        return self._meta.get("job_type")

    @property
    def entity(self) -> str | None:
        return self._meta.get("owner")

    @property
    def step(self) -> int:
        """The step the next ``log()`` without ``step=`` will use."""
        return self._step

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def dir(self) -> str:
        """A folder for files to keep with the run (wandb's ``run.dir``): whatever is in it
        at ``finish()`` is saved with the run."""
        path = self._run_dir / "files"
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    @property
    def url(self) -> str:
        """Where the run is shown in the UI (``labtrack ui``) or on the team server."""
        base = (self._settings.url or "http://127.0.0.1:8765").rstrip("/")
        return f"{base}/runs/{self._id}"

    @property
    def path(self) -> str:
        return f"{self._project}/{self._id}"

    @property
    def start_time(self) -> float:
        return float(self._meta.get("created_at", 0.0))

    @property
    def finished(self) -> bool:
        return self._finished

    def __repr__(self) -> str:
        return f"<Run {self._project}/{self._id} {self._name!r}>"

    # -- logging ---------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None,
            commit: bool | None = None, sync: bool | None = None) -> None:
        """Log metrics for one step.

        Args:
            data: ``{"key": number}``; nested dicts become "a/b" keys; media objects
                (``Image``, ``Table`` ...) are stored as media.
            step: the step to log at (default: the next one). As in wandb, an explicit
                step stays open until a later call with another step or ``commit=True``,
                so a following ``log()`` without ``step`` joins it. A step lower than an
                earlier one is kept and its series flagged ``backwards`` (one warning).
            commit: False accumulates into the current step until a later commit.
            sync: accepted for wandb compatibility; ignored.
        Raises:
            TypeError: a value is not a number or media; the message names the key.
            UsageError: the run is finished.
        """
        if self._finished:
            raise UsageError(f"run {self._id} is finished; log() needs an active run "
                             "(call labtrack.init() again to start a new one)")
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                raise TypeError(f"log() takes a dict of metrics, not {type(data).__name__}")
            data = dict(data)
        if (step is None and commit is None and self._pending_row is None
                and self._known_keys.issuperset(data)
                and FAST_TYPES.issuperset(map(type, data.values()))):
            self._rows.append((self._step, self._time(), dict(data)))
            self._step += 1
            if len(self._rows) >= self._max_buffer:
                self._writer.wait_for_room()
            return
        self._log_slow(data, step, commit)

    def _log_slow(self, data: dict[str, Any], step: int | None, commit: bool | None) -> None:
        row: dict[str, Any] = {}
        media: dict[str, Any] = {}
        flatten(data, "", row, media)
        self._known_keys.update(k for k in data if isinstance(k, str) and k in row)
        if step is not None:
            if isinstance(step, bool) or not isinstance(step, int):
                try:
                    step = operator.index(step)  # numpy ints and the like, not "3" or 3.5
                except TypeError:
                    raise TypeError(f"step must be an int, not {type(step).__name__}") from None
            if step < 0:
                raise ValueError(f"step must be >= 0, got {step}")
            if self._pending_row is not None and step != self._pending_step:
                self._commit_pending()
            if step < self._max_step and self._pending_row is None:
                self._note_backwards(step)
            target = step
        else:
            target = self._pending_step if self._pending_row is not None else self._step
        if self._pending_row is None:
            self._pending_row = {}
            self._pending_step = target
        self._pending_row.update(row)
        if media:
            self._log_media(media, target)
        if commit or (commit is None and step is None):
            self._commit_pending()
        elif commit is None:
            self._step = max(self._step, target)  # run.step shows the open step

    def _note_backwards(self, step: int) -> None:
        if not self._warned_backwards:
            self._warned_backwards = True
            warnings.warn(
                f"log(step={step}) is lower than the highest step logged so far "
                f"({self._max_step}); the points are kept and the series is flagged as "
                "going backwards",
                UserWarning,
                stacklevel=4,
            )

    def _commit_pending(self) -> None:
        row, step = self._pending_row, self._pending_step
        self._pending_row = None
        if row is None:
            return
        if row:
            self._rows.append((step, self._time(), row))
            if len(self._rows) >= self._max_buffer:
                self._writer.wait_for_room()
        self._max_step = max(self._max_step, step)
        self._step = max(self._step, step + 1)

    def _log_media(self, media: dict[str, Any], step: int) -> None:
        from .blobs import LocalBlobStore

        blobs = LocalBlobStore(self._settings.blobs_dir)

        def put_blob(data: bytes, ext: str = "") -> str:
            return blobs.put_bytes(data)

        entries = []
        for key, value in media.items():
            if isinstance(value, (list, tuple)):
                items = [v.to_record(put_blob) for v in value]
                record = {"_type": "list", "item_type": items[0].get("_type"), "items": items,
                          "count": len(items)}
            else:
                record = value.to_record(put_blob)
            entries.append({"key": key, "step": step, "record": record})
        with self._lock:
            self._once.setdefault("media", []).extend(entries)
        self._media_count += len(entries)

    def _log_system(self, values: dict[str, float], when: float) -> None:
        """Called by the system monitor thread; system series use the sample index as step."""
        if self._finished:
            return
        step = getattr(self, "_system_step", 0)
        self._system_step = step + 1
        self._rows.append((step, when, dict(values)))

    # -- summary & metrics -----------------------------------------------------
    def define_metric(self, name: str, step_metric: str | None = None,
                      summary: str | None = None, goal: str | None = None,
                      hidden: bool = False, **kwargs: Any) -> Any:
        """Set how a metric (or a glob such as ``"val/*"``) is summarised and charted.

        Args:
            step_metric: another metric to use as its x axis.
            summary: min, max, mean, first, last, best or none.
            goal: minimize or maximize (used by summary="best" and sweeps).
        """
        rule = self.defs.define(name, step_metric, summary, goal, hidden, **kwargs)
        self._mark("defs")
        return rule

    def _computed_summary(self) -> dict[str, Any]:
        self._writer.ingest()
        with self._writer._ingest_lock:
            return compute_summary(self._writer.stats, self.defs, self.summary.explicit)

    def _summary_for_writer(self) -> dict[str, Any]:
        with self._writer._ingest_lock:
            computed = compute_summary(self._writer.stats, self.defs, self.summary.explicit)
        return jsonable_summary(computed)

    # -- the record headers the writer asks for --------------------------------
    def _mark(self, part: str) -> None:
        with self._lock:
            self._dirty.add(part)
        if part == "summary":
            self._writer.summary_dirty = True

    def _header_parts(self) -> dict[str, Any]:
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            once, self._once = self._once, {}
        parts: dict[str, Any] = {}
        if "meta" in dirty:
            if self._settings.run_stream == "main":
                parts["run"] = {k: v for k, v in self._meta.items() if k != "updates"}
                parts["run"]["name"] = self._name
            elif self._meta.get("updates"):
                parts["run_update"] = dict(self._meta["updates"])
        if "config" in dirty:
            parts["config"] = self.config.as_dict()
        if "summary" in dirty:
            parts["summary_explicit"] = jsonable_summary(self.summary.explicit)
        if "defs" in dirty:
            parts["metric_defs"] = self.defs.as_dict()
        parts.update(once)
        return parts

    def _add_event(self, key: str, event: dict[str, Any],
                   json_ready: dict[str, Any] | None = None, now: bool = False) -> None:
        """Append an event (artifact logged/used ...) to the run's next log record.

        ``json_ready``: more fields the caller built as strict JSON already (a manifest of
        10,000 entries), added without another conversion pass. ``now``: write the record
        on this thread before returning (a big event), not on the flusher beside whatever
        the script does next.
        """
        value = to_jsonable(event)
        if json_ready:
            value.update(json_ready)
        with self._lock:
            self._once.setdefault(key, []).append(value)
        if now:
            self._writer.flush_safely()
        else:
            self._writer.wake()

    def _set_once(self, key: str, value: Any, wake: bool = True) -> None:
        with self._lock:
            self._once[key] = value
        if wake:
            self._writer.wake()

    # -- files -----------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], base_path: str | None = None,
             policy: str = "now") -> list[str]:
        """Keep files with the run (content-addressed); globs are expanded.

        Returns the names the files are kept under.
        """
        import glob as globmod

        from .blobs import LocalBlobStore

        pattern = os.fspath(path)
        matches = sorted(globmod.glob(pattern, recursive=True)) if any(
            c in pattern for c in "*?[") else [pattern]
        if policy in ("end", "live"):
            # like wandb: the files may not exist yet; they are saved (again) at finish()
            self._save_patterns.append((pattern, base_path))
            matches = [m for m in matches if os.path.exists(m)]
            if not matches:
                return []
        elif policy == "now_if_any":
            matches = [m for m in matches if os.path.exists(m)]
        elif not matches or not all(os.path.exists(m) for m in matches):
            raise FileNotFoundError(f"save(): no file matches {pattern!r}")
        blobs = LocalBlobStore(self._settings.blobs_dir)
        saved = []
        entries = []
        for match in matches:
            if os.path.isdir(match):
                continue
            name = os.path.relpath(match, base_path) if base_path else os.path.basename(match)
            digest, size = blobs.put_file(match)
            entries.append({"path": name, "digest": digest, "size": size})
            saved.append(name)
        with self._lock:
            self._once.setdefault("files", []).extend(entries)
        self._writer.wake()
        return saved

    def _save_at_finish(self) -> None:
        """Files in run.dir and save(policy="end"/"live") patterns are kept at finish."""
        try:
            for pattern, base in self._save_patterns:
                self.save(pattern, base_path=base, policy="now_if_any")
            files = self._run_dir / "files"
            if files.is_dir() and any(files.iterdir()):
                self.save(str(files / "**" / "*"), base_path=str(files), policy="now_if_any")
        except OSError as err:
            from .writer import _warn

            _warn(f"run {self._id}: could not save files at finish: {err}")

    def _add_file_bytes(self, name: str, data: bytes) -> None:
        from .blobs import LocalBlobStore

        digest = LocalBlobStore(self._settings.blobs_dir).put_bytes(data)
        with self._lock:
            self._once.setdefault("files", []).append(
                {"path": name, "digest": digest, "size": len(data)})

    def set_environment(self, environment: dict[str, Any], json_safe: bool = False) -> None:
        """Record the captured code/environment snapshot (called by the capture thread);
        ``json_safe``: it went through ``to_jsonable`` already."""
        snapshot = environment if json_safe else to_jsonable(environment)
        try:
            from .capture._package_blob import externalize
        except ImportError:
            pass
        else:  # the package list is stored once per package set, not in every run
            snapshot = externalize(snapshot, self._settings.dir)
        # no wake: the snapshot rides with the next flush (within flush_interval, or at
        # finish) instead of costing a short run a record and an index transaction of its own
        self._set_once("environment", snapshot, wake=False)

    # -- lifecycle -------------------------------------------------------------
    def _start(self) -> None:
        self._writer.start()

    def finish(self, exit_code: int | None = None, quiet: bool | None = None) -> None:
        """Flush everything and mark the run finished (or failed if ``exit_code`` != 0).

        Waits at most ``LABTRACK_FINISH_TIMEOUT`` seconds for the index; whatever
        could not reach it is in the run log for ``labtrack sync``.
        """
        if self._finished:
            return
        if self._pending_row is not None:
            self._commit_pending()
        state = self._exit_state or ("finished" if not exit_code else "failed")
        if self.should_stop and state == "finished":
            state = "early_terminated"
        self._save_at_finish()
        capture = getattr(self, "_capture_thread", None)
        if capture is not None:  # short runs: let the environment snapshot land
            capture.join(timeout=min(5.0, self._settings.finish_timeout))
        self._finished = True
        _stop_monitors(self)
        self._set_once("state", {  # no wake: the last flush below takes it
            "state": state, "exit_code": exit_code if exit_code is not None else
            (0 if state in ("finished", "early_terminated") else 1),
            "error": self._error, "finished_at": time.time(),
        }, wake=False)
        ok = self._writer.stop(self._settings.finish_timeout)  # closes the log once done
        _current.forget(self)
        if self._writer.dropped_points:
            from .writer import _warn

            _warn(f"run {self._id}: {self._writer.dropped_points} points could not be written "
                  f"({self._writer.log_error})")
        elif not ok and self._settings.mode == "online":
            from .writer import _warn

            _warn(f"run {self._id}: the index was not fully updated "
                  f"({self._writer.sink_error or 'timed out'}); everything is in the run log. "
                  "Run `labtrack sync` to apply it.")

    def _mark_failed(self, exc: BaseException | None, state: str = "failed") -> None:
        self._exit_state = state
        if exc is not None:
            import traceback

            self._error = "".join(traceback.format_exception(type(exc), exc,
                                                             exc.__traceback__))[-20000:]

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        if exc is not None:
            state = "killed" if isinstance(exc, KeyboardInterrupt) else "failed"
            self._mark_failed(exc, state)
            self.finish(exit_code=1)
        else:
            self.finish()
        return False

    # -- extensions (artifacts, watch ...) are attached by their modules -------
    def __getattr__(self, name: str) -> Any:
        from ._extensions import run_extension

        return run_extension(self, name)


def _stop_monitors(run: Run) -> None:
    for monitor in getattr(run, "_monitors", ()):
        try:
            monitor.stop(1.0)
        except Exception:  # noqa: BLE001 - a monitor must not block finish
            pass


def _remote_sink_factory(settings: Settings) -> Any:
    def make() -> Any:
        from .store.http import HTTPStore

        return HTTPStore(settings.url or "", api_key=settings.api_key,
                         blobs_dir=settings.blobs_dir)

    return make


def run_log_path(settings: Settings, run_id: str, stream: str = "main") -> Path:
    """runs/<id>/run.log for the main stream, runs/<id>/<stream>.log for a side stream."""
    name = "run.log" if stream == "main" else f"{stream}.log"
    return settings.runs_dir / run_id / name
