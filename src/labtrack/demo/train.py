"""A numpy MLP trained on the 8x8 digits (1,797 images, shipped with scikit-learn).

Each configuration is one run: per-epoch train/val loss and accuracy, the
learning rate, and at the end test accuracy, per-class precision/recall/F1 and
a confusion matrix. About a second per run on a laptop core.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import labtrack

CONFIGS: list[dict[str, Any]] = [
    {"hidden": h, "lr": lr, "batch_size": bs, "optimizer": opt, "epochs": 25,
     "weight_decay": wd, "activation": act}
    for h, lr, bs, opt, wd, act in [
        (32, 0.05, 64, "sgd", 0.0, "relu"),
        (32, 0.2, 64, "sgd", 0.0, "relu"),
        (64, 0.05, 32, "momentum", 1e-4, "relu"),
        (64, 0.01, 32, "momentum", 1e-4, "tanh"),
        (128, 0.1, 64, "momentum", 0.0, "relu"),
        (128, 0.5, 128, "sgd", 1e-3, "tanh"),
        (16, 0.1, 32, "sgd", 0.0, "relu"),
        (64, 0.003, 64, "adam", 0.0, "relu"),
        (64, 0.01, 64, "adam", 1e-4, "tanh"),
        (128, 0.001, 32, "adam", 0.0, "relu"),
        (256, 0.03, 128, "momentum", 1e-4, "relu"),
        (8, 0.05, 32, "adam", 0.0, "tanh"),
    ]
]


def _data(seed: int = 0) -> tuple[Any, ...]:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float64)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=seed,
                                                        stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.15,
                                                      random_state=seed, stratify=y_train)
    return x_train, y_train, x_val, y_val, x_test, y_test


def _forward(params: dict[str, Any], x: Any, activation: str) -> tuple[Any, Any]:
    import numpy as np

    pre = x @ params["w1"] + params["b1"]
    hidden = np.maximum(pre, 0) if activation == "relu" else np.tanh(pre)
    logits = hidden @ params["w2"] + params["b2"]
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    return hidden, probs


def _loss_acc(params: dict[str, Any], x: Any, y: Any, activation: str) -> tuple[float, float]:
    import numpy as np

    _, probs = _forward(params, x, activation)
    loss = float(-np.log(probs[np.arange(len(y)), y] + 1e-12).mean())
    return loss, float((probs.argmax(axis=1) == y).mean())


def train_mlp(config: dict[str, Any], run: Any, seed: int = 0,
              data: tuple[Any, ...] | None = None) -> float:
    """Train one MLP, logging to ``run``; returns the test accuracy."""
    import numpy as np

    x_train, y_train, x_val, y_val, x_test, y_test = data or _data(seed)
    rng = np.random.default_rng(seed)
    hidden, classes = int(config["hidden"]), 10
    params = {
        "w1": rng.normal(0, np.sqrt(2 / 64), (64, hidden)), "b1": np.zeros(hidden),
        "w2": rng.normal(0, np.sqrt(1 / hidden), (hidden, classes)), "b2": np.zeros(classes),
    }
    state = {k: np.zeros_like(v) for k, v in params.items()}
    state2 = {k: np.zeros_like(v) for k, v in params.items()}
    lr, wd, act = float(config["lr"]), float(config["weight_decay"]), config["activation"]
    batch, opt = int(config["batch_size"]), config["optimizer"]
    t = 0
    for epoch in range(int(config["epochs"])):
        order = rng.permutation(len(x_train))
        lr_now = lr * 0.5 * (1 + np.cos(np.pi * epoch / config["epochs"]))
        for start in range(0, len(order), batch):
            idx = order[start:start + batch]
            xb, yb = x_train[idx], y_train[idx]
            h, probs = _forward(params, xb, act)
            grad = probs.copy()
            grad[np.arange(len(yb)), yb] -= 1
            grad /= len(yb)
            grads = {"w2": h.T @ grad + wd * params["w2"], "b2": grad.sum(0)}
            dh = grad @ params["w2"].T
            dh = dh * (h > 0) if act == "relu" else dh * (1 - h ** 2)
            grads["w1"] = xb.T @ dh + wd * params["w1"]
            grads["b1"] = dh.sum(0)
            t += 1
            for k in params:
                if opt == "sgd":
                    params[k] -= lr_now * grads[k]
                elif opt == "momentum":
                    state[k] = 0.9 * state[k] + grads[k]
                    params[k] -= lr_now * state[k]
                else:  # adam
                    state[k] = 0.9 * state[k] + 0.1 * grads[k]
                    state2[k] = 0.999 * state2[k] + 0.001 * grads[k] ** 2
                    m_hat = state[k] / (1 - 0.9 ** t)
                    v_hat = state2[k] / (1 - 0.999 ** t)
                    params[k] -= lr_now * m_hat / (np.sqrt(v_hat) + 1e-8)
        train_loss, train_acc = _loss_acc(params, x_train, y_train, act)
        val_loss, val_acc = _loss_acc(params, x_val, y_val, act)
        run.log({"epoch": epoch, "train/loss": train_loss, "train/acc": train_acc,
                 "val/loss": val_loss, "val/acc": val_acc, "lr": lr_now})
    _, probs = _forward(params, x_test, act)
    pred = probs.argmax(axis=1)
    test_acc = float((pred == y_test).mean())
    run.summary["test/acc"] = test_acc
    report = labtrack.plot.classification_report(y_test, pred, probas=probs,
                                                 labels=[str(i) for i in range(10)])
    run.log({f"test/{k}": v for k, v in report.items()})
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:  # the weights, as a versioned model artifact
        path = os.path.join(tmp, "mlp.npz")
        np.savez(path, **params)  # type: ignore[arg-type]
        run.log_model(path, name="digits-mlp", aliases=[f"hidden-{hidden}"])
    return test_acc


def run_demo(project: str = "demo", dir: str | None = None, count: int | None = None,
             progress: Callable[[int, int, str, float], None] | None = None) -> list[str]:
    """Train the demo configurations as runs of ``project``; returns the run ids."""
    data = _data(0)
    ids = []
    configs = CONFIGS[:count] if count else CONFIGS
    for i, config in enumerate(configs):
        start = time.perf_counter()
        tags = ["demo", config["optimizer"]] + (["baseline"] if i == 0 else [])
        run = labtrack.init(project=project, config=config, dir=dir, tags=tags,
                            group=f"hidden-{config['hidden']}", job_type="train",
                            notes="numpy MLP on the scikit-learn digits", reinit="create_new")
        run.define_metric("val/acc", summary="max", goal="maximize")
        run.define_metric("val/loss", summary="min", goal="minimize")
        run.define_metric("*", step_metric="epoch")
        try:
            acc = train_mlp(config, run, seed=i, data=data)
        finally:
            run.finish()
        ids.append(run.id)
        if progress:
            progress(i + 1, len(configs), run.name, acc if acc else time.perf_counter() - start)
    return ids
