"""``wandb.Api`` as the shim offers it: :class:`labtrack.Api` with wandb's defaults.

The differences from :class:`labtrack.Api`, so that wandb analysis scripts read
what they expect:

* ``runs(path=...)`` takes wandb's ``path`` (``"entity/project"``) and ``filters``
  (a MongoDB-style dict) and lists the oldest run first (wandb's ``+created_at``);
* ``run.history()`` returns a pandas DataFrame of at most 500 sampled rows
  (wandb's ``samples=500, pandas=True``); a list of dicts when pandas is missing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from labtrack.api import Api as _Api
from labtrack.api import ApiRun as _ApiRun


class Run(_ApiRun):
    """A logged run, read through ``wandb.Api()`` (``wandb.apis.public.Run``)."""

    # wandb's parameter order, which differs from labtrack.api.ApiRun.history's
    def history(self, samples: int | None = 500,  # type: ignore[override]
                keys: Sequence[str] | None = None, x_axis: str = "_step",  # type: ignore[override]
                pandas: bool | None = True, stream: str = "default") -> Any:
        """Rows of metrics by step, sampled to at most ``samples`` rows.

        Returns a pandas DataFrame when ``pandas`` is true and pandas is installed,
        else a list of dicts.
        """
        if pandas:
            try:
                import pandas as pd  # noqa: F401
            except ImportError:
                pandas = False
        return super().history(keys=keys, samples=samples, pandas=bool(pandas),
                               x_axis=x_axis, stream=stream)

    def scan_history(self, keys: Sequence[str] | None = None, page_size: int = 1000,
                     min_step: int | None = None, max_step: int | None = None
                     ) -> Iterator[dict[str, Any]]:
        """Every row as a dict, unsampled (an iterator), as wandb's ``scan_history``."""
        for row in _ApiRun.history(self, keys=keys):
            if min_step is not None and row["_step"] < min_step:
                continue
            if max_step is not None and row["_step"] >= max_step:
                continue
            yield row


class Api(_Api):
    """``wandb.Api()``: read runs, histories and artifacts from the labtrack store.

    Args:
        overrides: wandb's ``{"entity": ..., "project": ...}``; ``project`` is the
            default for :meth:`runs`.
        timeout, api_key: accepted and ignored (the store is local).
    """

    def __init__(self, overrides: dict[str, Any] | None = None, timeout: int | None = None,
                 api_key: str | None = None, dir: Any = None, **kwargs: Any) -> None:
        super().__init__(dir=dir)
        self._default_project = (overrides or {}).get("project")

    def runs(self, path: str | None = None,  # type: ignore[override]  # wandb's order
             filters: dict[str, Any] | str | None = None, order: str = "+created_at",
             per_page: int = 50, include_sweeps: bool = True, **kwargs: Any) -> list[Run]:
        """The runs of ``path`` ("entity/project" or "project") matching ``filters``."""
        project = kwargs.pop("project", None) or path or self._default_project
        rows = super().runs(project=project, filter=filters, order=order or None, **kwargs)
        return [Run(self, r.as_dict()) for r in rows]

    def run(self, path: str) -> Run:
        """One run by "entity/project/run_id", "project/run_id" or id."""
        found = super().run(path)
        return Run(self, found.as_dict(), full=True)


__all__ = ["Api", "Run"]
