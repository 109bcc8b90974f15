"""A per-request view of the Store that enforces a team-server user's project roles.

Routes use ``svc.store`` as usual; on the team server that is a
:class:`ScopedStore`, so listing never shows projects the user is not a member
of, reading needs ``reader``, logging and editing need ``writer``, deleting
needs ``admin``. Attributes it does not wrap (``read``/``write`` transactions
of feature indexes) pass through; those routes check the project themselves
through :meth:`require`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..errors import NotFoundError
from ..runlog import Record
from .auth import AuthService, User


class ScopedStore:
    """``base`` as seen by ``user``."""

    def __init__(self, base: Any, auth: AuthService, user: User) -> None:
        self.base = base
        self.auth = auth
        self.user = user
        self._visible: set[str] | None | bool = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    # -- checks ---------------------------------------------------------------------
    def visible(self) -> set[str] | None:
        if self._visible is False:
            self._visible = self.auth.visible_projects(self.user)
        return self._visible  # type: ignore[return-value]

    def require(self, project: str, need: str = "reader") -> None:
        self.auth.require(self.user, project, need)

    def _run_project(self, run_id: str, need: str) -> str:
        project = self.base.get_run(run_id)["project"]
        self.require(project, need)
        return str(project)

    # -- reads ----------------------------------------------------------------------
    def projects(self) -> list[dict[str, Any]]:
        visible = self.visible()
        rows = self.base.projects()
        return rows if visible is None else [p for p in rows if p["name"] in visible]

    def runs(self, project: str | None = None, filter: str | None = None,
             order: str | None = None, limit: int | None = None, offset: int = 0,
             ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        if project is not None:
            self.require(project)
            within = None
        else:
            within = self.visible()
        return self.base.runs(project=project, filter=filter, order=order,  # type: ignore
                              limit=limit, offset=offset, ids=ids, within=within)

    def count_runs(self, project: str | None = None, filter: str | None = None) -> int:
        if project is not None:
            self.require(project)
            return int(self.base.count_runs(project, filter))
        return int(self.base.count_runs(project, filter, within=self.visible()))

    def get_run(self, run_id: str) -> dict[str, Any]:
        run = self.base.get_run(run_id)
        self.require(run["project"])
        return run  # type: ignore[no-any-return]

    def resolve_run(self, ref: str, project: str | None = None) -> str:
        run_id = str(self.base.resolve_run(ref, project))
        self.get_run(run_id)
        return run_id

    def series(self, run_id: str) -> list[dict[str, Any]]:
        self._run_project(run_id, "reader")
        return self.base.series(run_id)  # type: ignore[no-any-return]

    def read_series(self, run_id: str, key: str) -> Any:
        self._run_project(run_id, "reader")
        return self.base.read_series(run_id, key)

    def read_many(self, run_ids: Sequence[str], keys: Sequence[str]) -> Any:
        for run_id in set(run_ids):
            self._run_project(run_id, "reader")
        return self.base.read_many(run_ids, keys)

    def files(self, run_id: str) -> list[dict[str, Any]]:
        self._run_project(run_id, "reader")
        return self.base.files(run_id)  # type: ignore[no-any-return]

    def media(self, run_id: str, key: str | None = None) -> list[dict[str, Any]]:
        self._run_project(run_id, "reader")
        return self.base.media(run_id, key)  # type: ignore[no-any-return]

    # -- writes ---------------------------------------------------------------------
    def update_run(self, run_id: str, **fields: Any) -> None:
        self._run_project(run_id, "writer")
        self.base.update_run(run_id, **fields)

    def delete_run(self, run_id: str) -> None:
        self._run_project(run_id, "admin")
        self.base.delete_run(run_id)

    def heartbeat(self, run_id: str, when: float) -> None:
        self._run_project(run_id, "writer")
        self.base.heartbeat(run_id, when)

    def _project_if_any(self, run_id: str) -> str | None:
        """The run's project, or None for a run the index does not have yet."""
        try:
            return str(self.base.get_run(run_id)["project"])
        except NotFoundError:
            return None

    def last_seq(self, run_id: str, stream: str = "main") -> int:
        project = self._project_if_any(run_id)
        if project is None:
            return -1  # a new run: nothing applied yet
        self.require(project, "writer")
        return int(self.base.last_seq(run_id, stream))

    def apply(self, run_id: str, records: Sequence[Record], stream: str = "main") -> int:
        """Log records: writer on the run's project; a new project is claimed by its
        first writer; moving a run to another project needs writer there too."""
        existing = self._project_if_any(run_id)
        if existing is not None:
            self.require(existing, "writer")
        targets = {str((r.header.get("run") or {}).get("project") or "")
                   for r in records if r.header.get("run")}
        targets |= {str(r.header["run_update"]["project"]) for r in records
                    if (r.header.get("run_update") or {}).get("project")}
        for project in sorted(t for t in targets if t):
            if not self.auth.members(project):
                self.auth.claim_project(self.user, project)
            self.require(project, "writer")
        return int(self.base.apply(run_id, records, stream))
