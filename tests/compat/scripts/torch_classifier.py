"""A small PyTorch MLP with wandb.watch: gradient and parameter histograms, a confusion matrix."""

import json

import torch
import wandb
from torch import nn

torch.manual_seed(0)
config = {"epochs": 4, "batches": 5, "lr": 0.05, "hidden": 16, "log_freq": 5}
run = wandb.init(project="torch-demo", config=config)
X = torch.randn(200, 4)
y = (X[:, 0] + X[:, 1] > 0).long() + (X[:, 2] > 1).long()
model = nn.Sequential(nn.Linear(4, config["hidden"]), nn.ReLU(), nn.Linear(config["hidden"], 3))
wandb.watch(model, criterion=nn.CrossEntropyLoss(), log="all", log_freq=config["log_freq"])
opt = torch.optim.SGD(model.parameters(), lr=config["lr"])
loss_fn = nn.CrossEntropyLoss()
steps = 0
for epoch in range(config["epochs"]):
    for xb, yb in zip(X.chunk(config["batches"]), y.chunk(config["batches"]), strict=True):
        model.train()
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        wandb.log({"loss": loss.item(), "epoch": epoch})
        steps += 1
model.eval()
with torch.no_grad():
    preds = model(X).argmax(dim=1)
wandb.log({"confusion": wandb.plot.confusion_matrix(y_true=y.tolist(), preds=preds.tolist(),
                                                    class_names=["a", "b", "c"])})
wandb.summary["acc"] = float((preds == y).float().mean())
wandb.unwatch(model)
wandb.finish()
print("RESULT " + json.dumps({"steps": steps, "params": [n for n, _ in model.named_parameters()],
                              "n": len(y)}))
