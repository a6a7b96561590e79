"""Metrics: the Metric snapshot type, reading snapshots from the library, and the metrics_sink thread.

The engine computes the Amazon KPL's metrics whatever ``metrics_level`` is
(that level only decides what is uploaded to CloudWatch).
``gokpl_producer_metrics`` hands a snapshot over as JSON; ``metrics_snapshot``
reads it into ``Metric`` objects. A ``Config(metrics_sink=...)`` gets the
statistics since its previous call every ``metrics_upload_interval_ms``
from a ``gokpl-metrics`` daemon thread of its producer (Go never calls
into Python), and a last time when the producer closes: a plain callable
directly, a ``gokpl.sinks`` protocol sink (async ``export``) on an event
loop private to that thread. ``IntervalStatistics`` computes what each call
gets; an asyncio producer uses it with ``gokpl.sinks._exporter.SinkExporter``
on its own loop instead of the thread.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

from . import _native
from ._config import is_protocol_sink
from ._errors import GokplError
from ._status import ERR_BUFFER_TOO_SMALL, OK, raise_for

log = logging.getLogger("gokpl")

#: The longest window a snapshot covers, in seconds: the engine keeps one bucket per second for a minute.
MAX_WINDOW_S = 60.0
# First guess at a snapshot's size; grown to what the library asks for.
_INITIAL_BUFFER = 16 * 1024

#: What each of the KPL's metrics measures (the KPL's own descriptions, shortened).
DESCRIPTIONS: dict[str, str] = {
    "UserRecordsReceived": "User records received by put (one sample of 1 each).",
    "UserRecordsPending": "User records the stream's pipeline holds, sampled every 200 ms.",
    "UserRecordsPut": "Finished user records: 1 for a success, 0 for a failure (sum = successes).",
    "UserRecordsDataPut": "Bytes of data of user records put successfully.",
    "UserRecordExpired": "User records that failed because their record_ttl_ms passed.",
    "KinesisRecordsPut": "Kinesis records (aggregated or not) in PutRecords responses: 1 success, 0 failure.",
    "KinesisRecordsDataPut": "Bytes of Kinesis records put successfully.",
    "ErrorsByCode": "Failed Kinesis records and failed PutRecords requests, by error code.",
    "AllErrors": "Failed Kinesis records and requests: 1 per failure, 0 per successful Kinesis record.",
    "RetriesPerRecord": "Retries each finished user record took (attempts - 1).",
    "BufferingTime": "Time a user record waited in the producer before each attempt, since arrival or its last one.",
    "RequestTime": "Time each PutRecords request took.",
    "UserRecordsPerKinesisRecord": "User records in each Kinesis record (aggregation).",
    "KinesisRecordsPerPutRecordsRequest": "Kinesis records in each PutRecords request.",
    "UserRecordsPerPutRecordsRequest": "User records in each PutRecords request.",
}


@dataclasses.dataclass(frozen=True)
class Metric:
    """One series of a producer's metrics over a window (``SyncProducer.metrics()``).

    ``name``, ``unit`` (Count, Bytes or Milliseconds) and ``level`` (summary
    or detailed) are the Amazon KPL's. ``dimensions`` holds ``ErrorCode``,
    ``StreamName`` and ``ShardId`` where they apply; it is empty for the
    global series. As in the KPL, every value is also counted in each series
    of fewer dimensions (shard, then stream, then global). ``count`` is the
    number of samples and ``sum``, ``min``, ``max`` and ``mean`` their
    statistics: for UserRecordsPut, ``count`` is the records finished and
    ``sum`` those that succeeded.
    """

    name: str
    dimensions: dict[str, str]
    unit: str
    level: str
    count: int
    sum: float
    min: float
    max: float
    mean: float

    def __hash__(self) -> int:
        return hash((self.name, tuple(sorted(self.dimensions.items())), self.unit, self.level, self.count, self.sum))

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.dimensions.items())
        where = f"{{{dims}}}" if dims else ""
        return (
            f"<Metric {self.name}{where} {self.unit} count={self.count} sum={_number(self.sum)} "
            f"min={_number(self.min)} max={_number(self.max)} mean={_number(self.mean)}>"
        )


def _number(x: float) -> str:
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.6g}"


def window_ms(window: Any) -> int:
    """A window in seconds (None: cumulative) as the library's milliseconds (0: cumulative)."""
    if window is None:
        return 0
    if isinstance(window, bool) or not isinstance(window, (int, float)):
        raise TypeError(f"window must be a number of seconds or None, got {type(window).__name__}")
    if not 0 < window <= MAX_WINDOW_S:
        raise ValueError(
            f"window must be more than 0 and at most {MAX_WINDOW_S:g} seconds (None for cumulative), got {window!r}"
        )
    return max(1, min(math.ceil(window * 1000), int(MAX_WINDOW_S * 1000)))


class _Buffers(threading.local):
    """A snapshot buffer per thread, grown to the largest snapshot seen."""

    def __init__(self) -> None:
        self.size = _INITIAL_BUFFER
        self.buf: Any = None


_buffers = _Buffers()


def metrics_snapshot(handle: int, ms: int) -> list[Metric]:
    """The snapshot of a live native producer over ms milliseconds (0: cumulative)."""
    ffi, lib = _native.ffi_lib()
    b = _buffers
    length = ffi.new("size_t *")
    while True:
        if b.buf is None:
            b.buf = ffi.new("char[]", b.size)
        status = lib.gokpl_producer_metrics(handle, ms, b.buf, b.size, length)
        if status == OK:
            raw = ffi.unpack(b.buf, length[0])
            break
        if status != ERR_BUFFER_TOO_SMALL:
            raise_for(status)
        # The snapshot may grow before the next call: leave some room.
        b.size = int(length[0]) + int(length[0]) // 4 + 1024
        b.buf = None
    return [_metric(m) for m in json.loads(raw)]


# Dimensions in the order of the KPL's metric path.
_DIMENSION_ORDER = {"ErrorCode": 0, "StreamName": 1, "ShardId": 2}


def _metric(m: dict[str, Any]) -> Metric:
    dims: dict[str, str] = m["dimensions"]
    return Metric(
        name=m["name"],
        dimensions=dict(sorted(dims.items(), key=lambda kv: (_DIMENSION_ORDER.get(kv[0], 3), kv[0]))),
        unit=m["unit"],
        level=m["level"],
        count=int(m["count"]),
        sum=float(m["sum"]),
        min=float(m["min"]),
        max=float(m["max"]),
        mean=float(m["mean"]),
    )


MetricsSink = Callable[[list[Metric]], object]
_SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


def _key(m: Metric) -> _SeriesKey:
    return m.name, tuple(sorted(m.dimensions.items()))


class IntervalStatistics:
    """A live producer's statistics since the previous ``take``: the metrics a sink gets each interval.

    Count and sum are the difference of two cumulative snapshots, so the
    intervals partition the samples exactly (their counts add up to the
    cumulative ones); min and max, which cannot be subtracted, come from a
    window covering the interval (rounded up to whole seconds, at most
    60 s). ``finish``, while the producer's handle is still valid, takes the
    last interval; ``take`` answers None from then on. Thread-safe.
    """

    def __init__(self, handle: int, interval_ms: int) -> None:
        self._handle = handle
        # The window min and max come from: the interval and the second it may straddle.
        self._extremes_ms = min(interval_ms + 1000, int(MAX_WINDOW_S * 1000))
        self._lock = threading.Lock()  # the previous snapshot, and whether finish() ran
        self._previous: dict[_SeriesKey, Metric] = {}
        self._finished = False

    def take(self) -> list[Metric] | None:
        """The statistics since the previous call; None once finish() has run. GokplError once closed."""
        with self._lock:
            if self._finished:
                return None
            recent = {_key(m): m for m in metrics_snapshot(self._handle, self._extremes_ms)}
            total = metrics_snapshot(self._handle, 0)
            out = [d for d in (self._since_previous(m, recent) for m in total) if d is not None]
            self._previous = {_key(m): m for m in total}
            return out

    def _since_previous(self, m: Metric, recent: dict[_SeriesKey, Metric]) -> Metric | None:
        key = _key(m)
        before = self._previous.get(key)
        if before is None:
            return m  # every sample so far falls in this interval
        count = m.count - before.count
        if count <= 0:
            return None
        total_sum = m.sum - before.sum
        mean = total_sum / count
        r = recent.get(key)
        low, high = (min(r.min, mean), max(r.max, mean)) if r is not None else (mean, mean)
        return dataclasses.replace(m, count=count, sum=total_sum, mean=mean, min=low, max=high)

    def finish(self) -> list[Metric] | None:
        """The last interval's statistics (None if the producer is already closed); ``take`` then stops."""
        try:
            final = self.take()
        except GokplError:
            log.debug("no last metrics snapshot for the metrics_sink", exc_info=True)
            final = None
        with self._lock:
            self._finished = True
        return final


class _CallableDelivery:
    """A plain callable sink, called on the metrics thread."""

    def __init__(self, sink: MetricsSink) -> None:
        self._sink = sink

    def open(self) -> None:
        pass

    def deliver(self, snapshot: list[Metric]) -> None:
        try:
            self._sink(snapshot)
        except Exception:
            log.exception("exception calling metrics_sink %r", self._sink)

    def close(self) -> None:
        pass


class _LoopDelivery:
    """A protocol sink (async ``export``), driven on an event loop private to the metrics thread."""

    def __init__(self, sink: object, granularity: str) -> None:
        from .sinks._exporter import SinkExporter

        self._exporter = SinkExporter(sink, granularity)
        self._loop: asyncio.AbstractEventLoop | None = None

    def open(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)  # for sinks that ask for the current loop
        self._run(self._exporter.open())

    def deliver(self, snapshot: list[Metric]) -> None:
        self._run(self._exporter.export(snapshot))

    def close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._run(self._exporter.close())
        self._run(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()

    def _run(self, step: Coroutine[Any, Any, None]) -> None:
        assert self._loop is not None
        try:
            self._loop.run_until_complete(step)
        except Exception:
            log.exception("exception in metrics_sink %r", self._exporter.sink)


def _delivery(sink: object, granularity: str) -> _CallableDelivery | _LoopDelivery:
    if is_protocol_sink(sink):
        return _LoopDelivery(sink, granularity)
    return _CallableDelivery(sink)  # type: ignore[arg-type]


class SinkThread:
    """Calls a producer's metrics_sink every interval on a ``gokpl-metrics`` daemon thread.

    Each call gets ``IntervalStatistics``: the samples since the previous
    call. A plain callable is called with the list of ``Metric``; a sink
    with an ``export`` method (``gokpl.sinks``' protocol) is entered, given
    ``MetricSnapshot`` tuples of the Config's ``metrics_granularity`` and
    exited on an event loop the thread keeps for it. ``finish``, at close,
    takes the last snapshot while the producer's handle is still valid; the
    thread delivers it, then ends. An exception in the sink is logged on the
    "gokpl" logger and the thread goes on.
    """

    def __init__(self, handle: int, sink: object, interval_ms: int, granularity: str = "stream") -> None:
        self._statistics = IntervalStatistics(handle, interval_ms)
        self._delivery = _delivery(sink, granularity)
        self._interval_ms = interval_ms
        self._final: list[Metric] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gokpl-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self._delivery.open()
        try:
            self._tick_until_stopped()
            self._stop.wait()
            if self._final is not None:
                self._delivery.deliver(self._final)
        finally:
            self._delivery.close()

    def _tick_until_stopped(self) -> None:
        interval = self._interval_ms / 1000
        due = time.monotonic() + interval
        while not self._stop.wait(max(due - time.monotonic(), 0.0)):
            due += interval
            now = time.monotonic()
            if due < now:  # fell behind (a slow sink): skip the missed ticks
                due = now + interval
            try:
                snapshot = self._statistics.take()
            except GokplError:
                return  # closed meanwhile: the last snapshot comes through finish()
            if snapshot is not None:
                self._delivery.deliver(snapshot)

    def finish(self) -> None:
        """Take the last snapshot (the producer is closing; its handle still valid) and end the thread."""
        self._final = self._statistics.finish()
        self._stop.set()

    def join(self, timeout: float | None) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)
