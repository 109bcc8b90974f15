"""Training and validation metrics gathered into one step with commit=False."""

import json

import numpy as np
import wandb

run = wandb.init(project="commit", config={"epochs": 5, "batches": 4})
rng = np.random.default_rng(3)
expected = []
for epoch in range(run.config.epochs):
    losses = []
    for _batch in range(run.config.batches):
        loss = float(1.0 / (1 + epoch) + 0.01 * rng.random())
        losses.append(loss)
        wandb.log({"batch_loss": loss}, commit=False)  # overwritten until committed
    wandb.log({"train_loss": float(np.mean(losses))}, commit=False)
    val = float(0.9 / (1 + epoch))
    wandb.log({"val_loss": val, "epoch": epoch})  # commits one row per epoch
    expected.append({"train_loss": float(np.mean(losses)), "val_loss": val,
                     "batch_loss": losses[-1]})
# wandb: with step= and no commit=, the step stays open until another step is logged,
# so "late_extra" (no step) joins step 10 and commits it; "final" lands on step 11
run.log({"late": 1.0}, step=10)
run.log({"late_extra": 2.0})
run.log({"final": 3.0})
run.finish()
print("RESULT " + json.dumps({"rows": expected}))
