"""Two training runs, then an analysis with wandb.Api(): runs, history, scan_history, summary."""

import json

import wandb

for lr in (0.1, 0.3):
    with wandb.init(project="analysis", name=f"lr-{lr}", config={"lr": lr}) as run:
        loss = 1.0
        for _step in range(20):
            loss *= 1 - lr / 2
            run.log({"loss": loss, "acc": 1 - loss})
        run.summary["final_loss"] = loss

api = wandb.Api()
runs = api.runs("my-team/analysis")
report = {}
for r in runs:
    frame = r.history(keys=["loss"], pandas=True)
    rows = list(r.scan_history(keys=["acc"]))
    report[r.name] = {
        "id": r.id, "lr": r.config["lr"], "final_loss": r.summary["final_loss"],
        "history_rows": len(frame), "history_min": float(frame["loss"].min()),
        "scan_rows": len(rows), "scan_last_acc": rows[-1]["acc"], "state": r.state,
    }
best = min(runs, key=lambda r: r.summary["final_loss"])
one = api.run(f"my-team/analysis/{best.id}")
print("RESULT " + json.dumps({"runs": report, "best": best.name, "best_by_path": one.name}))
