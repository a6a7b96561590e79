"""``NullSink``: discards every snapshot. Stateless, so safe from any thread."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType

from ._types import MetricSnapshot


class NullSink:
    """A sink that does nothing: metrics are still computed, and readable with ``producer.metrics()``."""

    __slots__ = ()

    def __init__(self) -> None:
        pass

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
        return None

    async def __aenter__(self) -> NullSink:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


__all__ = ["NullSink"]
