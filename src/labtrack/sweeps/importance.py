"""Which parameters matter: random-forest importance and rank correlation with the metric.

Imported only by ``labtrack sweep show`` and the UI (numpy, scikit-learn and scipy are
imported inside the functions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from labtrack.sweeps._sampling import value_key

#: fewer finished runs with a metric value than this give no importance
MIN_RUNS = 3


def parameter_importance(
    rows: Sequence[dict[str, Any]], value_key_name: str = "value", seed: int = 0
) -> list[dict[str, Any]]:
    """Importance and correlation of each parameter to the metric.

    Args:
        rows: one dict per run: ``{"params": {flat name: value}, "value": metric}``;
            runs whose value is None are left out.
        value_key_name: the key of the metric value in each row.
        seed: random state of the forest (results are reproducible).

    Returns:
        One dict per parameter that varies, most important first:
        ``{"param", "importance", "correlation", "kind", "runs"}``. ``importance`` is
        scikit-learn's impurity-based feature importance of a random forest that
        predicts the metric from all parameters (they sum to 1; None with fewer than
        ``MIN_RUNS`` runs); ``correlation`` is Spearman's rank correlation of a numeric
        parameter with the metric (None for categorical parameters or when undefined).
        Categorical values are one-hot encoded and their importances summed.
    """
    usable = [r for r in rows if _finite(r.get(value_key_name))]
    names = sorted({k for r in usable for k in r["params"]})
    columns: dict[str, list[Any]] = {n: [r["params"].get(n) for r in usable] for n in names}
    varying = [n for n in names if len({value_key(v) for v in columns[n]}) > 1]
    y = [float(r[value_key_name]) for r in usable]
    importances = _forest(columns, varying, y, seed) if len(usable) >= MIN_RUNS else {}
    out = []
    for name in varying:
        numeric = all(_finite(v) or isinstance(v, bool) for v in columns[name])
        out.append({
            "param": name,
            "importance": importances.get(name),
            "correlation": _spearman(columns[name], y) if numeric else None,
            "kind": "numeric" if numeric else "categorical",
            "runs": len(usable),
        })
    out.sort(key=lambda d: (-(d["importance"] or 0.0), d["param"]))
    return out


def _forest(columns: dict[str, list[Any]], names: list[str], y: list[float],
            seed: int) -> dict[str, float]:
    if not names:
        return {}
    import numpy as np
    from sklearn.ensemble import RandomForestRegressor

    features: list[list[float]] = []
    owners: list[str] = []
    for name in names:
        values = columns[name]
        if all(_finite(v) or isinstance(v, bool) for v in values):
            features.append([float(v) for v in values])
            owners.append(name)
            continue
        for level in sorted({value_key(v) for v in values}):  # one-hot
            features.append([1.0 if value_key(v) == level else 0.0 for v in values])
            owners.append(name)
    x = np.array(features, dtype=float).T
    target = np.array(y, dtype=float)
    if float(np.ptp(target)) == 0.0:
        return dict.fromkeys(names, 0.0)
    model = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1)
    model.fit(x, target)
    out = dict.fromkeys(names, 0.0)
    for owner, weight in zip(owners, model.feature_importances_, strict=True):
        out[owner] += float(weight)
    return out


def _spearman(values: Sequence[Any], y: Sequence[float]) -> float | None:
    import numpy as np
    from scipy.stats import rankdata

    a = rankdata([float(v) for v in values])
    b = rankdata(y)
    if np.std(a) == 0 or np.std(b) == 0:
        return None
    r = float(np.corrcoef(a, b)[0, 1])
    return r if math.isfinite(r) else None


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
