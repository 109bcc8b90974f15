"""Keras 3 callback (torch backend): epoch and batch metrics, config, best-model checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import labtrack

pytest.importorskip("torch")
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:keras")  # keras' numpy use


def _model() -> object:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def xy() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4).astype("float32")
    return X, (X[:, 0] + X[:, 1] > 0).astype("float32")


def test_epoch_and_batch_metrics_share_the_batch_axis(xy: tuple[np.ndarray, np.ndarray]
                                                      ) -> None:
    from labtrack.integrations.keras import LabtrackCallback

    X, y = xy
    model = _model()
    history = model.fit(X, y, epochs=4, batch_size=50, validation_split=0.2, verbose=0,
                        callbacks=[LabtrackCallback(project="keras", log_freq="batch")])
    (run,) = labtrack.Api().runs()
    assert run.state == "finished"
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert run.series(key).values.tolist() == pytest.approx(history.history[key]), key
    steps_per_epoch = 160 // 50 + 1  # 4 batches of the 160 training samples
    assert run.series("val_loss").steps.tolist() == [steps_per_epoch * (e + 1)
                                                     for e in range(4)]
    assert run.series("batch/loss").steps.tolist() == list(range(1, 4 * steps_per_epoch + 1))
    assert run.series("epoch").values.tolist() == [0, 1, 2, 3]
    assert run.config["epochs"] == 4 and run.config["steps_per_epoch"] == steps_per_epoch
    assert run.config["optimizer"]["learning_rate"] == pytest.approx(0.02)
    best = min(history.history["val_loss"])
    assert run.summary["best_val_loss"] == pytest.approx(best)
    assert run.summary["best_epoch"] == history.history["val_loss"].index(best)


def test_checkpoints_of_improving_epochs_are_model_versions(
        xy: tuple[np.ndarray, np.ndarray], store_dir: Path) -> None:
    from labtrack.integrations.keras import LabtrackCallback

    X, y = xy
    run = labtrack.init(project="keras")
    model = _model()
    history = model.fit(X, y, epochs=3, batch_size=50, verbose=0,
                        callbacks=[LabtrackCallback(save_model=True, monitor="val_loss")])
    assert labtrack.run is run  # an active run is used and left open
    run.finish()
    losses = history.history["loss"]  # no validation: "loss" is monitored instead
    improving = [e for e, v in enumerate(losses) if v == min(losses[: e + 1])]
    versions = labtrack.Api().artifacts(name=f"keras/model-{run.id}")
    assert len(versions) == len(improving)
    best = labtrack.Api().artifact(f"keras/model-{run.id}:best")
    assert f"epoch-{improving[-1]}" in best.aliases
    restored = keras.saving.load_model(best.file(store_dir.parent / "dl"))
    np.testing.assert_allclose(restored.predict(X[:8], verbose=0),
                               model.predict(X[:8], verbose=0), rtol=1e-5)


def test_log_freq_is_checked() -> None:
    from labtrack.integrations.keras import LabtrackCallback

    with pytest.raises(ValueError, match="log_freq"):
        LabtrackCallback(log_freq="step")
