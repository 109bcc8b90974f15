"""PyTorch Lightning: LabtrackLogger with a real Trainer (CPU): hyperparameters, metrics at the
global step, and ModelCheckpoint files as model artifact versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import labtrack

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning",
                                      "ignore::FutureWarning")  # Lightning-internal notices


class Classifier(L.LightningModule):
    def __init__(self, lr: float = 0.1, hidden: int = 8) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, 2))

    def training_step(self, batch: Any, index: int) -> Any:
        loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, index: int) -> None:
        loss = torch.nn.functional.cross_entropy(self.net(batch[0]), batch[1])
        self.log("val_loss", loss)

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader() -> Any:
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(96, 4, generator=gen)
    y = (X[:, 0] > 0).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=16)


def _trainer(logger: Any, callbacks: list[Any], root: Path) -> Any:
    return L.Trainer(max_epochs=3, logger=logger, callbacks=callbacks, log_every_n_steps=2,
                     enable_progress_bar=False, enable_model_summary=False,
                     accelerator="cpu", default_root_dir=str(root))


def _csv_metrics(folder: Path, key: str) -> list[tuple[int, float]]:
    """(step, value) of one metric as Lightning's own CSVLogger wrote them."""
    import csv

    (path,) = folder.rglob("metrics.csv")
    with open(path) as fh:
        return [(int(r["step"]), float(r[key])) for r in csv.DictReader(fh) if r.get(key)]


def test_hyperparameters_metrics_and_best_checkpoints(tmp_path: Path) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    from labtrack.integrations.lightning import LabtrackLogger

    torch.manual_seed(0)
    logger = LabtrackLogger(project="pl", name="tiny", tags=["cpu"], log_model=True)
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", monitor="val_loss", save_top_k=2)
    model = Classifier(lr=0.05, hidden=6)
    reference = CSVLogger(tmp_path / "csv")  # what Lightning itself logs, to compare with
    _trainer([logger, reference], [checkpoint], tmp_path).fit(model, _loader(), _loader())
    run_id = logger.version
    assert logger.name == "pl"
    assert labtrack.run is not None and labtrack.run.id == run_id  # open for trainer.test()
    labtrack.finish()

    run = labtrack.Api().run(run_id)
    assert run.name == "tiny" and run.tags == ["cpu"]
    assert run.config == {"lr": 0.05, "hidden": 6}
    for key in ("val_loss", "train_loss"):
        series = run.series(key)
        assert list(zip(series.steps.tolist(), series.values.tolist(), strict=True)) == [
            (step, pytest.approx(v)) for step, v in _csv_metrics(tmp_path / "csv", key)]
    assert len(run.series("val_loss").steps) == 3
    assert run.series("epoch").values.max() == 2

    versions = labtrack.Api().artifacts(name=f"pl/model-{run_id}")
    assert {Path(v.manifest[0]["path"]).name for v in versions} == {
        Path(p).name for p in checkpoint.best_k_models}
    best = labtrack.Api().artifact(f"pl/model-{run_id}:best")
    assert best.manifest[0]["path"] == Path(checkpoint.best_model_path).name
    restored = torch.load(best.file(tmp_path / "dl"), weights_only=False)
    assert restored["hyper_parameters"] == {"lr": 0.05, "hidden": 6}


def test_all_mode_logs_each_checkpoint_when_saved(tmp_path: Path) -> None:
    from lightning.pytorch.callbacks import ModelCheckpoint

    from labtrack.integrations.lightning import LabtrackLogger

    run = labtrack.init(project="pl")
    logger = LabtrackLogger(log_model="all", prefix="fold1/")
    checkpoint = ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_epochs=1, save_top_k=-1)
    _trainer(logger, [checkpoint], tmp_path).fit(Classifier(), _loader(), _loader())
    assert logger.version == run.id  # the active run is used
    run.finish()
    logged = labtrack.Api().run(run.id)
    assert "fold1/val_loss" in logged.keys()
    versions = labtrack.Api().artifacts(name=f"pl/model-{run.id}")
    assert len(versions) == 3  # one per epoch


def test_log_model_is_checked() -> None:
    from labtrack.integrations.lightning import LabtrackLogger

    with pytest.raises(ValueError, match="log_model"):
        LabtrackLogger(log_model="best")
