"""Every database operation of sweeps, in one class: :class:`SweepIndex`.

Its methods take and return plain JSON-able data (str, numbers, dicts, lists), so the
team server can offer the same calls over HTTP. There is no controller process:
:meth:`SweepIndex.claim` reads the sweep's trials, asks the search method for the next
parameters and records the new trial in one write transaction (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL ``SELECT ... FOR UPDATE`` on the sweep row), so any number of
agents can share a sweep without running a grid point twice.
"""

from __future__ import annotations

import math
import os
import random
import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, select, update

from labtrack._jsonsafe import float_in, to_jsonable
from labtrack._names import new_run_id
from labtrack.errors import ConflictError, NotFoundError, UsageError
from labtrack.store import query, schema
from labtrack.sweeps.config import SweepConfig, load_sweep_config
from labtrack.sweeps.search import Trial, next_params
from labtrack.sweeps.tables import SWEEP_STATES, sweep_runs, sweeps

if TYPE_CHECKING:
    from labtrack.store.sql import SQLStore

runs, projects = schema.runs, schema.projects

# state changes allowed by pause / resume / stop: target -> allowed current states
_TRANSITIONS = {
    "paused": ("running",),
    "running": ("paused", "stopped"),
    "stopped": ("running", "paused"),
}


class SweepIndex:
    """Sweeps and their trials in a store (see the module docstring)."""

    def __init__(self, store: SQLStore) -> None:
        self.store = store

    # -- sweeps --------------------------------------------------------------------
    def create(self, config: dict[str, Any], project: str, *, name: str | None = None,
               description: str | None = None) -> dict[str, Any]:
        """Record a new sweep (``config`` is validated first) and return it as a dict.

        Raises:
            ConfigError: the config is invalid; the message names the key at fault.
        """
        parsed = load_sweep_config(config)
        now = time.time()
        row = {
            "id": new_run_id(),
            "project": project,
            "name": name or parsed.name,
            "description": description or parsed.description,
            "method": parsed.method,
            "config": to_jsonable(parsed.raw),
            "state": "running",
            "created_at": now,
            "updated_at": now,
        }
        with self.store.write() as conn:
            conn.execute(insert(sweeps).values(**row))
        return self.get(row["id"])

    def get(self, sweep_id: str) -> dict[str, Any]:
        """One sweep: id, project, name, description, method, config, state, times, counts.

        Raises:
            NotFoundError: no sweep with this id.
        """
        with self.store.read() as conn:
            row = conn.execute(select(sweeps).where(sweeps.c.id == sweep_id)).first()
            if row is None:
                raise NotFoundError(f"no sweep with id {sweep_id!r} (see `labtrack sweep ls`)")
            counts = self._counts(conn, [sweep_id], time.time())
        return self._sweep_dict(dict(row._mapping), counts.get(sweep_id, {}))

    def list_sweeps(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every sweep (of ``project`` if given), newest first, with run counts by state."""
        stmt = select(sweeps).order_by(sweeps.c.created_at.desc())
        if project is not None:
            stmt = stmt.where(sweeps.c.project == project)
        with self.store.read() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
            counts = self._counts(conn, [r["id"] for r in rows], time.time())
        return [self._sweep_dict(r, counts.get(r["id"], {})) for r in rows]

    def resolve(self, ref: str, project: str | None = None) -> str:
        """A sweep id from an id, ``project/id``, ``entity/project/id``, a unique name or
        an id prefix of at least 4 characters.

        Raises:
            NotFoundError: nothing (or more than one sweep) matches.
        """
        if "/" in ref:
            parts = ref.split("/")
            project, ref = parts[-2] or project, parts[-1]
        base = select(sweeps.c.id)
        if project is not None:
            base = base.where(sweeps.c.project == project)
        with self.store.read() as conn:
            if conn.execute(base.where(sweeps.c.id == ref)).first():
                return ref
            matches = [r[0] for r in conn.execute(base.where(sweeps.c.name == ref).limit(3))]
            if not matches and len(ref) >= 4:
                pattern = ref.replace("%", "").replace("_", "") + "%"
                matches = [r[0] for r in conn.execute(
                    base.where(sweeps.c.id.like(pattern)).limit(3))]
        if len(matches) == 1:
            return str(matches[0])
        where = f" in project {project!r}" if project else ""
        if not matches:
            raise NotFoundError(f"no sweep with id or name {ref!r}{where} "
                                "(see `labtrack sweep ls`)")
        raise NotFoundError(f"{ref!r} matches several sweeps ({', '.join(matches)}); use the id")

    def set_state(self, sweep_id: str, state: str) -> dict[str, Any]:
        """Pause (``paused``), resume (``running``) or stop (``stopped``) a sweep.

        Raises:
            NotFoundError: no such sweep.
            ConflictError: the sweep's current state does not allow it (e.g. finished).
        """
        if state not in _TRANSITIONS:
            raise UsageError(f"cannot set a sweep to {state!r}; use one of "
                             f"{', '.join(sorted(_TRANSITIONS))}")
        with self.store.write() as conn:
            current = conn.execute(select(sweeps.c.state).where(sweeps.c.id == sweep_id)
                                   .with_for_update()).scalar()
            if current is None:
                raise NotFoundError(f"no sweep with id {sweep_id!r} (see `labtrack sweep ls`)")
            if current != state:
                if current not in _TRANSITIONS[state]:
                    raise ConflictError(_refusal(sweep_id, current, state))
                conn.execute(update(sweeps).where(sweeps.c.id == sweep_id)
                             .values(state=state, updated_at=time.time()))
        return self.get(sweep_id)

    # -- trials ----------------------------------------------------------------------
    def claim(self, sweep_id: str, agent: str | None = None) -> dict[str, Any] | None:
        """Claim the next run of a running sweep: ``{"run_id", "params", "number"}``.

        Returns None when the sweep is not running (paused, stopped) or when the search
        method has nothing left to run; the sweep is then marked finished.

        Raises:
            NotFoundError: no such sweep.
        """
        peek = self.get(sweep_id)
        if peek["state"] != "running":
            return None
        config = load_sweep_config(peek["config"])
        if config.method == "bayes":
            import optuna  # noqa: F401 - import it before taking the write lock

        rng = random.Random()
        with self.store.write() as conn:
            state = conn.execute(select(sweeps.c.state).where(sweeps.c.id == sweep_id)
                                 .with_for_update()).scalar()
            if state != "running":
                return None
            now = time.time()
            trials = self._trials(conn, sweep_id, config, now)
            params = next_params(config, [_as_trial(t) for t in trials], rng)
            if params is None:
                conn.execute(update(sweeps).where(sweeps.c.id == sweep_id)
                             .values(state="finished", updated_at=now))
                return None
            number = 1 + max((t["number"] for t in trials), default=0)
            claimed = {"run_id": new_run_id(), "params": to_jsonable(params), "number": number}
            conn.execute(insert(sweep_runs).values(
                sweep_id=sweep_id, claimed_at=now,
                agent=agent or f"{socket.gethostname()}:{os.getpid()}", **claimed))
            conn.execute(update(sweeps).where(sweeps.c.id == sweep_id).values(updated_at=now))
        return claimed

    def trials(self, sweep_id: str) -> list[dict[str, Any]]:
        """Every trial of a sweep in claim order.

        Each is ``{"run_id", "number", "params", "claimed_at", "name", "state", "value",
        "summary", "created_at", "finished_at"}``; ``state`` is the run's (``crashed``
        when its heartbeat is stale; a claimed run that never started is ``running``
        until the heartbeat timeout, then ``crashed``) and ``value`` the run's summary
        value of the sweep's metric (None without a metric or a value).

        Raises:
            NotFoundError: no such sweep.
        """
        config = load_sweep_config(self.get(sweep_id)["config"])
        with self.store.read() as conn:
            return self._trials(conn, sweep_id, config, time.time())

    def metric_at(self, sweep_id: str, key: str, iterations: Sequence[int]
                  ) -> dict[str, dict[str, Any]]:
        """The values of metric ``key`` at given history indices, for every run of a sweep.

        Returns ``{run_id: {"count": n, "values": {"<i>": value}}}`` where ``n`` is the
        number of values the run logged and ``values`` holds index ``i`` for each
        requested ``i < n`` (None for NaN). This is what hyperband needs, without
        sending whole histories.
        """
        with self.store.read() as conn:
            ids = [r[0] for r in conn.execute(
                select(sweep_runs.c.run_id).where(sweep_runs.c.sweep_id == sweep_id))]
        if not ids:
            return {}
        points = self.store.read_many(ids, [key])
        out: dict[str, dict[str, Any]] = {}
        for (run_id, _), pts in points.items():
            values = pts.values
            n = len(values)
            picked = {}
            for i in iterations:
                if 0 <= i < n:
                    v = float(values[i])
                    picked[str(i)] = None if math.isnan(v) else v
            out[run_id] = {"count": n, "values": picked}
        return out

    # -- internals ---------------------------------------------------------------------
    def _trials(self, conn: Connection, sweep_id: str, config: SweepConfig,
                now: float) -> list[dict[str, Any]]:
        timeout = self.store.heartbeat_timeout
        state = query.effective_state(now, timeout).label("state")
        stmt = (
            select(sweep_runs.c.run_id, sweep_runs.c.number, sweep_runs.c.params,
                   sweep_runs.c.claimed_at, runs.c.name, runs.c.summary, runs.c.created_at,
                   runs.c.finished_at, runs.c.id.label("started"), state)
            .select_from(sweep_runs.outerjoin(runs, runs.c.id == sweep_runs.c.run_id))
            .where(sweep_runs.c.sweep_id == sweep_id)
            .order_by(sweep_runs.c.number)
        )
        metric = config.metric.name if config.metric else None
        out = []
        for r in conn.execute(stmt):
            row = dict(r._mapping)
            started = row.pop("started") is not None
            if not started:
                row["state"] = "running" if now - row["claimed_at"] < timeout else "crashed"
            summary = {k: float_in(v) for k, v in (row.get("summary") or {}).items()}
            row["summary"] = summary
            row["value"] = _number(summary.get(metric)) if metric else None
            out.append(row)
        return out

    def _counts(self, conn: Connection, ids: Sequence[str], now: float
                ) -> dict[str, dict[str, int]]:
        if not ids:
            return {}
        timeout = self.store.heartbeat_timeout
        stmt = (
            select(sweep_runs.c.sweep_id, query.effective_state(now, timeout),
                   sweep_runs.c.claimed_at, runs.c.id)
            .select_from(sweep_runs.outerjoin(runs, runs.c.id == sweep_runs.c.run_id))
            .where(sweep_runs.c.sweep_id.in_(list(ids)))
        )
        out: dict[str, dict[str, int]] = {}
        for sweep_id, st, claimed_at, run_id in conn.execute(stmt):
            if run_id is None:  # claimed, not started yet (as in _trials)
                st = "running" if now - claimed_at < timeout else "crashed"
            bucket = out.setdefault(sweep_id, {})
            bucket[st] = bucket.get(st, 0) + 1
        return out

    @staticmethod
    def _sweep_dict(row: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
        row["run_count"] = sum(counts.values())
        row["runs_by_state"] = dict(sorted(counts.items()))
        return row


def _refusal(sweep_id: str, current: str, target: str) -> str:
    verb = {"paused": "pause", "running": "resume", "stopped": "stop"}[target]
    if current == "finished":
        return f"sweep {sweep_id} is finished: its search has nothing left to run; cannot {verb} it"
    return f"cannot {verb} sweep {sweep_id}: it is {current}"


def _number(value: Any) -> float | None:
    """A finite metric value, or None (not logged, not a number, NaN or infinite)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _as_trial(t: dict[str, Any]) -> Trial:
    return Trial(params=t["params"], state=t["state"], value=t["value"], run_id=t["run_id"])


__all__ = ["SWEEP_STATES", "SweepIndex"]
