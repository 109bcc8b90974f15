"""Gradient boosting on the diabetes data: validation RMSE per stage, predicted vs actual."""

import json

import numpy as np
import wandb
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor
from sklearn.model_selection import train_test_split

config = {"n_estimators": 40, "learning_rate": 0.3, "max_depth": 3, "seed": 1}
with wandb.init(project="diabetes", config=config, group="gbr") as run:
    wandb.define_metric("val/rmse", summary="min")
    X, y = load_diabetes(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25,
                                                      random_state=config["seed"])
    model = GradientBoostingRegressor(
        n_estimators=run.config.n_estimators, learning_rate=run.config.learning_rate,
        max_depth=run.config["max_depth"], random_state=config["seed"],
    ).fit(X_train, y_train)
    val_rmse = []
    stages = zip(model.staged_predict(X_train), model.staged_predict(X_val), strict=True)
    for stage, (train_pred, val_pred) in enumerate(stages):
        rmse = float(np.sqrt(np.mean((val_pred - y_val) ** 2)))
        val_rmse.append(rmse)
        run.log({"train/rmse": float(np.sqrt(np.mean((train_pred - y_train) ** 2))),
                 "val/rmse": rmse}, step=stage)
    pred = model.predict(X_val)
    table = wandb.Table(columns=["actual", "predicted"],
                        data=[[float(a), float(p)] for a, p in zip(y_val, pred, strict=True)])
    run.log({"pred_vs_actual": wandb.plot.scatter(table, "actual", "predicted",
                                                  title="Predicted vs actual"),
             "val_rmse_curve": wandb.plot.line(
                 wandb.Table(columns=["stage", "rmse"], data=list(enumerate(val_rmse))),
                 "stage", "rmse", title="Validation RMSE")})
    run.summary["r2"] = float(model.score(X_val, y_val))
print("RESULT " + json.dumps({"best_val_rmse": min(val_rmse), "last_val_rmse": val_rmse[-1],
                              "stages": len(val_rmse),
                              "n_val": len(y_val)}))
