"""The run filter language, shared by the Api, the CLI and the UI.

Examples::

    config.lr < 0.01 and summary.val_acc >= 0.9
    "baseline" in tags and state == "finished"
    name ~ "resnet*" or not (config.optimizer.name in ["sgd", "adam"])
    created_at > "2026-11-01" and summary["val/acc"] > 0.5

Expressions are parsed here into a small tree and compiled to SQL by the
store (:mod:`labtrack.store.query`); nothing is ever evaluated with ``eval``.
"""

from .parser import Cmp, Field, Logic, Node, Not, parse

__all__ = ["Cmp", "Field", "Logic", "Node", "Not", "parse"]
