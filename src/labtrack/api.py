"""``labtrack.Api``: read what was logged (projects, runs, histories), wandb-shaped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .errors import NotFoundError, UsageError


class Api:
    """Read access to a store.

    Args:
        dir: store directory or database URL (default ``LABTRACK_DIR`` or ``~/.labtrack``).
    """

    def __init__(self, dir: str | Path | None = None, overrides: Any = None,
                 **kwargs: Any) -> None:
        from .settings import Settings
        from .store import open_store

        settings = Settings()
        target = str(dir) if dir is not None else None
        url = target if target and target.startswith(("http://", "https://")) else (
            settings.url if target is None else None)
        if url:
            from .store.http import HTTPStore

            self.store: Any = HTTPStore(url, kwargs.get("api_key") or settings.api_key)
        else:
            self.store = open_store(dir)
            self.runs_dir = (Path(dir) if dir is not None and "://" not in str(dir)
                             else settings.dir) / "runs"

    def projects(self) -> list[dict[str, Any]]:
        """Every project: ``{"name", "run_count", "last_activity", "created_at"}``."""
        return self.store.projects()

    def runs(self, project: str | None = None, filter: str | dict[str, Any] | None = None,
             order: str | None = None, per_page: int | None = None,
             limit: int | None = None, filters: Any = None, path: str | None = None,
             **kwargs: Any) -> list[ApiRun]:
        """Runs of a project (all projects when None) matching a filter expression.

        Args:
            project: project name; "entity/project" is accepted (the entity is ignored).
            filter: e.g. ``'config.lr < 0.01 and "baseline" in tags'``.
            order: e.g. ``"-summary.val_acc"`` or ``"created_at"``; default newest first.
        """
        if filters is not None and filter is None:
            filter = filters
        if project is None and path is not None:
            project = path
        if isinstance(filter, dict):
            from .filters.mongo import mongo_to_expression

            filter = mongo_to_expression(filter)
        if project and "/" in project:
            project = project.rsplit("/", 1)[1]
        rows = self.store.runs(project=project, filter=filter, order=order, limit=limit)
        return [ApiRun(self, row) for row in rows]

    def run(self, path: str) -> ApiRun:
        """One run by id, "project/id", unique name, or id prefix."""
        project = None
        ref = path
        if "/" in path:
            parts = path.split("/")
            project, ref = (parts[-2] if len(parts) >= 2 else None), parts[-1]
            if project == "runs":
                project = None
        run_id = self.store.resolve_run(ref, project)
        return ApiRun(self, self.store.get_run(run_id), full=True)

    def close(self) -> None:
        self.store.close()

    def __getattr__(self, name: str) -> Any:
        from ._api_extensions import api_extension

        return api_extension(self, name)


class ApiRun:
    """A logged run as read back from the store."""

    def __init__(self, api: Api, row: dict[str, Any], full: bool = False) -> None:
        self._api = api
        self._row = row
        self._full = full

    def _details(self) -> dict[str, Any]:
        if not self._full:
            self._row = self._api.store.get_run(self.id)
            self._full = True
        return self._row

    id = property(lambda self: self._row["id"])
    name = property(lambda self: self._row["name"])
    project = property(lambda self: self._row["project"])
    state = property(lambda self: self._row["state"])
    config = property(lambda self: self._row["config"])
    summary = property(lambda self: self._row["summary"])
    tags = property(lambda self: list(self._row["tags"]))
    notes = property(lambda self: self._row.get("notes"))
    group = property(lambda self: self._row.get("group"))
    job_type = property(lambda self: self._row.get("job_type"))
    created_at = property(lambda self: self._row["created_at"])
    duration = property(lambda self: self._row.get("duration"))
    sweep_id = property(lambda self: self._row.get("sweep_id"))
    exit_code = property(lambda self: self._row.get("exit_code"))
    entity = property(lambda self: self._row.get("owner"))
    path = property(lambda self: [self.project, self.id])

    @property
    def environment(self) -> dict[str, Any]:
        return self._details().get("environment") or {}

    @property
    def error(self) -> str | None:
        return self._details().get("error")

    @property
    def metadata(self) -> dict[str, Any]:
        return self.environment

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:8765/runs/{self.id}"

    def __repr__(self) -> str:
        return f"<ApiRun {self.project}/{self.id} {self.name!r} ({self.state})>"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._row)

    def keys(self) -> list[str]:
        """The metric keys logged in this run."""
        return [s["key"] for s in self._api.store.series(self.id)]

    def series_info(self) -> list[dict[str, Any]]:
        return self._api.store.series(self.id)

    def update(self, **fields: Any) -> None:
        """Save edits of name, tags, notes or favourite (kept in the run log too)."""
        from .edits import edit_run

        runs_dir = getattr(self._api, "runs_dir", None)
        edit_run(self._api.store, runs_dir, self.id, **fields)
        self._row.update(fields)

    def files(self) -> list[dict[str, Any]]:
        return self._api.store.files(self.id)

    def media(self, key: str | None = None) -> list[dict[str, Any]]:
        return self._api.store.media(self.id, key)

    def _table(self, keys: Sequence[str] | None, system: bool = False
               ) -> tuple[Any, dict[str, Any], Any]:
        import numpy as np

        infos = self._api.store.series(self.id)
        wanted = [s["key"] for s in infos if (keys is None or s["key"] in keys)
                  and (system or keys is not None or not s["key"].startswith("system/"))]
        if keys is not None:
            missing = [k for k in keys if k not in wanted]
            if missing and not wanted:
                return np.zeros(0, dtype=np.int64), {}, np.zeros(0)
        data = self._api.store.read_many([self.id], wanted)
        points = {k: data[(self.id, k)] for k in wanted if (self.id, k) in data}
        if not points:
            return np.zeros(0, dtype=np.int64), {}, np.zeros(0)
        steps = np.unique(np.concatenate([p.steps for p in points.values()]))
        columns: dict[str, Any] = {}
        times = np.full(len(steps), np.nan)
        for key, p in points.items():
            col = np.full(len(steps), np.nan)
            present = np.zeros(len(steps), dtype=bool)
            idx = np.searchsorted(steps, p.steps)
            col[idx] = p.values  # with repeated steps, the last value wins
            present[idx] = True
            times[idx] = p.times
            columns[key] = (col, present)
        return steps, columns, times

    def history(self, keys: Sequence[str] | None = None, samples: int | None = None,
                pandas: bool = False, x_axis: str = "_step", stream: str = "default"
                ) -> Any:
        """Metric rows merged by step: ``[{"_step": 0, "loss": ...}, ...]``.

        Args:
            keys: only these metrics (rows where none of them is set are dropped).
            samples: at most this many rows, evenly spaced.
            pandas: return a pandas DataFrame (needs pandas).
            stream: "system" for the system metrics.
        """
        import numpy as np

        if isinstance(keys, str):
            keys = [keys]
        if stream == "system" and keys is None:
            keys = [s["key"] for s in self._api.store.series(self.id)
                    if s["key"].startswith("system/")]
        steps, columns, times = self._table(keys)
        keep = np.zeros(len(steps), dtype=bool)
        for _, present in columns.values():
            keep |= present
        index = np.nonzero(keep)[0]
        if samples is not None and len(index) > samples > 0:
            index = index[np.linspace(0, len(index) - 1, samples).round().astype(int)]
        start = self.created_at
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                raise UsageError("history(pandas=True) needs pandas: pip install pandas") \
                    from None
            frame = {"_step": steps[index], "_timestamp": times[index],
                     "_runtime": times[index] - start}
            for key, (col, _) in columns.items():
                frame[key] = col[index]
            return pd.DataFrame(frame)
        rows = []
        for i in index:
            row: dict[str, Any] = {"_step": int(steps[i]), "_timestamp": float(times[i]),
                                   "_runtime": float(times[i] - start)}
            for key, (col, present) in columns.items():
                if present[i]:
                    row[key] = float(col[i])
            rows.append(row)
        return rows

    def scan_history(self, keys: Sequence[str] | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None
                     ) -> Iterator[dict[str, Any]]:
        """Every row, unsampled (an iterator)."""
        for row in self.history(keys=keys):
            if min_step is not None and row["_step"] < min_step:
                continue
            if max_step is not None and row["_step"] >= max_step:
                continue
            yield row

    def series(self, key: str) -> Any:
        """All points of one metric as ``(steps, values, times)`` numpy arrays."""
        if key not in self.keys():
            raise NotFoundError(f"run {self.id} has no metric {key!r}")
        return self._api.store.read_series(self.id, key)
