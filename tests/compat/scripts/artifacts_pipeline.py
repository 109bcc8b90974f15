"""Two runs: one logs a dataset artifact, the next uses it and logs a model artifact."""

import csv
import json
import os
import pickle

import numpy as np
import wandb
from sklearn.tree import DecisionTreeClassifier

rng = np.random.default_rng(7)
X = rng.normal(size=(120, 3))
y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
os.makedirs("data", exist_ok=True)
with open("data/train.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["a", "b", "c", "label"])
    writer.writerows([*map(float, row), int(label)] for row, label in zip(X, y, strict=True))

with wandb.init(project="pipeline", job_type="dataset") as run:
    data = wandb.Artifact("toy-data", type="dataset", description="three features, one label",
                          metadata={"rows": len(y), "source": "synthetic"})
    data.add_file("data/train.csv")
    with data.new_file("README.txt", mode="w") as f:
        f.write("toy data for the pipeline test\n")
    run.log_artifact(data, aliases=["latest", "v-demo"])
    producer = run.id

with wandb.init(project="pipeline", job_type="train", config={"max_depth": 3}) as run:
    used = run.use_artifact("toy-data:latest")
    folder = used.download()
    with open(os.path.join(folder, "train.csv")) as f:
        rows = list(csv.DictReader(f))
    features = np.array([[float(r["a"]), float(r["b"]), float(r["c"])] for r in rows])
    labels = np.array([int(r["label"]) for r in rows])
    model = DecisionTreeClassifier(max_depth=wandb.config.max_depth, random_state=0)
    model.fit(features, labels)
    acc = float(model.score(features, labels))
    wandb.log({"train_acc": acc})
    with open("model.pkl", "wb") as f:
        pickle.dump(model, f)
    model_art = wandb.Artifact("tree-model", type="model", metadata={"train_acc": acc})
    model_art.add_file("model.pkl")
    run.log_artifact(model_art)
    consumer = run.id

print("RESULT " + json.dumps({"producer": producer, "consumer": consumer, "rows": len(rows),
                              "train_acc": acc, "used_version": used.version}))
