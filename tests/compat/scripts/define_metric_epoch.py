"""Batch-level training loss and epoch-level validation metrics on a custom 'epoch' axis."""

import json
import math

import wandb

wandb.init(project="custom-step", config={"epochs": 4, "batches": 5})
wandb.define_metric("epoch")
wandb.define_metric("val/*", step_metric="epoch")
wandb.define_metric("val/acc", summary="max")
wandb.define_metric("train/loss", summary="min")
train_losses, val_accs = [], []
for epoch in range(wandb.config.epochs):
    for batch in range(wandb.config.batches):
        loss = math.exp(-0.1 * (epoch * 5 + batch)) + 0.05 * ((batch * 7) % 3)
        train_losses.append(loss)
        wandb.log({"train/loss": loss})
    acc = 0.5 + 0.1 * epoch - 0.15 * (epoch == 3)
    val_accs.append(acc)
    wandb.log({"val/acc": acc, "val/loss": 1 - acc, "epoch": epoch})
wandb.finish()
print("RESULT " + json.dumps({"min_train_loss": min(train_losses), "max_val_acc": max(val_accs),
                              "val_acc": val_accs}))
