"""A grid sweep run in-process with wandb.agent(function=...)."""

import json

import numpy as np
import wandb
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

sweep_config = {
    "method": "grid",
    "metric": {"name": "val_loss", "goal": "minimize"},
    "parameters": {
        "C": {"values": [0.01, 1.0]},
        "solver": {"values": ["lbfgs"]},
        "fit_intercept": {"values": [True, False]},
    },
}
X, y = make_classification(n_samples=300, n_features=8, random_state=3)
X_train, X_val, y_train, y_val = train_test_split(X, y, random_state=3)
results = {}


def train():
    with wandb.init(config={"max_iter": 200}) as run:
        cfg = wandb.config
        model = LogisticRegression(C=cfg.C, solver=cfg.solver, fit_intercept=cfg.fit_intercept,
                                   max_iter=cfg.max_iter).fit(X_train, y_train)
        loss = float(log_loss(y_val, model.predict_proba(X_val)))
        wandb.log({"val_loss": loss, "val_acc": float(model.score(X_val, y_val))})
        results[run.id] = {"C": cfg.C, "fit_intercept": cfg.fit_intercept, "val_loss": loss,
                           "max_iter": cfg.max_iter}


sweep_id = wandb.sweep(sweep_config, project="sweep-demo")
wandb.agent(sweep_id, function=train, count=4)
print("RESULT " + json.dumps({"sweep_id": sweep_id, "runs": results,
                              "best": float(np.min([r["val_loss"] for r in results.values()]))}))
