"""Hugging Face Transformers: report_to="labtrack" and LabtrackCallback with a real Trainer on a
tiny BERT built from a config in code (no download), on CPU."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import labtrack

torch = pytest.importorskip("torch")
pytest.importorskip("accelerate")  # the Trainer needs it
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")


class Tokens(torch.utils.data.Dataset):  # type: ignore[misc]
    def __init__(self, n: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.x = torch.randint(0, 32, (n, 8), generator=gen)
        self.y = (self.x[:, 0] > 15).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {"input_ids": self.x[i], "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.y[i]}


def _trainer(out: Path, report_to: str, callbacks: list[Any] | None = None) -> Any:
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=32,
                                     max_position_embeddings=16)
    model = transformers.BertForSequenceClassification(config)
    args = transformers.TrainingArguments(
        output_dir=str(out), max_steps=6, per_device_train_batch_size=8, logging_steps=2,
        eval_strategy="steps", eval_steps=3, save_strategy="no", report_to=report_to,
        use_cpu=True, run_name="tiny-bert", learning_rate=1e-3, disable_tqdm=True)
    return transformers.Trainer(model=model, args=args, train_dataset=Tokens(64, 1),
                                eval_dataset=Tokens(16, 2), callbacks=callbacks)


def test_report_to_labtrack_logs_args_metrics_summary_and_final_model(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import labtrack.integrations.transformers  # noqa: F401 - registers report_to="labtrack"

    monkeypatch.setenv("LABTRACK_LOG_MODEL", "true")
    trainer = _trainer(tmp_path / "out", "labtrack")
    trainer.train()
    run_id = labtrack.run.id
    labtrack.finish()

    run = labtrack.Api().run(run_id)
    assert run.name == "tiny-bert"
    assert run.config["learning_rate"] == 1e-3 and run.config["max_steps"] == 6
    assert run.config["model"]["hidden_size"] == 16
    assert run.config["model/num_parameters"] == trainer.model.num_parameters()
    history = trainer.state.log_history
    train_logs = [h for h in history if "loss" in h]
    eval_logs = [h for h in history if "eval_loss" in h]
    loss = run.series("train/loss")
    assert loss.steps.tolist() == [h["step"] for h in train_logs]
    assert loss.values.tolist() == pytest.approx([h["loss"] for h in train_logs])
    evals = run.series("eval/loss")
    assert evals.steps.tolist() == [h["step"] for h in eval_logs]
    assert evals.values.tolist() == pytest.approx([h["eval_loss"] for h in eval_logs])
    final = history[-1]
    assert run.summary["train_loss"] == pytest.approx(final["train_loss"])
    assert run.summary["train_runtime"] == pytest.approx(final["train_runtime"])
    assert "train/train_runtime" not in run.keys()

    model = labtrack.Api().artifact(f"uncategorized/model-{run_id}:final")
    assert {e["path"] for e in model.manifest} >= {"config.json", "model.safetensors"}
    restored = transformers.BertForSequenceClassification.from_pretrained(
        model.download(tmp_path / "dl"))
    batch = Tokens(4, 3)[0]
    trainer.model.eval()
    with torch.no_grad():
        expected = trainer.model(input_ids=batch["input_ids"][None]).logits
        got = restored(input_ids=batch["input_ids"][None]).logits
    torch.testing.assert_close(got, expected)


def test_callback_logs_into_the_active_run(tmp_path: Path) -> None:
    from labtrack.integrations.transformers import LabtrackCallback

    run = labtrack.init(project="hf")
    trainer = _trainer(tmp_path / "out", "none", callbacks=[LabtrackCallback()])
    trainer.train()
    metrics = trainer.evaluate()
    run.finish()
    logged = labtrack.Api().run(run.id)
    assert logged.project == "hf"
    evals = logged.series("eval/loss")
    assert evals.values.tolist()[-1] == pytest.approx(metrics["eval_loss"])
    with pytest.raises(labtrack.NotFoundError):  # log_model is off
        labtrack.Api().artifacts(name=f"hf/model-{run.id}")
