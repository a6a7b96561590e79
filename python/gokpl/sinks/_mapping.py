"""gokpl's metrics (the KPL's names and dimensions) as aiokpl's snapshots and events.

Pure functions over immutable values; safe from any thread.

The engine records each value at its deepest dimensions and at every
ancestor (global, stream, shard). A sink gets one level, the
``metrics_granularity`` of the producer's Config, as a partition of the
samples: the series of that level, and, for a series above it, what it
holds beyond its children (a failed request counts at its stream only), so
that adding up a metric's snapshots never counts a sample twice.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._metrics import Metric
from ._types import Dimensions, MetricEvent, MetricSnapshot

#: The KPL's metric names that aiokpl spells differently; the others are the same.
AIOKPL_NAMES: dict[str, str] = {
    "BufferingTime": "BufferedTime",
    "UserRecordExpired": "ExpiredRecords",
}

#: The KPL's dimension names as aiokpl's dimension keys.
DIMENSION_KEYS: dict[str, str] = {"StreamName": "stream", "ShardId": "shard", "ErrorCode": "error_code"}

#: Metrics (aiokpl's names) whose samples are increments: a sink adds their sums up.
COUNTERS = frozenset(
    {
        "UserRecordsReceived",
        "UserRecordsPut",
        "UserRecordsDataPut",
        "KinesisRecordsPut",
        "KinesisRecordsDataPut",
        "AllErrors",
        "ErrorsByCode",
        "ExpiredRecords",
    }
)
#: Metrics whose samples are levels: the number of records held.
GAUGES = frozenset({"UserRecordsPending"})
#: Metrics whose samples are a distribution (times, retries, records per batch).
DISTRIBUTIONS = frozenset(
    {
        "BufferedTime",
        "RequestTime",
        "RetriesPerRecord",
        "UserRecordsPerKinesisRecord",
        "KinesisRecordsPerPutRecordsRequest",
        "UserRecordsPerPutRecordsRequest",
    }
)

_DEPTHS = {"global": 0, "stream": 1, "shard": 2}
_DIMENSION_ORDER = ("stream", "shard", "error_code")


def aiokpl_name(kpl_name: str) -> str:
    """The name aiokpl's sinks know a KPL metric by."""
    return AIOKPL_NAMES.get(kpl_name, kpl_name)


def kind_of(name: str) -> str:
    """``"counter"``, ``"gauge"`` or ``"distribution"`` for a metric (aiokpl's name); unknown ones count."""
    if name in GAUGES:
        return "gauge"
    if name in DISTRIBUTIONS:
        return "distribution"
    return "counter"


def dimensions_of(metric: Metric) -> Dimensions:
    """A gokpl metric's dimensions as aiokpl's ``(key, value)`` pairs: stream, shard, error_code."""
    keyed = {DIMENSION_KEYS.get(k, k): v for k, v in metric.dimensions.items()}
    ordered = [(k, keyed[k]) for k in _DIMENSION_ORDER if k in keyed]
    return tuple(ordered + sorted((k, v) for k, v in keyed.items() if k not in _DIMENSION_ORDER))


@dataclass(frozen=True)
class _Series:
    """A series' place in the fan-out tree: its metric and error code, and its depth."""

    name: str
    error_code: str | None
    stream: str | None
    shard: str | None

    @property
    def depth(self) -> int:
        return (self.stream is not None) + (self.shard is not None)

    @property
    def parent(self) -> _Series:
        if self.shard is not None:
            return _Series(self.name, self.error_code, self.stream, None)
        return _Series(self.name, self.error_code, None, None)


def _series_of(metric: Metric) -> _Series:
    d = metric.dimensions
    return _Series(metric.name, d.get("ErrorCode"), d.get("StreamName"), d.get("ShardId"))


def select_granularity(metrics: Iterable[Metric], granularity: str) -> list[Metric]:
    """The series of one level (``global``, ``stream`` or ``shard``) partitioning the samples.

    A series above the level is kept with what it holds beyond its children
    (count and sum; min and max stay its own, as bounds). ``ErrorsByCode``
    series without an error code are left out: ``AllErrors`` counts them.
    """
    depth = _DEPTHS[granularity]
    by_series = {
        _series_of(m): m for m in metrics if not (m.name == "ErrorsByCode" and "ErrorCode" not in m.dimensions)
    }
    children_count: dict[_Series, int] = {}
    children_sum: dict[_Series, float] = {}
    for series, m in by_series.items():
        if 0 < series.depth <= depth:
            parent = series.parent
            children_count[parent] = children_count.get(parent, 0) + m.count
            children_sum[parent] = children_sum.get(parent, 0.0) + m.sum
    out = []
    for series, m in by_series.items():
        if series.depth > depth:
            continue
        if series.depth == depth:
            out.append(m)
            continue
        rest = m.count - children_count.get(series, 0)
        if rest > 0:
            rest_sum = m.sum - children_sum.get(series, 0.0)
            out.append(_replace_counts(m, rest, rest_sum))
    return out


def _replace_counts(m: Metric, count: int, total: float) -> Metric:
    return Metric(m.name, m.dimensions, m.unit, m.level, count, total, m.min, m.max, total / count)


def to_snapshots(metrics: Iterable[Metric], window_start: float, window_end: float) -> tuple[MetricSnapshot, ...]:
    """gokpl metrics as aiokpl's snapshots over ``[window_start, window_end]``."""
    return tuple(
        MetricSnapshot(
            name=aiokpl_name(m.name),
            count=m.count,
            sum=m.sum,
            min=m.min,
            max=m.max,
            dimensions=dimensions_of(m),
            window_start=window_start,
            window_end=window_end,
        )
        for m in metrics
    )


def to_events(snapshots: Sequence[MetricSnapshot], timestamp: float | None = None) -> list[MetricEvent]:
    """One event per snapshot: the sum for a counter, the mean for a gauge or distribution."""
    now = time.monotonic() if timestamp is None else timestamp
    return [MetricEvent(s.name, _event_value(s), now, s.dimensions) for s in snapshots]


def _event_value(s: MetricSnapshot) -> float:
    if kind_of(s.name) == "counter":
        return s.sum
    return s.sum / s.count if s.count else 0.0
