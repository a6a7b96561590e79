"""The sink protocol's data types and Protocols: aiokpl's names and shapes.

``MetricSnapshot`` and ``MetricEvent`` are frozen, hashable values, safe to
hand between threads. The Protocols are ``runtime_checkable``, so
``isinstance(sink, MetricsSink)`` recognises any object with the methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol, TypeVar, runtime_checkable

#: A snapshot's or event's dimensions: ``(key, value)`` pairs, keys among
#: ``"stream"``, ``"shard"`` and ``"error_code"``, in that order.
Dimensions = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class MetricEvent:
    """One value of a metric for one series, handed to ``EventfulMetricsSink.record``.

    ``timestamp`` is ``time.monotonic()`` seconds. gokpl's engine never calls
    into Python per record, so an event stands for a series' whole export
    interval: its ``value`` is the interval's sum for counters and the
    interval's mean for distributions and gauges (see ``gokpl.sinks``).
    """

    name: str
    value: float
    timestamp: float
    dimensions: Dimensions = ()


@dataclass(frozen=True)
class MetricSnapshot:
    """The statistics of one series over one export interval.

    ``count`` samples summing to ``sum``, the least ``min`` and the greatest
    ``max``; ``window_start`` and ``window_end`` are ``time.monotonic()``
    seconds. Consecutive snapshots of a series do not overlap: their counts
    and sums add up to the producer's totals.
    """

    name: str
    count: int
    sum: float
    min: float
    max: float
    dimensions: Dimensions = ()
    window_start: float = 0.0
    window_end: float = 0.0


@runtime_checkable
class MetricsSink(Protocol):
    """Where a producer's metrics go: ``export`` is awaited every ``metrics_upload_interval_ms``.

    The producer enters the sink (``async with``) before the first export
    and exits it after the last one, at close.
    """

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None: ...

    async def __aenter__(self) -> MetricsSink: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


@runtime_checkable
class EventfulMetricsSink(Protocol):
    """A sink that also wants each series' value as an event, just before each ``export``."""

    def record(self, event: MetricEvent) -> None: ...


_Sink = TypeVar("_Sink", bound="PlainSink")


class PlainSink:
    """The base of gokpl's own sinks: nothing to open or close, so entering and exiting do nothing."""

    async def __aenter__(self: _Sink) -> _Sink:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None
