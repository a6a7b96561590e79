"""Metrics sinks: aiokpl's sink protocol on gokpl's producers.

``Config(metrics_sink=sink)`` takes either a plain callable (given the list
of ``gokpl.Metric`` of each interval) or a sink with an async ``export``
(aiokpl's ``MetricsSink``): every ``metrics_upload_interval_ms`` and once at
close, it is awaited with the interval's ``MetricSnapshot`` tuple, one
series per ``(name, dimensions)`` at the Config's ``metrics_granularity``.
A sink that also has ``record`` (``EventfulMetricsSink``) first gets one
``MetricEvent`` per snapshot. The SyncProducer drives the sink on an event
loop of its ``gokpl-metrics`` thread; what a sink raises is logged, never
raised into the producer.

Metric names are aiokpl's: the KPL's, with ``BufferingTime`` as
``BufferedTime`` and ``UserRecordExpired`` as ``ExpiredRecords``.
Dimensions are ``("stream", ...)``, ``("shard", ...)``,
``("error_code", ...)``. ``InMemorySink``, ``NullSink`` and
``CloudWatchSink`` (the engine's own uploader) are here;
``gokpl.sinks.opentelemetry.OpenTelemetrySink`` needs ``gokpl[otel]``.
"""

from __future__ import annotations

from ._mapping import AIOKPL_NAMES
from ._types import EventfulMetricsSink, MetricEvent, MetricSnapshot, MetricsSink
from .cloudwatch import CloudWatchSink
from .memory import InMemorySink
from .null import NullSink

__all__ = [
    "AIOKPL_NAMES",
    "CloudWatchSink",
    "EventfulMetricsSink",
    "InMemorySink",
    "MetricEvent",
    "MetricSnapshot",
    "MetricsSink",
    "NullSink",
]
