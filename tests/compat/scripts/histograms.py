"""Logistic regression in numpy; weight and gradient histograms every few steps."""

import json

import numpy as np
import wandb

config = {"lr": 0.5, "steps": 30, "hist_every": 10, "features": 50}
wandb.init(project="histograms", config=config)
rng = np.random.default_rng(2)
X = rng.normal(size=(256, config["features"]))
true_w = rng.normal(size=config["features"])
y = (X @ true_w > 0).astype(float)
w = np.zeros(config["features"])
logged_steps = []
for step in range(config["steps"]):
    p = 1 / (1 + np.exp(-(X @ w)))
    grad = X.T @ (p - y) / len(y)
    w -= config["lr"] * grad
    loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
    metrics = {"loss": loss, "grad_norm": float(np.linalg.norm(grad))}
    if step % config["hist_every"] == 0:
        metrics["weights"] = wandb.Histogram(w)
        metrics["gradients"] = wandb.Histogram(np_histogram=np.histogram(grad, bins=16))
        logged_steps.append(step)
    wandb.log(metrics)
wandb.finish()
print("RESULT " + json.dumps({"hist_steps": logged_steps, "features": config["features"]}))
