"""Digits classification with SGD, logged per epoch; confusion matrix, ROC and PR at the end."""

import argparse
import json

import numpy as np
import wandb
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--alpha", type=float, default=1e-4)
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

run = wandb.init(project="digits", config=args, tags=["sgd", "baseline"], job_type="train",
                 notes="SGD on the digits data set")
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=args.seed,
                                                    stratify=y)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
classes = np.unique(y)
clf = SGDClassifier(loss="log_loss", alpha=wandb.config.alpha, random_state=args.seed)
rng = np.random.default_rng(args.seed)
for epoch in range(wandb.config.epochs):
    order = rng.permutation(len(X_train))
    for batch in np.array_split(order, 4):
        clf.partial_fit(X_train[batch], y_train[batch], classes=classes)
    probas = clf.predict_proba(X_test)
    wandb.log({
        "epoch": epoch,
        "train/loss": log_loss(y_train, clf.predict_proba(X_train), labels=classes),
        "val/loss": log_loss(y_test, probas, labels=classes),
        "val/acc": accuracy_score(y_test, probas.argmax(axis=1)),
    })

probas = clf.predict_proba(X_test)
preds = probas.argmax(axis=1)
names = [str(c) for c in classes]
wandb.log({
    "confusion_matrix": wandb.plot.confusion_matrix(y_true=y_test, preds=preds, class_names=names),
    "roc": wandb.plot.roc_curve(y_test, probas, labels=names),
    "pr": wandb.plot.pr_curve(y_test, probas, labels=names),
})
test_acc = float(accuracy_score(y_test, preds))
wandb.summary["test_acc"] = test_acc
wandb.finish()
print("RESULT " + json.dumps({"test_acc": test_acc, "n_test": len(y_test), "id": run.id}))
