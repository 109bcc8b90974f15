"""Reading a live block's YAML: checked keys, typed values, and the runs it names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from ..errors import UsageError


class BlockError(UsageError):
    """A block that cannot be drawn; the message is shown in its place."""


def parse_yaml(kind: str, source: str) -> dict[str, Any]:
    """The block's YAML as a dict (an empty block is ``{}``)."""
    import yaml

    try:
        data = yaml.safe_load(source) if source.strip() else {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or str(err)
        raise BlockError(f"the block's YAML does not parse{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BlockError("the block's YAML must be a mapping of keys to values, e.g. "
                         "'metrics: [loss]'")
    return {str(k): v for k, v in data.items()}


def check_keys(spec: dict[str, Any], allowed: Iterable[str]) -> None:
    """Refuse unknown keys, suggesting the closest allowed one (typos are common)."""
    allowed = list(allowed)
    for key in spec:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise BlockError(f"unknown key {key!r}{hint} (keys: {', '.join(allowed)})")


def str_list(spec: dict[str, Any], key: str, default: list[str] | None = None) -> list[str]:
    """A key holding a name or a list of names, as a list of strings."""
    value = spec.get(key)
    if value is None:
        return list(default or [])
    if isinstance(value, (str, int, float)):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        return [str(v) for v in value]
    raise BlockError(f"{key!r} must be a name or a list of names")


def number(spec: dict[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    value = spec.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BlockError(f"{key!r} must be a number between {lo:g} and {hi:g}")
    if not lo <= float(value) <= hi:
        raise BlockError(f"{key!r} must be between {lo:g} and {hi:g}, not {value}")
    return float(value)


def integer(spec: dict[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    return int(number(spec, key, default, lo, hi))


def flag(spec: dict[str, Any], key: str, default: bool = False) -> bool:
    value = spec.get(key, default)
    if not isinstance(value, bool):
        raise BlockError(f"{key!r} must be true or false")
    return value


def text(spec: dict[str, Any], key: str, default: str | None = None) -> str | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise BlockError(f"{key!r} must be text")
    return str(value)


RUN_KEYS = ("runs", "filter", "sort", "limit", "project")


def select_runs(store: Any, project: str, spec: dict[str, Any], default_limit: int,
                max_limit: int = 500) -> list[dict[str, Any]]:
    """The runs a block names, as store rows.

    ``runs`` is a list of run ids (or unique names, or id prefixes) kept in that
    order, or a filter expression (``runs: 'config.lr < 0.01'``; ``filter:`` says
    the same). Without either: the project's runs. ``sort`` orders a filtered
    selection (``-summary.acc``; default newest first) and ``limit`` caps it.
    """
    project = text(spec, "project", project) or project
    limit = integer(spec, "limit", default_limit, 1, max_limit)
    sort = text(spec, "sort")
    runs = spec.get("runs")
    expression = text(spec, "filter")
    if isinstance(runs, list):
        if expression:
            raise BlockError("give 'runs' as a list of ids or a 'filter', not both")
        refs = str_list(spec, "runs")
        if not refs:
            raise BlockError("'runs' is an empty list")
        ids = list(dict.fromkeys(store.resolve_run(ref, project) for ref in refs[:max_limit]))
        if sort:
            return store.runs(ids=ids, order=sort)  # type: ignore[no-any-return]
        found = {r["id"]: r for r in store.runs(ids=ids)}
        return [found[i] for i in ids if i in found]
    if runs is not None:
        if not isinstance(runs, str):
            raise BlockError("'runs' must be a filter expression or a list of run ids")
        if expression:
            raise BlockError("give the filter in 'runs' or in 'filter', not both")
        expression = runs
    rows: list[dict[str, Any]] = store.runs(project, filter=expression or None, order=sort,
                                            limit=limit)
    return rows


def require_project(store: Any, project: str) -> None:
    """On the team server, check that the user may read ``project`` (a no-op locally)."""
    check = getattr(store, "require", None)
    if callable(check):
        check(project)


def run_ref(row: dict[str, Any]) -> dict[str, Any]:
    """What a drawn block needs to name a run."""
    return {"id": row["id"], "name": row["name"], "state": row.get("state")}
