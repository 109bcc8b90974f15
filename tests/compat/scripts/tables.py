"""Prediction tables: columns + data, add_data, add_column, a DataFrame, images in cells."""

import json

import numpy as np
import pandas as pd
import wandb
from sklearn.datasets import load_iris
from sklearn.neighbors import KNeighborsClassifier

run = wandb.init(project="tables", config={"k": 5})
X, y = load_iris(return_X_y=True)
names = load_iris().target_names
model = KNeighborsClassifier(n_neighbors=wandb.config.k).fit(X[::2], y[::2])
X_test, y_test = X[1::2], y[1::2]
pred = model.predict(X_test)

table = wandb.Table(columns=["sepal_length", "sepal_width", "truth", "prediction"])
for row, truth, guess in zip(X_test, y_test, pred, strict=True):
    table.add_data(float(row[0]), float(row[1]), names[truth], names[guess])
table.add_column("correct", [bool(t == p) for t, p in zip(y_test, pred, strict=True)])
wandb.log({"predictions": table})

frame = pd.DataFrame({"class": names, "support": np.bincount(y_test, minlength=3),
                      "recall": [float(np.mean(pred[y_test == c] == c)) for c in range(3)]})
wandb.log({"per_class": wandb.Table(dataframe=frame)})

gallery = wandb.Table(columns=["id", "image", "mean"], data=[])
for i in range(3):
    pixels = np.full((8, 8), i * 80, dtype=np.uint8)
    gallery.add_data(i, wandb.Image(pixels, caption=f"level {i}"), float(pixels.mean()))
wandb.log({"gallery": gallery})
wandb.finish()
print("RESULT " + json.dumps({"n_test": len(y_test), "correct": int((pred == y_test).sum())}))
