"""A run stopped after 5 steps and resumed by id for 5 more."""

import json

import wandb

run_id = wandb.util.generate_id()
run = wandb.init(project="resume", id=run_id, config={"total": 10})
for step in range(5):
    wandb.log({"value": step * 2.0})
wandb.finish()

run = wandb.init(project="resume", id=run_id, resume="allow")
start = run.step
for step in range(start, 10):
    wandb.log({"value": step * 2.0})
wandb.finish()
print("RESULT " + json.dumps({"id": run_id, "resumed_at": start}))
