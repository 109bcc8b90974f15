"""The public sweep API: ``labtrack.sweep``, ``labtrack.agent``, ``Api.sweep``/``Api.sweeps``.

They mirror wandb's: ``sweep_id = labtrack.sweep(config, project="p")`` then
``labtrack.agent(sweep_id, function=train, count=10)``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labtrack.settings import Settings
from labtrack.sweeps.config import check_program, load_sweep_config

if TYPE_CHECKING:
    from labtrack.api import Api, ApiRun
    from labtrack.sweeps.agent import AgentReport


def sweep(
    sweep: Mapping[str, Any] | str | os.PathLike[str],
    entity: str | None = None,
    project: str | None = None,
    prior_runs: Any = None,
    *,
    dir: str | os.PathLike[str] | None = None,
) -> str:
    """Create a sweep and return its id.

    Args:
        sweep: the sweep config: a dict (wandb's format), a YAML/JSON file path or
            YAML text.
        entity: accepted for wandb compatibility and ignored.
        project: project of the sweep's runs (default: the config's ``project``, then
            ``LABTRACK_PROJECT``, then "uncategorized").
        prior_runs: not supported; must be None.
        dir: store directory (default ``LABTRACK_DIR`` or ``~/.labtrack``).

    Raises:
        ConfigError: the config is invalid (the message names the key at fault), or its
            ``program`` is not found in the current directory.
    """
    from labtrack.errors import UsageError
    from labtrack.sweeps.remote import open_index

    if prior_runs:
        raise UsageError("prior_runs is not supported by labtrack.sweep()")
    config = load_sweep_config(sweep if isinstance(sweep, (Mapping, str)) else Path(sweep))
    if config.program is not None:
        check_program(config, Path.cwd())
    settings = Settings()
    name = project or config.project or settings.project
    index = open_index(dir)  # the team server when LABTRACK_URL is set
    try:
        created = index.create(config.raw, name)
    finally:
        index.store.close()
    if not settings.silent:
        import sys

        print(f"labtrack: created sweep {created['id']} in project {name}; run agents with "
              f"`labtrack agent {created['id']}`", file=sys.stderr)
    return str(created["id"])


def agent(
    sweep_id: str,
    function: Callable[[], Any] | None = None,
    entity: str | None = None,
    project: str | None = None,
    count: int | None = None,
    *,
    dir: str | os.PathLike[str] | None = None,
) -> AgentReport:
    """Run a sweep agent in this process until ``count`` runs or the end of the sweep.

    With ``function``, each run calls it in this process: inside it,
    ``labtrack.init()`` returns the sweep's run, whose ``config`` holds the parameters
    (they win over ``init(config=...)`` defaults); an exception marks that run failed
    and the agent goes on. Without ``function``, the sweep's ``program`` runs as a
    command per run (as ``labtrack agent`` does).

    Args:
        sweep_id: the sweep's id (``project/id`` and ``entity/project/id`` work too).
        function: the training function, called with no arguments.
        entity: accepted for wandb compatibility and ignored.
        project: project to look the sweep up in.
        count: the most runs to start (default: until the sweep has nothing left).
        dir: store directory (default ``LABTRACK_DIR`` or ``~/.labtrack``).

    Returns:
        An :class:`~labtrack.sweeps.agent.AgentReport`: the runs started and why the
        agent stopped (wandb returns None; code that ignores the result works the same).
    """
    from labtrack.sweeps.agent import Agent

    return Agent(sweep_id, function, count=count, project=project, dir=dir).run()


class ApiSweep:
    """A sweep read back through ``labtrack.Api().sweep(path)``, wandb-shaped."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self._row = row

    id = property(lambda self: self._row["id"])
    name = property(lambda self: self._row["name"] or self._row["id"])
    project = property(lambda self: self._row["project"])
    state = property(lambda self: self._row["state"])
    config = property(lambda self: self._row["config"])
    method = property(lambda self: self._row["method"])
    created_at = property(lambda self: self._row["created_at"])

    @property
    def path(self) -> list[str]:
        return [self.project, self.id]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:8765/sweeps/{self.id}"

    @property
    def runs(self) -> list[ApiRun]:
        """The sweep's runs that have started, in claim order."""
        from labtrack.api import ApiRun
        from labtrack.sweeps.remote import index_for

        order = [t["run_id"] for t in index_for(self._api.store).trials(self.id)]
        rows = {r["id"]: r for r in self._api.store.runs(ids=order)}
        return [ApiRun(self._api, rows[i]) for i in order if i in rows]

    def best_run(self, order: str | None = None) -> ApiRun | None:
        """The run with the best metric value (or the best by ``order``, e.g.
        ``"-summary.acc"``), None when no run has one."""
        from labtrack.api import ApiRun
        from labtrack.sweeps.results import sweep_summary

        if order is not None:
            rows = self._api.store.runs(filter=f'sweep == "{self.id}"', order=order, limit=1)
            return ApiRun(self._api, rows[0]) if rows else None
        best = sweep_summary(self._api.store, self.id)["best"]
        if best is None:
            return None
        return ApiRun(self._api, self._api.store.get_run(best["run_id"]), full=True)

    def summary(self) -> dict[str, Any]:
        """Progress and best run (see :func:`labtrack.sweeps.results.sweep_summary`)."""
        from labtrack.sweeps.results import sweep_summary

        return sweep_summary(self._api.store, self.id)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._row)

    def __repr__(self) -> str:
        return f"<ApiSweep {self.project}/{self.id} ({self.state})>"


def api_sweep(api: Api, path: str) -> ApiSweep:
    """``Api.sweep(path)``: one sweep by id, ``project/id``, ``entity/project/id`` or name.

    Raises:
        NotFoundError: no such sweep.
    """
    from labtrack.sweeps.remote import index_for

    index = index_for(api.store)
    return ApiSweep(api, index.get(index.resolve(path)))


def api_sweeps(api: Api, project: str | None = None) -> list[ApiSweep]:
    """``Api.sweeps(project)``: the sweeps of a project (all when None), newest first."""
    from labtrack.sweeps.remote import index_for

    if project and "/" in project:
        project = project.rsplit("/", 1)[1]
    return [ApiSweep(api, row) for row in index_for(api.store).list_sweeps(project)]
