"""``InMemorySink``: keeps every exported batch, for tests and in-process readers.

Exports arrive on the producer's metrics thread (or its event loop) while
other threads read: a lock guards the list, and readers get tuples.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ._types import MetricSnapshot, PlainSink


class InMemorySink(PlainSink):
    """Captures the snapshots of every ``export`` call, in call order."""

    __slots__ = ("_exports", "_lock")

    def __init__(self) -> None:
        self._exports: list[tuple[MetricSnapshot, ...]] = []
        self._lock = threading.Lock()

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
        with self._lock:
            self._exports.append(tuple(snapshots))

    @property
    def exports(self) -> tuple[tuple[MetricSnapshot, ...], ...]:
        """Every batch exported so far, in call order."""
        with self._lock:
            return tuple(self._exports)

    @property
    def all_snapshots(self) -> tuple[MetricSnapshot, ...]:
        """Every snapshot exported so far, the batches joined in order."""
        return tuple(s for batch in self.exports for s in batch)

    def by_name(self, name: str) -> tuple[MetricSnapshot, ...]:
        """The snapshots of the metric ``name``, in order."""
        return tuple(s for s in self.all_snapshots if s.name == name)


__all__ = ["InMemorySink"]
