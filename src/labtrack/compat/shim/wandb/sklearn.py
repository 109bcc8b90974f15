"""``wandb.sklearn``: scikit-learn plots logged to the current run (see labtrack.compat.sklearn)."""

from labtrack.compat.sklearn import *  # noqa: F403
from labtrack.compat.sklearn import __all__  # noqa: F401
