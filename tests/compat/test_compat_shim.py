"""The ``wandb`` shim package: its names, submodules, and the features it says it lacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import labtrack
from labtrack.compat import shim_dir
from labtrack.compat.errors import UnsupportedError


def test_shim_dir_holds_only_the_wandb_package() -> None:
    entries = [p.name for p in Path(shim_dir()).iterdir() if p.name != "__pycache__"]
    assert entries == ["wandb"]
    assert (Path(shim_dir()) / "wandb" / "__init__.py").is_file()


def test_import_wandb_is_light_and_starts_nothing(tmp_path: Path) -> None:
    code = """
import json, sys, threading
import wandb
heavy = [m for m in ("numpy", "sqlalchemy", "pandas", "torch", "sklearn", "plotly", "PIL",
                     "fastapi") if m in sys.modules]
print(json.dumps({"file": wandb.__file__, "version": wandb.__version__, "heavy": heavy,
                  "threads": threading.active_count(), "run": wandb.run}))
"""
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": shim_dir(),
           "LABTRACK_DIR": str(tmp_path / "never")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout
    data = json.loads(out)
    assert data["file"].startswith(shim_dir())
    assert re.fullmatch(r"\d+\.\d+\.\d+", data["version"])
    assert data["heavy"] == [] and data["threads"] == 1 and data["run"] is None
    assert not (tmp_path / "never").exists()


def test_every_exported_name_resolves(shim: ModuleType) -> None:
    assert shim.__all__ == sorted(shim.__all__)
    for name in shim.__all__:
        if name != "run":
            assert getattr(shim, name) is not None, name
    assert shim.Table is labtrack.Table and shim.Histogram is labtrack.Histogram
    assert shim.Artifact is labtrack.Artifact and shim.sweep is labtrack.sweep
    assert shim.config is labtrack.config and shim.log is labtrack.log


def test_wandb_run_follows_init_and_finish(shim: ModuleType, store_dir: Path) -> None:
    shim.config.update({"early": 1})  # before init: kept for the next run, as wandb does
    assert shim.run is None
    run = shim.init(project="shim", config={"lr": 0.1})
    assert shim.run is run and run.config["early"] == 1
    shim.log({"loss": 0.5})
    shim.summary["best"] = 0.5
    shim.finish()
    assert shim.run is None
    got = shim.Api().run(f"team/shim/{run.id}")
    assert got.config == {"early": 1, "lr": 0.1} and got.summary == {"loss": 0.5, "best": 0.5}


def test_unknown_names_fail_naming_the_wandb_feature(shim: ModuleType) -> None:
    with pytest.raises(AttributeError, match=r"wandb\.Molecule3000 is not supported by labtrack"):
        shim.Molecule3000  # noqa: B018
    assert not hasattr(shim, "jupyter_magic")
    with pytest.raises(AttributeError, match=r"wandb\.plot\.plot_3d is not supported"):
        shim.plot.plot_3d  # noqa: B018
    with pytest.raises(AttributeError, match=r"wandb\.util\.make_tarfile is not supported"):
        shim.util.make_tarfile  # noqa: B018


@pytest.mark.parametrize("name", ["Molecule", "Graph", "Bokeh", "JoinedTable",
                                  "PartitionedTable", "ImageMask", "BoundingBoxes2D"])
def test_unsupported_media_types_raise_when_made(shim: ModuleType, name: str) -> None:
    cls = getattr(shim, name)
    assert isinstance(cls, type) and cls is getattr(labtrack, name)
    with pytest.raises(UnsupportedError, match=rf"wandb\.{name} is not supported by labtrack"):
        cls("anything")


def test_unsupported_calls_raise_catchable_wandb_errors(shim: ModuleType) -> None:
    for call in (shim.controller, shim.visualize, shim.plot_table, shim.tensorboard.patch,
                 shim.sklearn.plot_learning_curve):
        with pytest.raises(shim.Error, match="is not supported by labtrack"):
            call()
    with pytest.raises(shim.errors.UsageError):
        shim.controller()


def test_submodules_integrations_import(shim: ModuleType) -> None:
    import wandb.wandb_run
    from wandb.apis.public import Api, Run
    from wandb.sdk import Settings, init
    from wandb.sdk.lib import RunDisabled
    from wandb.sdk.wandb_run import Run as SdkRun

    assert Api is shim.Api and issubclass(Run, labtrack.api.ApiRun)
    assert Settings is shim.Settings and init is shim.init
    assert SdkRun is wandb.wandb_run.Run is labtrack.Run is shim.Run
    assert RunDisabled.__name__ == "DisabledRun"
    assert shim.sdk.Artifact is labtrack.Artifact
    assert shim.errors.CommError is labtrack.errors.StoreError
    assert shim.apis.PublicApi is Api
    assert shim.data_types.Image is labtrack.Image
    assert re.fullmatch(r"[a-z0-9]{8}", shim.util.generate_id())
    assert re.fullmatch(r"[a-z0-9]{8}", labtrack.util.generate_id())


@pytest.mark.parametrize("name", ["wandb.integration.keras", "wandb.integration.lightgbm",
                                  "wandb.integration.xgboost", "wandb.keras"])
def test_unsupported_integrations_raise_import_error(shim: ModuleType, name: str) -> None:
    import importlib

    with pytest.raises(ImportError, match=rf"{re.escape(name)} is not supported by labtrack"):
        importlib.import_module(name)


def test_helpers_are_harmless(shim: ModuleType, store_dir: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert shim.login(key="not-needed", relogin=True) is True
    shim.setup()
    shim.require("core")
    run = shim.init(project="h")
    shim.termlog("hello")
    shim.termwarn("careful")
    shim.termerror("broken")
    with pytest.warns(UserWarning, match="sends no notification"):
        shim.alert(title="Low accuracy", text="acc=0.1", level=shim.AlertLevel.WARN)
    shim.mark_preempting()
    shim.teardown()
    assert run.finished
    err = capsys.readouterr().err
    for line in ("hello", "WARNING careful", "ERROR broken", "ALERT [WARN] Low accuracy: acc=0.1"):
        assert line in err


def test_plotly_figures_and_classes(shim: ModuleType, store_dir: Path) -> None:
    import numpy as np
    import plotly.graph_objects as go

    run = shim.init(project="m")
    classes = shim.Classes([{"id": 0, "name": "bg"}, {"id": 1, "name": "cat"}])
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[1:3, 1:3] = 1
    shim.log({"fig": shim.Plotly(go.Figure(go.Bar(x=["a", "b"], y=[2, 5]))),
              "seg": shim.Image(np.zeros((4, 4, 3), dtype=np.uint8), classes=classes,
                                masks={"pred": {"mask_data": mask,
                                                "class_labels": {0: "bg", 1: "cat"}}})})
    run.finish()
    media = {m["key"]: m["record"] for m in shim.Api().run(run.id).media()}
    assert media["fig"]["kind"] == "plotly" and media["fig"]["figure"]["data"][0]["y"] == [2, 5]
    assert media["seg"]["classes"][1] == {"id": 1, "name": "cat"}


def test_save_log_code_and_restore(shim: ModuleType, store_dir: Path, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    project = tmp_path / "proj"
    (project / "pkg").mkdir(parents=True)
    (project / ".venv" / "lib").mkdir(parents=True)
    (project / "train.py").write_text("print('train')\n")
    (project / "pkg" / "model.py").write_text("W = 1\n")
    (project / "pkg" / "data.csv").write_text("a,b\n")
    (project / ".venv" / "lib" / "site.py").write_text("# not ours\n")
    monkeypatch.chdir(project)
    run = shim.init(project="code")
    assert sorted(shim.log_code(".")) == ["pkg/model.py", "train.py"]
    (project / "weights.txt").write_text("0.5\n")
    shim.save("weights.txt")
    run.finish()
    assert {f["path"] for f in shim.Api().run(run.id).files()} >= {
        "pkg/model.py", "train.py", "weights.txt"}
    (project / "weights.txt").unlink()
    restored = shim.restore("weights.txt", run_path=f"code/{run.id}", root=str(tmp_path / "r"))
    assert restored is not None and restored.read() == "0.5\n"
    restored.close()
    assert shim.restore("missing.txt", run_path=run.id) is None


def test_object3d_is_stored_for_download(shim: ModuleType, store_dir: Path,
                                         tmp_path: Path) -> None:
    import numpy as np

    from labtrack.blobs import LocalBlobStore

    points = np.random.default_rng(0).normal(size=(50, 3))
    obj = tmp_path / "cube.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    run = shim.init(project="3d")
    with pytest.warns(UserWarning, match="does not draw 3-D objects"):
        cloud = shim.Object3D(points, caption="cloud")
    shim.log({"cloud": cloud, "mesh": labtrack.Object3D(str(obj)),
              "scene": shim.Object3D({"type": "lidar/beta", "points": points[:5]})})
    run.finish()
    media = {m["key"]: m for m in shim.Api().run(run.id).media()}
    assert {m["kind"] for m in media.values()} == {"object3d"}
    blobs = LocalBlobStore(store_dir / "blobs")
    rec = media["cloud"]["record"]
    assert rec["points"] == 50 and rec["ext"] == "pts.json" and rec["caption"] == "cloud"
    assert np.allclose(json.loads(blobs.get_bytes(rec["digest"])), points)
    assert blobs.get_bytes(media["mesh"]["record"]["digest"]) == obj.read_bytes()
    assert json.loads(blobs.get_bytes(media["scene"]["record"]["digest"]))["type"] == "lidar/beta"
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        shim.Object3D(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="not one of the formats"):
        shim.Object3D(str(tmp_path / "model.fbx"))


def test_sklearn_plots_log_under_wandbs_keys(shim: ModuleType, store_dir: Path) -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LinearRegression, LogisticRegression

    X, y = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    run = shim.init(project="skl")
    names = ["setosa", "versicolor", "virginica"]
    shim.sklearn.plot_confusion_matrix(y, clf.predict(X), names)
    shim.sklearn.plot_roc(y, clf.predict_proba(X), names)
    shim.sklearn.plot_precision_recall(y, clf.predict_proba(X), names)
    shim.sklearn.plot_classifier(clf, X, X, y, y, labels=names,
                                 feature_names=["a", "b", "c", "d"])
    shim.sklearn.plot_class_proportions(y[:100], y[100:], names)
    reg = LinearRegression().fit(X[:, :3], X[:, 3])
    shim.sklearn.plot_regressor(reg, X[:, :3], X[:, :3], X[:, 3], X[:, 3])
    run.finish()
    keys = {m["key"] for m in shim.Api().run(run.id).media()}
    assert {"confusion_matrix", "roc", "pr", "per_class", "calibration", "feature_importances",
            "class_proportions", "pred_vs_actual", "residuals"} <= keys
