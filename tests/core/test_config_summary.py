"""run.config and run.summary / define_metric."""

from __future__ import annotations

import argparse
import dataclasses
import warnings

import pytest

import labtrack
from labtrack.errors import UsageError


@dataclasses.dataclass
class Hparams:
    lr: float = 0.1
    depth: int = 3


def test_config_access_and_sources() -> None:
    ns = argparse.Namespace(epochs=5, name="x")
    run = labtrack.init(project="p", config=ns)
    run.config.update(Hparams())
    run.config["opt"] = {"name": "adam", "betas": (0.9, 0.99)}
    assert run.config.epochs == 5 and run.config["lr"] == 0.1
    assert run.config.opt["betas"] == [0.9, 0.99]
    assert "depth" in run.config and len(run.config) == 5
    with pytest.raises(AttributeError, match="no key"):
        _ = run.config.missing
    run.finish()
    cfg = labtrack.Api().run(run.id).config
    assert cfg == {"epochs": 5, "name": "x", "lr": 0.1, "depth": 3,
                   "opt": {"name": "adam", "betas": [0.9, 0.99]}}


def test_config_change_warns_unless_allowed() -> None:
    run = labtrack.init(project="p", config={"lr": 0.1})
    with pytest.warns(UserWarning, match="allow_val_change"):
        run.config.lr = 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.config.update({"lr": 0.3}, allow_val_change=True)
        run.config.lr = 0.3  # same value: no warning
    run.finish()
    assert labtrack.Api().run(run.id).config["lr"] == 0.3


def test_config_rejects_non_string_keys_and_bad_sources() -> None:
    run = labtrack.init(project="p")
    with pytest.raises(TypeError, match="strings"):
        run.config[1] = 2  # type: ignore[index]
    with pytest.raises(TypeError, match="config must be"):
        run.config.update(42)


def test_config_values_that_are_not_json() -> None:
    import numpy as np

    run = labtrack.init(project="p", config={"arr": np.arange(3), "nan": float("nan"),
                                             "obj": object})
    run.finish()
    cfg = labtrack.Api().run(run.id).config
    assert cfg["arr"] == [0, 1, 2] and cfg["nan"] == "NaN" and "object" in cfg["obj"]


def test_define_metric_summaries_and_globs() -> None:
    run = labtrack.init(project="p")
    run.define_metric("val/*", summary="max")
    run.define_metric("train/loss", summary="min")
    run.define_metric("lr", summary="none")
    run.define_metric("mean_me", summary="mean")
    run.define_metric("first_me", summary="first")
    run.define_metric("err", summary="best", goal="minimize")
    for v in (3.0, 1.0, 2.0):
        run.log({"val/acc": v, "train/loss": v, "lr": v, "mean_me": v, "first_me": v, "err": v,
                 "plain": v})
    assert run.summary["val/acc"] == 3.0
    run.summary["plain"] = 42  # explicit wins
    run.finish()
    s = labtrack.Api().run(run.id).summary
    assert s["val/acc"] == 3.0 and s["train/loss"] == 1.0 and "lr" not in s
    assert s["mean_me"] == 2.0 and s["first_me"] == 3.0 and s["err"] == 1.0
    assert s["plain"] == 42


def test_define_metric_bad_arguments() -> None:
    run = labtrack.init(project="p")
    with pytest.raises(UsageError, match="unknown summary"):
        run.define_metric("x", summary="median")
    with pytest.raises(UsageError, match="minimize"):
        run.define_metric("x", goal="up")


def test_define_metric_step_metric_is_stored() -> None:
    run = labtrack.init(project="p")
    run.define_metric("val/*", step_metric="epoch")
    run.log({"epoch": 0, "val/acc": 0.5})
    run.finish()
    defs = labtrack.Api().run(run.id)._details()["metric_defs"]
    assert defs["val/*"]["step_metric"] == "epoch"
