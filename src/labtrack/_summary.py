"""``run.summary`` and ``define_metric``: one value per metric that sums the run up.

By default the summary of a metric is its last value; ``define_metric`` picks
min, max, mean, first, last, best (by ``goal``) or none for names matching a
glob. A value set explicitly (``run.summary["best_acc"] = 0.97``) wins over
the computed one.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from ._jsonsafe import float_out, to_jsonable
from .errors import UsageError

SUMMARY_MODES = {"min", "max", "mean", "last", "first", "best", "none", "copy"}
GOALS = {"minimize", "maximize", None}


class _Plain:
    """Value-like classes without ``@dataclass``, which builds their methods with
    ``exec`` when the module is imported (~0.7 ms a class, inside a process's first
    run): repr and equality from the instance's attributes."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value


class MetricDef(_Plain):
    """A ``define_metric`` rule."""

    def __init__(self, name: str, step_metric: str | None = None, summary: str | None = None,
                 goal: str | None = None, hidden: bool = False) -> None:
        self.name = name
        self.step_metric = step_metric
        self.summary = summary
        self.goal = goal
        self.hidden = hidden

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v not in (None, False)}


class Stats(_Plain):
    """Running statistics of one series, kept by the writer."""

    def __init__(self, count: int = 0, first: float = math.nan, last: float = math.nan,
                 min: float = math.inf, max: float = -math.inf, total: float = 0.0,
                 finite: int = 0, last_step: int = -1, kind: str = "float",
                 backwards: bool = False, extra: dict[str, Any] | None = None) -> None:
        self.count = count
        self.first = first
        self.last = last
        self.min = min
        self.max = max
        self.total = total
        self.finite = finite
        self.last_step = last_step
        self.kind = kind
        self.backwards = backwards
        self.extra: dict[str, Any] = {} if extra is None else extra

    def fold(self, values: Any, last_step: int,
             stats: tuple[float | None, float | None, float, int]) -> None:
        """Fold new values (any sequence) into the stats, given the (min, max, sum,
        count) of their finite ones (:func:`~labtrack.store.chunks.finite_stats`)."""
        n = len(values)
        if n == 0:
            return
        if self.count == 0:
            self.first = float(values[0])
        self.last = float(values[-1])
        lo, hi, total, finite = stats
        if finite:
            self.min = min(self.min, float(lo))  # type: ignore[arg-type]
            self.max = max(self.max, float(hi))  # type: ignore[arg-type]
            self.total += total
            self.finite += finite
        self.count += n
        self.last_step = last_step

    def value(self, mode: str, goal: str | None) -> Any:
        if mode == "best":
            mode = "max" if goal == "maximize" else "min"
        if mode == "min":
            return self.min if self.finite else self.last
        if mode == "max":
            return self.max if self.finite else self.last
        if mode == "mean":
            return self.total / self.finite if self.finite else math.nan
        if mode == "first":
            return self.first
        return self.last


class MetricDefs:
    """The ``define_metric`` rules of a run, matched by exact name first, then glob."""

    def __init__(self) -> None:
        self.rules: dict[str, MetricDef] = {}

    def define(self, name: str, step_metric: str | None = None, summary: str | None = None,
               goal: str | None = None, hidden: bool = False, **ignored: Any) -> MetricDef:
        if not isinstance(name, str) or not name:
            raise UsageError("define_metric needs a metric name such as 'val/loss' or 'val/*'")
        if summary is not None:
            modes = [m.strip() for m in str(summary).split(",") if m.strip()]
            bad = [m for m in modes if m not in SUMMARY_MODES]
            if bad:
                raise UsageError(
                    f"define_metric({name!r}, summary={summary!r}): unknown summary "
                    f"{bad[0]!r}; use one of {', '.join(sorted(SUMMARY_MODES))}"
                )
            summary = modes[0] if modes else None
        if goal is not None:
            goal = {"min": "minimize", "max": "maximize"}.get(goal, goal)
            if goal not in GOALS:
                raise UsageError(
                    f"define_metric goal must be 'minimize' or 'maximize', not {goal!r}")
        rule = MetricDef(name, step_metric, summary, goal, hidden)
        self.rules[name] = rule
        return rule

    def match(self, key: str) -> MetricDef | None:
        rule = self.rules.get(key)
        if rule is not None:
            return rule
        for pattern, candidate in self.rules.items():
            if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(key, pattern):
                return candidate
        return None

    def as_dict(self) -> dict[str, Any]:
        return {name: rule.as_dict() for name, rule in self.rules.items()}

    def load(self, data: Mapping[str, Any]) -> None:
        for name, rule in data.items():
            self.define(name, **{k: v for k, v in rule.items() if k != "name"})


def compute_summary(stats: Mapping[str, Stats], defs: MetricDefs,
                    explicit: Mapping[str, Any]) -> dict[str, Any]:
    """The summary dict: computed values per metric, then explicit values on top."""
    out: dict[str, Any] = {}
    for key, st in stats.items():
        if st.count == 0 or key.startswith("system/"):
            continue
        rule = defs.match(key)
        mode = (rule.summary if rule and rule.summary else "last")
        if mode == "none":
            continue
        value = st.value(mode, rule.goal if rule else None)
        if st.kind == "int" and mode in ("min", "max", "first", "last") and math.isfinite(value):
            value = int(value)
        elif st.kind == "bool" and mode in ("first", "last") and math.isfinite(value):
            value = bool(value)
        out[key] = value
    out.update(explicit)
    return out


class Summary(MutableMapping[str, Any]):
    """A run's summary; reading it includes metrics logged so far."""

    def __init__(self, compute: Callable[[], dict[str, Any]], on_change: Callable[[], None]):
        self._explicit: dict[str, Any] = {}
        self._compute = compute
        self._on_change = on_change

    def _view(self) -> dict[str, Any]:
        return self._compute()

    def __getitem__(self, key: str) -> Any:
        return self._view()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"summary keys must be strings, not {type(key).__name__}")
        self._explicit[key] = value
        self._on_change()

    def __delitem__(self, key: str) -> None:
        if key not in self._explicit:
            raise KeyError(f"{key!r} is not an explicitly set summary value")
        del self._explicit[key]
        self._on_change()

    def __iter__(self) -> Iterator[str]:
        return iter(self._view())

    def __len__(self) -> int:
        return len(self._view())

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._view()[key]
        except KeyError:
            raise AttributeError(f"summary has no key {key!r}") from None

    def __repr__(self) -> str:
        return f"Summary({self._view()!r})"

    def update(self, values: Any = None, **kwargs: Any) -> None:  # type: ignore[override]
        for key, value in {**dict(values or {}), **kwargs}.items():
            if not isinstance(key, str):
                raise TypeError(f"summary keys must be strings, not {type(key).__name__}")
            self._explicit[key] = value
        self._on_change()

    @property
    def explicit(self) -> dict[str, Any]:
        return self._explicit


def jsonable_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Strict-JSON form of a summary (NaN/inf as strings)."""
    return {k: float_out(v) if isinstance(v, float) else to_jsonable(v)
            for k, v in summary.items()}
