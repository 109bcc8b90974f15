"""System metrics of a run: host CPU/memory/disk/network, its process tree, NVIDIA GPUs.

:class:`SystemMonitor` is the thread a run starts; :mod:`.cpu` and :mod:`.gpu`
hold the readers (psutil, and ``pynvml`` when installed).
"""

from __future__ import annotations

from .monitor import PREFIX, SystemMonitor

__all__ = ["PREFIX", "SystemMonitor"]
