"""Hyperband while a run is active: a thread that asks the store whether to stop it.

Every ``interval`` seconds it reads, for every run of the sweep, the sweep metric's
values at the band iterations (:meth:`SweepIndex.metric_at`) and applies
:func:`labtrack.sweeps.hyperband.stop_reason`. The first time the run is outside the
top 1/eta at a band, it calls ``on_stop`` with a message and ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from labtrack.sweeps.config import SweepConfig
from labtrack.sweeps.hyperband import bands, stop_reason
from labtrack.sweeps.store import SweepIndex

# runs log at most this many values of one metric before hyperband stops looking
MAX_ITERATIONS = 10_000_000


class _Sparse(Sequence[float | None]):
    """A history known only at some indices: ``len()`` is the number of values logged."""

    def __init__(self, count: int, values: dict[str, float | None]) -> None:
        self._count = count
        self._values = values

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            raise TypeError("a sparse history cannot be sliced")
        return self._values.get(str(i))

    def __iter__(self) -> Iterator[float | None]:
        return (self[i] for i in range(self._count))


def histories(index: SweepIndex, sweep_id: str, config: SweepConfig
              ) -> dict[str, Sequence[float | None]]:
    """The sweep's metric histories as hyperband sees them (values at band iterations)."""
    assert config.metric is not None and config.early_terminate is not None
    wanted = bands(config.early_terminate, MAX_ITERATIONS)
    data = index.metric_at(sweep_id, config.metric.name, wanted)
    return {run_id: _Sparse(int(d["count"]), d["values"]) for run_id, d in data.items()}


def check(index: SweepIndex, sweep_id: str, config: SweepConfig, run_id: str) -> str | None:
    """A message saying why hyperband stops ``run_id`` now, or None."""
    reason = stop_reason(config, histories(index, sweep_id, config), run_id)
    if reason is None:
        return None
    band, value, threshold = reason
    assert config.metric is not None and config.early_terminate is not None
    better = "below" if config.metric.goal == "minimize" else "above"
    return (
        f"hyperband stops run {run_id}: its {config.metric.name} at iteration {band} is "
        f"{value!r}, not in the top 1/{config.early_terminate.eta:g} of the sweep's runs "
        f"there (those are at or {better} {threshold:.6g})"
    )


class StopWatch:
    """Checks one active run every ``interval`` seconds until stopped or :meth:`close` d."""

    def __init__(self, index: SweepIndex, sweep_id: str, config: SweepConfig, run_id: str,
                 on_stop: Callable[[str], None], interval: float = 2.0) -> None:
        self._args = (index, sweep_id, config, run_id)
        self._on_stop = on_stop
        self._interval = interval
        self._done = threading.Event()
        self.stopped: str | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"labtrack-hyperband-{run_id}")

    def start(self) -> StopWatch:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            try:
                message = check(*self._args)
            except Exception:  # noqa: BLE001 - a busy store only delays the check
                continue
            if message is not None:
                self.stopped = message
                self._on_stop(message)
                return

    def close(self) -> None:
        self._done.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
