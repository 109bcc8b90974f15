"""XGBoost and LightGBM callbacks: every round's eval metrics, feature importance, models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labtrack


@pytest.fixture(scope="module")
def data() -> tuple[Any, ...]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X[:400], y[:400], X[400:], y[400:]


def _series(run: Any, key: str) -> list[float]:
    return run.series(key).values.tolist()  # type: ignore[no-any-return]


def test_xgboost_rounds_importance_and_model(data: tuple[Any, ...], store_dir: Path) -> None:
    xgb = pytest.importorskip("xgboost")
    from labtrack.integrations.xgboost import LabtrackCallback

    X, y, Xv, yv = data
    names = [f"f{i}" for i in range(X.shape[1])]
    dtrain = xgb.DMatrix(X, y, feature_names=names)
    dval = xgb.DMatrix(Xv, yv, feature_names=names)
    result: dict[str, Any] = {}
    booster = xgb.train({"objective": "binary:logistic", "eval_metric": ["logloss", "auc"],
                         "max_depth": 3, "eta": 0.3}, dtrain, 40,
                        evals=[(dtrain, "train"), (dval, "val")], evals_result=result,
                        early_stopping_rounds=5, verbose_eval=False,
                        callbacks=[LabtrackCallback(project="xgb", log_model=True)])
    (run,) = labtrack.Api().runs()
    assert run.state == "finished"  # the callback started the run, so it finished it
    for data_name in ("train", "val"):
        for metric in ("logloss", "auc"):
            key = f"{data_name}-{metric}"
            assert _series(run, key) == pytest.approx(result[data_name][metric])
            assert run.series(key).steps.tolist() == list(range(len(result["val"]["auc"])))
    assert run.summary["best_iteration"] == booster.best_iteration
    assert run.summary["best_score"] == pytest.approx(booster.best_score)
    assert run.config["xgboost"]["learner"]["objective"]["name"] == "binary:logistic"

    media = {m["key"]: m["record"] for m in run.media()}
    table = media["feature_importance/table"]
    gain = booster.get_score(importance_type="gain")
    rows = table["data"]
    assert {r[0]: r[1] for r in rows} == pytest.approx(gain)
    assert [r[1] for r in rows] == sorted((r[1] for r in rows), reverse=True)
    assert media["feature_importance/chart"]["_type"] == "plot"

    model = labtrack.Api().artifact(f"xgb/model-{run.id}")
    assert model.type == "model"
    loaded = xgb.Booster()
    loaded.load_model(model.file(store_dir.parent / "download"))
    np.testing.assert_allclose(loaded.predict(dval), booster.predict(dval), rtol=1e-6)


def test_lightgbm_iterations_params_summary_and_cv(data: tuple[Any, ...],
                                                    store_dir: Path) -> None:
    lgb = pytest.importorskip("lightgbm")
    from labtrack.integrations.lightgbm import labtrack_callback, log_summary

    X, y, Xv, yv = data
    dtrain = lgb.Dataset(X, y)
    dval = lgb.Dataset(Xv, yv, reference=dtrain)
    record: dict[str, Any] = {}
    params = {"objective": "binary", "metric": ["binary_logloss", "auc"], "verbose": -1,
              "num_leaves": 7, "learning_rate": 0.2}
    run = labtrack.init(project="lgb")
    booster = lgb.train(params, dtrain, 60, valid_sets=[dtrain, dval],
                        valid_names=["train", "val"],
                        callbacks=[labtrack_callback(), lgb.record_evaluation(record),
                                   lgb.early_stopping(5, verbose=False)])
    log_summary(booster, save_model=True)
    run.finish()
    logged = labtrack.Api().run(run.id)
    n = len(record["val"]["auc"])
    assert _series(logged, "val_auc") == pytest.approx(record["val"]["auc"])
    assert _series(logged, "train_binary_logloss") == pytest.approx(
        record["train"]["binary_logloss"])
    assert logged.series("val_auc").steps.tolist() == list(range(n))
    assert logged.config["num_leaves"] == 7 and logged.config["learning_rate"] == 0.2
    assert logged.summary["best_iteration"] == booster.best_iteration
    assert logged.summary["best/val_auc"] == pytest.approx(booster.best_score["val"]["auc"])
    rows = {m["key"]: m["record"] for m in logged.media()}["feature_importance/table"]["data"]
    gains = booster.feature_importance("gain")
    assert {r[0]: r[1] for r in rows} == pytest.approx(dict(zip(booster.feature_name(),
                                                                gains.tolist(), strict=True)))
    model = labtrack.Api().artifact(f"lgb/model-{run.id}")
    reloaded = lgb.Booster(model_file=model.file(store_dir.parent / "download"))
    np.testing.assert_allclose(reloaded.predict(Xv), booster.predict(Xv))

    cv_run = labtrack.init(project="lgb")
    cv = lgb.cv({"objective": "binary", "metric": "auc", "verbose": -1}, lgb.Dataset(X, y),
                num_boost_round=5, nfold=3, callbacks=[labtrack_callback()])
    cv_run.finish()
    cv_logged = labtrack.Api().run(cv_run.id)
    assert _series(cv_logged, "valid_auc") == pytest.approx(cv["valid auc-mean"])
    assert _series(cv_logged, "valid_auc_stdv") == pytest.approx(cv["valid auc-stdv"])
