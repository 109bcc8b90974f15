"""Config set several ways, summary values, run identity and files kept with wandb.save."""

import json
import os
from types import SimpleNamespace

import wandb

defaults = SimpleNamespace(lr=0.01, batch_size=32, optimizer="adam")
run = wandb.init(project="config-demo", entity="research-team", name="cfg-run",
                 config=vars(defaults), tags=["demo"], notes="config and summary",
                 group="exp-1", job_type="train", save_code=True, anonymous="allow",
                 settings=wandb.Settings(start_method="thread", console="off"))
wandb.config.update({"lr": 0.02, "scheduler": "cosine"}, allow_val_change=True)
wandb.config.epochs = 3
wandb.config["dropout"] = 0.1
wandb.config.update({"layers": [64, 32]})
for epoch in range(wandb.config.epochs):
    wandb.log({"loss": 1.0 / (epoch + 1), "lr": wandb.config.lr * 0.5 ** epoch})
wandb.summary["best_loss"] = 1.0 / wandb.config.epochs
wandb.summary.update({"status": "converged", "params": 12345})
run.summary["identity"] = {"name": run.name, "id": run.id, "project": run.project}

with open("metrics.json", "w") as f:
    json.dump({"final_loss": 1.0 / 3}, f)
with open("notes.txt", "w") as f:
    f.write("kept with the run\n")
wandb.save("metrics.json")
wandb.save("*.txt")
info = {"name": run.name, "id": run.id, "project": run.project, "url": run.url,
        "dir": str(run.dir), "dir_exists": os.path.isdir(run.dir),
        "config": dict(wandb.config), "entity": run.entity}
wandb.finish()
print("RESULT " + json.dumps(info))
