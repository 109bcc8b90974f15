"""wandb compatibility: run scripts written for wandb with no code change.

Two ways in:

* ``import labtrack as wandb`` in the script (labtrack's API has wandb's names);
* ``labtrack run --wandb -- python train.py``: the child's ``PYTHONPATH`` starts with
  :func:`shim_dir`, which holds a ``wandb`` package whose names forward to labtrack.

The pieces: :mod:`.watch` (``wandb.watch`` for PyTorch models), :mod:`.init`
(``wandb.init`` as wandb scripts call it, ``wandb.Settings``), :mod:`.api`
(``wandb.Api`` with wandb's defaults), :mod:`.names` (small wandb helpers and the
features labtrack does not have, which fail with a message naming them),
:mod:`.errors`, :mod:`.object3d` and :mod:`.sklearn`. Importing this package
imports none of them.
"""

from __future__ import annotations

from pathlib import Path

SHIM_VERSION = "0.19.11"
"""The wandb version the shim reports as ``wandb.__version__`` (the API it mirrors)."""


def shim_dir() -> str:
    """The directory to put first on ``PYTHONPATH`` so that ``import wandb`` loads labtrack.

    It holds one package, ``wandb``, and nothing else.
    """
    return str(Path(__file__).resolve().parent / "shim")


__all__ = ["SHIM_VERSION", "shim_dir"]
