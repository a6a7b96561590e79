"""Metrics: the Metric snapshot type, reading snapshots from the library, and the metrics_sink thread.

The engine computes the Amazon KPL's metrics whatever ``metrics_level`` is
(that level only decides what is uploaded to CloudWatch).
``gokpl_producer_metrics`` hands a snapshot over as JSON; ``metrics_snapshot``
reads it into ``Metric`` objects. A ``Config(metrics_sink=...)`` gets the
statistics since its previous call every ``metrics_upload_interval_ms``
from a ``gokpl-metrics`` daemon thread of its producer (Go never calls
into Python), and a last time when the producer closes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from . import _native
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


class SinkThread:
    """Calls a producer's metrics_sink every interval on a ``gokpl-metrics`` daemon thread.

    Each call gets the statistics of the samples since the previous call:
    count and sum are the difference of two cumulative snapshots, so the
    calls partition the samples exactly (their counts add up to the
    cumulative ones); min and max, which cannot be subtracted, come from a
    window covering the interval (rounded up to whole seconds, at most 60 s).
    ``finish``, at close, takes the last snapshot while the producer's handle
    is still valid; the thread delivers it, then ends. An exception in the
    sink is logged on the "gokpl" logger and the thread goes on.
    """

    def __init__(self, handle: int, sink: MetricsSink, interval_ms: int) -> None:
        self._handle = handle
        self._sink = sink
        self._interval_ms = interval_ms
        # The window min and max come from: the interval and the second it may straddle.
        self._extremes_ms = min(interval_ms + 1000, int(MAX_WINDOW_S * 1000))
        self._lock = threading.Lock()  # the previous snapshot, and whether finish() ran
        self._previous: dict[_SeriesKey, Metric] = {}
        self._finished = False
        self._final: list[Metric] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gokpl-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        interval = self._interval_ms / 1000
        due = time.monotonic() + interval
        while not self._stop.wait(max(due - time.monotonic(), 0.0)):
            due += interval
            now = time.monotonic()
            if due < now:  # fell behind (a slow sink): skip the missed ticks
                due = now + interval
            try:
                snapshot = self._next()
            except GokplError:
                break  # closed meanwhile: the last snapshot comes through finish()
            if snapshot is not None:
                self._deliver(snapshot)
        self._stop.wait()
        if self._final is not None:
            self._deliver(self._final)

    def _next(self) -> list[Metric] | None:
        """The statistics since the previous snapshot; None once finish() has run."""
        with self._lock:
            if self._finished:
                return None
            recent = {_key(m): m for m in metrics_snapshot(self._handle, self._extremes_ms)}
            total = metrics_snapshot(self._handle, 0)
            out = []
            for m in total:
                key = _key(m)
                before = self._previous.get(key)
                if before is None:
                    out.append(m)  # every sample so far falls in this interval
                    continue
                count = m.count - before.count
                if count <= 0:
                    continue
                total_sum = m.sum - before.sum
                mean = total_sum / count
                r = recent.get(key)
                low, high = (min(r.min, mean), max(r.max, mean)) if r is not None else (mean, mean)
                out.append(dataclasses.replace(m, count=count, sum=total_sum, mean=mean, min=low, max=high))
            self._previous = {_key(m): m for m in total}
            return out

    def finish(self) -> None:
        """Take the last snapshot (the producer is closing; its handle still valid) and end the thread."""
        try:
            final = self._next()
        except GokplError:
            log.debug("no last metrics snapshot for the metrics_sink", exc_info=True)
            final = None
        with self._lock:
            self._finished = True
        self._final = final
        self._stop.set()

    def join(self, timeout: float | None) -> None:
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _deliver(self, snapshot: list[Metric]) -> None:
        try:
            self._sink(snapshot)
        except Exception:
            log.exception("exception calling metrics_sink %r", self._sink)
