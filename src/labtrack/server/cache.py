"""A small thread-safe LRU of chart lines, bounded by the number of points it holds.

Keys include the series' point count, so a series that grew (a live run) is
read again, and a finished one is decoded once however often it is charted.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class ChartCache:
    """Least-recently-used cache of prepared chart lines."""

    def __init__(self, max_points: int = 2_000_000) -> None:
        self.max_points = max_points
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._points = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """The cached value for ``key``, or None."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: Any, points: int) -> None:
        """Remember ``value`` (weighing ``points``), evicting the oldest entries."""
        if points > self.max_points:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._points -= old[1]
            self._items[key] = (value, points)
            self._points += points
            while self._points > self.max_points and self._items:
                _, (_, weight) = self._items.popitem(last=False)
                self._points -= weight

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._points = 0

    def __len__(self) -> int:
        return len(self._items)
