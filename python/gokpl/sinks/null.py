"""``NullSink``: discards every snapshot. Stateless, so safe from any thread."""

from __future__ import annotations

from collections.abc import Sequence

from ._types import MetricSnapshot, PlainSink


class NullSink(PlainSink):
    """A sink that does nothing: metrics are still computed, and readable with ``producer.metrics()``."""

    __slots__ = ()

    def __init__(self) -> None:
        pass

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
        return None


__all__ = ["NullSink"]
