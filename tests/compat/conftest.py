"""Fixtures for the wandb compatibility tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType

import pytest

from labtrack.compat import shim_dir


@pytest.fixture
def shim(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The shim's ``wandb`` imported in this process; removed again afterwards."""
    monkeypatch.syspath_prepend(shim_dir())
    for name in [m for m in sys.modules if m == "wandb" or m.startswith("wandb.")]:
        monkeypatch.delitem(sys.modules, name)
    import wandb

    assert getattr(wandb, "__labtrack__", False), wandb.__file__
    yield wandb
    for name in [m for m in sys.modules if m == "wandb" or m.startswith("wandb.")]:
        del sys.modules[name]
