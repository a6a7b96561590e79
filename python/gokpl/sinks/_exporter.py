"""``SinkExporter``: a producer's interval statistics handed to its ``metrics_sink``.

The one seam between producers and sinks. ``SinkExporter`` is driven from
one event loop at a time: the ``gokpl-metrics`` thread runs it on a
private loop of its own (``_metrics.SinkThread``), for a SyncProducer and
for an asyncio ``Producer`` alike (one is a SyncProducer underneath), so a
sink never runs on the application's loop. A sink is either a plain callable
(given the list of ``gokpl.Metric``) or an object with an ``export``
method (aiokpl's ``MetricsSink``: given ``MetricSnapshot`` tuples, awaited
if it answers an awaitable). Whatever the sink raises is logged on the
"gokpl" logger and never reaches the producer.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Sequence
from typing import Any

from .._config import is_protocol_sink
from .._metrics import Metric
from ._mapping import select_granularity, to_events, to_snapshots
from ._types import EventfulMetricsSink

log = logging.getLogger("gokpl")


class SinkExporter:
    """Delivers interval statistics to one sink; ``open``, ``export`` and ``close`` are awaited in that order.

    ``granularity`` (``global``, ``stream`` or ``shard``: the Config's
    ``metrics_granularity``) picks the one level of series a protocol sink
    gets; a callable sink gets every series, as ``producer.metrics()``
    lists them. Not thread-safe: one loop drives it.
    """

    def __init__(self, sink: Any, granularity: str = "stream") -> None:
        self._sink = sink
        self._granularity = granularity
        self._protocol = is_protocol_sink(sink)
        self._entered = False
        self._window_start = time.monotonic()

    @property
    def sink(self) -> Any:
        return self._sink

    async def open(self) -> None:
        """Enter the sink (``__aenter__``, if it has one)."""
        enter = getattr(self._sink, "__aenter__", None) if self._protocol else None
        if enter is None:
            return
        try:
            await enter()
            self._entered = True
        except Exception:
            log.exception("exception entering metrics_sink %r", self._sink)

    async def export(self, metrics: Sequence[Metric]) -> None:
        """Hand the statistics of the interval since the previous export to the sink."""
        window_end = time.monotonic()
        window_start, self._window_start = self._window_start, window_end
        if not self._protocol:
            self._call(list(metrics))
            return
        selected = select_granularity(metrics, self._granularity)
        if not selected:
            return
        snapshots = to_snapshots(selected, window_start, window_end)
        if isinstance(self._sink, EventfulMetricsSink):
            self._record(to_events(snapshots, window_end))
        try:
            answer = self._sink.export(snapshots)
            if inspect.isawaitable(answer):
                await answer
        except Exception:
            log.exception("exception calling metrics_sink %r", self._sink)

    async def close(self) -> None:
        """Exit the sink (``__aexit__``) if ``open`` entered it."""
        if not self._entered:
            return
        self._entered = False
        try:
            await self._sink.__aexit__(None, None, None)
        except Exception:
            log.exception("exception exiting metrics_sink %r", self._sink)

    def _call(self, metrics: list[Metric]) -> None:
        try:
            self._sink(metrics)
        except Exception:
            log.exception("exception calling metrics_sink %r", self._sink)

    def _record(self, events: Sequence[Any]) -> None:
        for event in events:
            try:
                self._sink.record(event)
            except Exception:
                log.exception("exception calling metrics_sink %r record", self._sink)
