"""Hyperparameter sweeps: W&B-compatible configs, search methods, hyperband, agent commands.

Pure logic with no store: the agent reads a sweep's trials, calls :func:`next_params`,
runs :func:`build_command`, and asks :func:`should_stop` while runs log their metric.
Optuna (bayes) and PyYAML (YAML configs) are imported only when used.
"""

from labtrack.sweeps.command import build_command, flatten_params, unflatten
from labtrack.sweeps.config import (
    EarlyTerminate,
    Metric,
    SweepConfig,
    check_program,
    load_sweep_config,
)
from labtrack.sweeps.hyperband import bands, runs_to_stop, should_stop, stop_reason, thresholds
from labtrack.sweeps.params import ParamSpec
from labtrack.sweeps.search import Trial, count_grid, iter_grid, next_params

__all__ = [
    "EarlyTerminate",
    "Metric",
    "ParamSpec",
    "SweepConfig",
    "Trial",
    "bands",
    "build_command",
    "check_program",
    "count_grid",
    "flatten_params",
    "iter_grid",
    "load_sweep_config",
    "next_params",
    "runs_to_stop",
    "should_stop",
    "stop_reason",
    "thresholds",
    "unflatten",
]
