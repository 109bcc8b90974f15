"""The filter language: parse errors with positions, and SQL results equal to Python's answer."""

from __future__ import annotations

import math
from typing import Any

import pytest

import labtrack
from labtrack.errors import FilterError
from labtrack.filters import parse

RUNS = [
    {"name": "resnet-a", "config": {"lr": 0.001, "opt": {"name": "adam"}, "layers": [64, 32],
                                    "bn": True}, "acc": 0.95, "tags": ["baseline"]},
    {"name": "resnet-b", "config": {"lr": 0.01, "opt": {"name": "sgd"}, "layers": [128],
                                    "bn": False}, "acc": 0.91, "tags": ["baseline", "x"]},
    {"name": "vit-a", "config": {"lr": 0.1, "opt": {"name": "sgd"}, "layers": [32],
                                 "bn": True}, "acc": float("nan"), "tags": []},
    {"name": "vit-b", "config": {"lr": "auto", "opt": {"name": "adam"}, "layers": []},
     "acc": 0.5, "tags": ["x"]},
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Four runs logged once for the whole module (queries do not change them)."""
    store = tmp_path_factory.mktemp("filters")
    ids = {}
    mp = pytest.MonkeyPatch()
    mp.setenv("LABTRACK_DISABLE_ENV", "1")
    mp.setenv("LABTRACK_DISABLE_GIT", "1")
    try:
        for spec in RUNS:
            run = labtrack.init(project="f", name=spec["name"], config=spec["config"],
                                tags=spec["tags"], dir=store)
            run.log({"val/acc": spec["acc"]})
            ids[spec["name"]] = run.id
            run.finish(exit_code=1 if spec["name"] == "vit-b" else 0)
    finally:
        mp.undo()
    ids["_dir"] = str(store)
    return ids


@pytest.fixture
def api(runs: dict[str, str]) -> labtrack.Api:
    return labtrack.Api(runs["_dir"])


def _names(api: labtrack.Api, expr: str, **kwargs: Any) -> list[str]:
    return sorted(r.name for r in api.runs("f", filter=expr, **kwargs))


@pytest.mark.parametrize("expr,expected", [
    ("config.lr < 0.05", ["resnet-a", "resnet-b"]),
    ("config.lr >= 0.01", ["resnet-b", "vit-a"]),
    ('config.lr == "auto"', ["vit-b"]),
    ("summary.val/acc > 0.9", ["resnet-a", "resnet-b"]),
    ('summary["val/acc"] <= 0.95', ["resnet-a", "resnet-b", "vit-b"]),
    ('"baseline" in tags', ["resnet-a", "resnet-b"]),
    ('"baseline" not in tags', ["vit-a", "vit-b"]),
    ('config.opt.name == "adam"', ["resnet-a", "vit-b"]),
    ('config.opt.name in ["sgd", "rmsprop"]', ["resnet-b", "vit-a"]),
    ('name ~ "resnet*"', ["resnet-a", "resnet-b"]),
    ('name ~ "*-b"', ["resnet-b", "vit-b"]),
    ('name !~ "vit"', ["resnet-a", "resnet-b"]),
    ("64 in config.layers", ["resnet-a"]),
    ("config.bn == true", ["resnet-a", "vit-a"]),
    ("config.bn == false", ["resnet-b"]),
    ("config.bn == null", ["vit-b"]),
    ('state == "failed"', ["vit-b"]),
    ('state == "finished" and not (config.lr > 0.005)', ["resnet-a"]),
    ('config.lr < 0.005 or "x" in tags', ["resnet-a", "resnet-b", "vit-b"]),
    ("0.05 > config.lr", ["resnet-a", "resnet-b"]),
    ('created_at > "2000-01-01" and duration >= 0', ["resnet-a", "resnet-b", "vit-a", "vit-b"]),
])
def test_filter_results(api: labtrack.Api, expr: str, expected: list[str]) -> None:
    assert _names(api, expr) == expected


def test_nan_never_matches_numeric_comparisons(api: labtrack.Api, runs: dict[str, str]) -> None:
    matched = _names(api, "summary.val/acc < 2") + _names(api, "summary.val/acc > -1")
    assert "vit-a" not in matched
    r = api.run(runs["vit-a"])
    assert math.isnan(r.summary["val/acc"])


def test_sort_orders(api: labtrack.Api) -> None:
    ordered = [r.name for r in api.runs("f", order="-summary.val/acc")]
    assert ordered[:3] == ["resnet-a", "resnet-b", "vit-b"]
    assert [r.name for r in api.runs("f", order="name")] == sorted(
        s["name"] for s in RUNS)


def test_mongo_style_filters(api: labtrack.Api) -> None:
    got = api.runs("f", filters={"config.lr": {"$lt": 0.05}, "tags": "x"})
    assert [r.name for r in got] == ["resnet-b"]


@pytest.mark.parametrize("expr,message,position", [
    ("config.lr <", "expected a field or a value", 11),
    ("config.lr < 0.1 and", "expected a field or a value", 19),
    ("foo == 1", "unknown field 'foo'", 0),
    ('name == "unterminated', "unterminated string", 8),
    ("config.lr 0.1", "expected a comparison operator", 10),
    ("(config.lr < 1", "expected ')'", 14),
    ("config.lr < 1 config.x", "join conditions", 14),
    ("state.x == 1", "has no sub-keys", 0),
    ("1 == 2", "needs a field", 0),
    ("config.a @ 1", "unexpected character '@'", 9),
    ("", "empty filter", 0),
])
def test_parse_errors_carry_positions(expr: str, message: str, position: int) -> None:
    with pytest.raises(FilterError) as info:
        parse(expr)
    assert message in info.value.message
    assert info.value.position == position
    assert "^" in str(info.value) or not expr


def test_compile_errors(api: labtrack.Api) -> None:
    with pytest.raises(FilterError, match="text pattern"):
        api.runs("f", filter="name ~ 3")
    with pytest.raises(FilterError, match="in tags"):
        api.runs("f", filter='tags == "x"')


def test_filters_are_not_evaluated_as_code(api: labtrack.Api, tmp_path: Any) -> None:
    marker = tmp_path / "pwned"
    for evil in [f'__import__("os").system("touch {marker}")', "name == '' ; DROP TABLE runs"]:
        with pytest.raises(FilterError):
            _names(api, evil)
    assert _names(api, "name == \"' OR 1=1 --\"") == []  # values are bound, never spliced
    assert not marker.exists()
    assert len(api.runs("f")) == 4
