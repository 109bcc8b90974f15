"""``wandb.integration.sklearn``: the same plots as ``wandb.sklearn``."""

from labtrack.compat.sklearn import *  # noqa: F403
from labtrack.compat.sklearn import __all__  # noqa: F401
