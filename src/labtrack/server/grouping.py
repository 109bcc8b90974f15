"""Group-by for the runs table: one SQL query groups a project's runs by a config key
(or a run field) and computes count and mean/min/max of summary metrics per group.

The JSON access comes from :class:`labtrack.store.query.Compiler`, the one place
that knows how SQLite and PostgreSQL differ, so this works on both.
"""

from __future__ import annotations

import time
from typing import Any

from ..errors import FilterError, UsageError

GROUPABLE_FIELDS = {"state", "group", "job_type", "host", "owner", "sweep_id", "name",
                    "exit_code", "favorite"}


def _field(column: str) -> Any:
    """A column name as a filter Field: ``config.a.b``, ``summary.<any key>`` or a run field.

    Column names come from the column chooser, not from the filter language, so
    keys holding spaces, quotes or ``<`` need no quoting here.
    """
    from ..filters import Field

    root, _, rest = column.partition(".")
    if root == "summary" and rest:
        return Field(("summary", rest))
    if root == "config" and rest:
        return Field(("config", *rest.split(".")))
    if rest or not root:
        raise FilterError(f"{column!r} is not a column (config.<path>, summary.<key> or a run "
                          "field)", column, 0)
    return Field((root,))


def group_runs(store: Any, project: str, by: str, metrics: list[str],
               filter: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Groups of the project's runs matching ``filter``, largest first.

    Each group: ``{"value", "count", "metrics": {metric: {"mean", "min", "max"}}}``.
    Raises:
        UsageError: ``by`` or a metric is not something that can be grouped/aggregated.
        FilterError: the filter (or a column name) is malformed.
    """
    from sqlalchemy import func, literal, select

    from ..store import query, schema

    runs, projects = schema.runs, schema.projects
    now = time.time()
    comp = query.Compiler(store.dialect, now, store.heartbeat_timeout, by)
    field = _field(by)
    if field.root == "config" and len(field.path) > 1:
        keys = [comp.json_type(field), comp.json_number(field), comp.json_string(field),
                comp.json_bool(field, True)]
    elif field.root in GROUPABLE_FIELDS:
        keys = [literal("column"), literal(None), comp.column(field), literal(False)]
    else:
        raise UsageError(f"cannot group by {by!r}: use a config key such as config.lr, or one of "
                         f"{', '.join(sorted(GROUPABLE_FIELDS))}")
    labels = [k.label(f"g{i}") for i, k in enumerate(keys)]
    aggs: list[Any] = [func.count().label("n")]
    for i, metric in enumerate(metrics):
        mfield = _field(metric)
        if mfield.root == "summary" and len(mfield.path) > 1:
            expr = comp.json_number(mfield)
        elif mfield.root in ("duration", "step", "exit_code"):
            expr = comp.column(mfield)
        else:
            raise UsageError(f"cannot aggregate {metric!r}: use a summary metric such as "
                             "summary.loss, or duration / step")
        aggs += [func.avg(expr).label(f"mean{i}"), func.min(expr).label(f"min{i}"),
                 func.max(expr).label(f"max{i}")]
    where = query.compile_filter(filter, store.dialect, now, store.heartbeat_timeout)
    stmt = (select(*labels, *aggs)
            .select_from(runs.join(projects, projects.c.id == runs.c.project_id))
            .where(projects.c.name == project, where)
            .group_by(*keys).order_by(func.count().desc()).limit(limit))
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for row in rows:
        m = row._mapping
        out.append({
            "value": _group_value(m["g0"], m["g1"], m["g2"], m["g3"]),
            "count": int(m["n"]),
            "metrics": {metric: {"mean": _num(m[f"mean{i}"]), "min": _num(m[f"min{i}"]),
                                 "max": _num(m[f"max{i}"])} for i, metric in enumerate(metrics)},
        })
    return out


def _group_value(kind: Any, number: Any, text: Any, is_true: Any) -> Any:
    if kind in ("true", "false", "boolean"):  # SQLite names both; PostgreSQL says boolean
        return bool(is_true)
    if number is not None:
        return int(number) if kind == "integer" else number
    return text


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value else None
