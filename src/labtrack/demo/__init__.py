"""The demo project: small real models trained on scikit-learn's bundled digits data."""

from .train import CONFIGS, run_demo, train_mlp

__all__ = ["CONFIGS", "run_demo", "train_mlp"]
