"""The public surface: __all__ sorted and complete; importing labtrack has no side effects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import labtrack


def test_all_is_sorted_and_resolves() -> None:
    assert labtrack.__all__ == sorted(labtrack.__all__)
    for name in labtrack.__all__:
        if name == "run":
            assert labtrack.run is None or hasattr(labtrack.run, "log")
            continue
        assert getattr(labtrack, name) is not None, name


def test_import_starts_no_thread_writes_no_file_and_stays_light(tmp_path: Path) -> None:
    code = """
import json, os, sys, threading, time
t = time.perf_counter()
import labtrack
elapsed = time.perf_counter() - t
heavy = [m for m in ("numpy", "sqlalchemy", "pandas", "torch", "optuna", "sklearn", "plotly",
                     "fastapi", "PIL", "psutil") if m in sys.modules]
print(json.dumps({"threads": threading.active_count(), "heavy": heavy,
                  "files": os.listdir(os.environ["LABTRACK_DIR"]) if
                  os.path.exists(os.environ["LABTRACK_DIR"]) else None}))
"""
    env = {"LABTRACK_DIR": str(tmp_path / "never"), "PATH": "/usr/bin:/bin",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    data = json.loads(out)
    assert data == {"threads": 1, "heavy": [], "files": None}


def test_init_does_not_import_torch_for_scalars(tmp_path: Path) -> None:
    code = """
import sys, labtrack
run = labtrack.init(project="p")
run.log({"a": 1.0})
run.finish()
print("torch" in sys.modules)
"""
    env = {"LABTRACK_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "LABTRACK_SILENT": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "False"


def test_wandb_style_import_alias() -> None:
    import labtrack as wandb

    run = wandb.init(project="alias", config={"a": 1})
    wandb.log({"x": 1.0})
    wandb.config.update({"b": 2})
    run.finish()
    r = wandb.Api().runs("alias")[0]
    assert r.config == {"a": 1, "b": 2} and r.summary["x"] == 1.0
    assert json.dumps(r.config)
