"""SyncProducer: the blocking producer API, a drop-in for aiokpl's."""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from array import array
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any, Union

from . import _exit, _logs, _metrics, _native
from ._callbacks import Completions
from ._config import Config
from ._errors import (
    BackpressureTimeoutError,
    ConfigError,
    InvalidRecordError,
    ProducerClosedError,
)
from ._fastpath import quick_put as _quick_put
from ._metrics import Metric
from ._native import _scratches
from ._outcome import SyncOutcome
from ._records import (
    NativeTags,
    about_stream,
    as_buffer,
    batch_error,
    batch_record,
    check_data,
    check_tags,
    each_record,
    encode_hash_key,
    encode_text,
    not_unicode,
    packed_batch,
    struct_batch,
)
from ._status import ERR_BACKPRESSURE, ERR_INVALID_HANDLE, OK, TIMEOUT, error_for, raise_for
from ._timeout import check_timeout, deadline_of, passed, slice_ms, wait_in_slices
from .aggregation import Tag

log = logging.getLogger("gokpl")

_BACKENDS = ("asyncio", "trio")
DEFAULT_CLOSE_TIMEOUT_S = 30.0
# Encoded stream names kept per producer; past this many the cache starts over.
_STREAM_CACHE_SIZE = 1024

Data = Union[bytes, bytearray, memoryview]
#: One record of put_records: a mapping with "partition_key", "data" and
#: optionally "explicit_hash_key", or a tuple (partition_key, data) or
#: (partition_key, data, explicit_hash_key).
BatchRecord = Union[Mapping[str, Any], tuple[str, Data], tuple[str, Data, Union[str, None]]]
# A record's tags: Tag objects (gokpl.aggregation.Tag, or anything with key and value) or
# (key, value) pairs, or a mapping of key to value; a value of None is a tag without one.
Tags = Union[Iterable[Union[Tag, tuple[str, Union[str, None]]]], Mapping[str, Union[str, None]], None]


@dataclasses.dataclass(frozen=True)
class ProducerStats:
    """A snapshot of a producer's counters since it started (``SyncProducer.stats()``).

    Counts are of user records unless they say otherwise.
    """

    records_put: int = 0  #: accepted by a put
    records_succeeded: int = 0  #: resolved with success
    records_failed: int = 0  #: resolved with failure (expired and closed included)
    records_cancelled: int = 0  #: withdrawn or resolved locally by SyncOutcome.cancel
    records_retried: int = 0  #: attempts that sent a record back into the pipeline
    kinesis_records_sent: int = 0  #: PutRecords entries sent, aggregated or not
    requests: int = 0  #: PutRecords requests completed
    request_errors: int = 0  #: PutRecords requests that failed as a whole
    outstanding_records: int = 0  #: put and not yet resolved
    #: bytes counted against max_outstanding_bytes now: the records' data and keys,
    #: 512 bytes of bookkeeping each, and the request bodies in flight
    outstanding_bytes: int = 0
    requests_throttled: int = 0  #: PutRecords requests throttled as a whole or in at least one entry


class SyncProducer:
    """Publish records to Kinesis from blocking code.

    Use it as a context manager, or call ``__enter__()`` once at module level
    (the Flask pattern) and ``close()`` at exit. ``put_record`` is safe to call
    from any number of threads at once.

    The Go engine starts lazily, on the first record: importing gokpl,
    constructing or entering a SyncProducer loads nothing, so a module-level
    producer survives ``gunicorn --preload`` and Celery's prefork pool, as long
    as the first put happens in the worker process.

    ``backend`` is accepted for compatibility with aiokpl ("asyncio" or
    "trio") and not needed: the engine runs in Go, outside any event loop.

    ``exit_timeout`` bounds the flush at interpreter exit: a producer still
    open when the process ends (normally, or a multiprocessing/billiard
    child's end) is flushed for at most that many seconds, then closed, so
    the process exits promptly. ``None`` turns the exit-time flush off for
    this producer. Closing the producer yourself makes it a no-op, and the
    hook is installed when the producer is made, so a close the application
    registers with ``atexit`` afterwards runs first, with its own timeout.
    """

    def __init__(
        self,
        config: Config,
        *,
        backend: str = "asyncio",
        exit_timeout: float | None = _exit.DEFAULT_EXIT_TIMEOUT_S,
    ) -> None:
        if not isinstance(config, Config):
            raise TypeError(f"config must be a gokpl.Config, got {type(config).__name__}")
        if backend not in _BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
        if exit_timeout is not None:
            if isinstance(exit_timeout, bool) or not isinstance(exit_timeout, (int, float)):
                raise TypeError(f"exit_timeout must be a number of seconds or None, got {type(exit_timeout).__name__}")
            if not exit_timeout >= 0:
                raise ConfigError(f"exit_timeout must be >= 0 seconds (or None), got {exit_timeout!r}")
        # None turns the exit flush off; no limit (inf, or an int beyond every float) is inf here.
        limit = None if exit_timeout is None else check_timeout(exit_timeout, "exit_timeout")
        self._exit_timeout = None if exit_timeout is None else math.inf if limit is None else limit
        if self._exit_timeout is not None:
            _exit.install()  # now, before the application's own atexit functions
        self._config = config
        self._config_json = config.to_json()
        self._backend = backend
        self._lock = threading.Lock()
        self._handle = 0
        self._completions = Completions(0)  # replaced when the engine starts
        self._sink_thread: _metrics.SinkThread | None = None  # started with the engine, given a metrics_sink
        self._entered = False
        self._closed = False
        self._close_done = threading.Event()  # set once the first close has returned
        self._streams: dict[str, bytes] = {}

    # Lifecycle

    def __enter__(self) -> SyncProducer:
        with self._lock:
            if self._closed:
                raise ProducerClosedError("SyncProducer is closed; create a new one")
            self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Flush for at most ``timeout`` seconds, then shut the engine down.

        Records still unresolved then resolve as failures with error code
        ``ProducerClosed``, and their done-callbacks run before close returns:
        close waits for them until the timeout, and at least 1 s, so a short
        timeout with slow callbacks can take up to 1 s.
        ``timeout=None`` (or ``math.inf``) flushes without limit and waits for
        the callbacks without limit; a negative timeout is 0. A timeout that
        is not a number raises TypeError, NaN ValueError, and the producer
        stays open. A second close does nothing more: it returns once the
        first has returned, or when its own timeout passes. Interruptible:
        the flush waits in slices of at most 0.2 s.
        """
        self._close(check_timeout(timeout), callbacks_grace=1.0)

    def _close(self, timeout: float | None, callbacks_grace: float) -> None:
        """close() with a checked timeout (None: no limit), waiting at least
        callbacks_grace seconds for the callback thread."""
        with self._lock:
            closing = not self._closed
            self._closed = True
            self._entered = False
            handle, self._handle = self._handle, 0
        if not closing:
            _wait_for(self._close_done, deadline_of(timeout))
            return
        try:
            if handle:
                self._shut_down(handle, timeout, callbacks_grace)
        finally:
            self._close_done.set()

    def _shut_down(self, handle: int, timeout: float | None, callbacks_grace: float) -> None:
        """The first close of an engine that started: flush, close it, wait for the callbacks."""
        _exit.unregister(self)
        lib = _native._lib
        deadline = deadline_of(timeout)
        try:
            if _flush(lib, handle, deadline) == TIMEOUT:
                log.warning("close: flush did not finish in %ss; failing the records left", timeout)
        finally:
            sink = self._sink_thread
            try:
                if sink is not None:
                    sink.finish()  # its last snapshot, while the handle is still valid
            finally:
                buf = _native.error_buffer()
                status = lib.gokpl_producer_close(handle, 0, buf, _native.ERROR_BUFFER_SIZE)
                _native.free_released()
            if status not in (OK, TIMEOUT):
                raise_for(status, _native.message(buf))
        # Not when interrupted: the callbacks and the last metrics_sink call then run on without waiting for them.
        join_until = None if deadline is None else max(deadline, time.monotonic() + callbacks_grace)
        self._completions.join(_seconds_left(join_until))
        if sink is not None:
            sink.join(_seconds_left(join_until))

    # Records

    def put_record(
        self,
        *,
        stream: str,
        partition_key: str,
        data: Data,
        explicit_hash_key: str | None = None,
        tags: Tags = (),
        timeout: float | None = None,
    ) -> SyncOutcome:
        """Hand one record to the producer; return its SyncOutcome at once.

        The record is validated and copied; it is sent in the background and
        the outcome resolves with its RecordResult. ``data`` is bytes,
        bytearray or memoryview (of contiguous memory); ``explicit_hash_key``
        a decimal string in [0, 2^128-1] that picks the shard instead of the
        partition key's MD5. While the producer is full
        (``max_outstanding_records`` or ``max_outstanding_bytes``) the call
        blocks, without limit or for ``timeout`` seconds, then raises
        BackpressureTimeoutError (a TimeoutError). Invalid values raise
        InvalidRecordError (a ValueError), wrong types TypeError, both naming
        the argument. ``tags``, as in aiokpl, are a sequence of
        ``gokpl.aggregation.Tag(key, value=None)`` (any object with ``key``
        and ``value`` attributes will do), ``(key, value)`` pairs, or a
        mapping of key to value; keys are str (an empty one too), values str
        or None (a tag without a value, unlike ""). Tags are written as the
        KPL format's Tag entries of the record inside an aggregated Kinesis
        record (read them with ``gokpl.aggregation.decode_aggregated``). A
        record sent unaggregated has no place for them and goes without its
        tags: with ``aggregation_enabled=False``, when it leaves its shard's
        buffer alone, when it is too large to share a Kinesis record, and in
        the other cases docs/aggregation.md lists. Tags that could never fit
        in an aggregated record (over 1 MiB encoded) raise
        InvalidRecordError. ``timeout`` follows the rule of every wait: None or
        ``math.inf`` without limit, a negative number as 0, TypeError for a
        non-number and ValueError for NaN, checked before anything is put.
        """
        if timeout is not None:
            timeout = check_timeout(timeout)
        try:
            stream_b = self._streams[stream]
        except (KeyError, TypeError):  # not cached yet, or not even hashable
            stream_b = self._encode_stream(stream)
        handle = self._handle
        if handle and explicit_hash_key is None and not tags:
            # The common case, a str key and bytes or bytearray data, in one
            # C call (gokpl/_fastpath.c); whatever it declines, None, takes
            # the one other route. When the library declined the record (a
            # full producer, a bad record) that route encodes the key again:
            # handing the encoded key back instead would cost every put a
            # type check of the answer (about 7 ns, 1 %), to save an encoding
            # on a put that waits for room or fails.
            outcome = _quick_put(handle, stream_b, partition_key, data, self._completions)
            if outcome is not None:
                return outcome  # type: ignore[no-any-return]
            return self._put(stream_b, partition_key, data, None, tags, timeout, True)
        return self._put(stream_b, partition_key, data, explicit_hash_key, tags, timeout, False)

    def _put(
        self,
        stream_b: bytes,
        partition_key: Any,
        data: Any,
        explicit_hash_key: Any,
        tags: Any,
        timeout: float | None,
        after_quick: bool,
    ) -> SyncOutcome:
        """put_record's route for whatever the C quick put declined: check every argument Python
        can before the engine starts (on the first put), and the rest in the engine before anything
        is put, then put, waiting for room in slices while the producer is full, or say what is wrong.

        after_quick: the quick put saw the record first (and offered it to the library if its
        types were the common ones).
        """
        quick_tried = after_quick and type(partition_key) is str and type(data) in (bytes, bytearray)
        key_b = encode_text("partition_key", partition_key)
        check_data(data, "data")
        hash_b = None if explicit_hash_key is None else encode_hash_key(explicit_hash_key)
        tags_e = None if tags is None or (type(tags) is tuple and not tags) else check_tags(tags)
        handle = self._handle or self._native_handle()
        if type(data) is not bytes:
            data = as_buffer(data, "data")
        lib = _native._lib
        native_tags = NativeTags(_native._ffi, tags_e) if tags_e else None
        if hash_b is None and native_tags is None and not quick_tried:
            # A record the quick put did not try (memoryview data, the first
            # put) is tried once without waiting, through the call that keeps
            # the GIL (build_native.KEEP_GIL): gokpl_producer_put releases it,
            # which made a memoryview put about 1.5 us slower (4.1-4.6 us
            # against 2.3-3.0 us a record on the benchmark machine).
            h = lib.gokpl_producer_put_quick(handle, stream_b, len(stream_b), key_b, len(key_b), data, len(data))
            if h > 0:
                return SyncOutcome(h, self._completions)
        return _put_in_slices(lib, handle, stream_b, key_b, hash_b, data, native_tags, timeout, self._completions)

    def put_records(
        self, stream: str, records: Iterable[BatchRecord], *, timeout: float | None = None
    ) -> list[SyncOutcome]:
        """Hand many records to one stream in one native call; return their outcomes, index-aligned.

        Each record is a mapping with ``"partition_key"``, ``"data"`` and
        optionally ``"explicit_hash_key"``, or a tuple ``(partition_key, data)``
        or ``(partition_key, data, explicit_hash_key)``, with the types and
        rules of put_record. Records go in in order. A bad record raises
        (TypeError or InvalidRecordError, the message starting with
        ``records[i]``), and the records before it stay put: the exception's
        ``outcomes`` attribute holds their outcomes and ``index`` the bad one's
        position. A full producer blocks the call as put_record does, with
        ``timeout`` bounding the whole batch; on BackpressureTimeoutError,
        ``outcomes`` likewise holds the outcomes of the records that went in.
        ``stream`` and ``timeout`` (the rule of put_record's) are checked
        before any record is put; a stream the engine refuses raises
        InvalidRecordError without ``records[i]``, with ``index`` None and
        no ``outcomes``.
        """
        seconds = check_timeout(timeout)
        self._require_open()
        try:
            stream_b = self._streams[stream]
        except (KeyError, TypeError):
            stream_b = self._encode_stream(stream)
        # Check and encode every record, then join the keys, data and hash keys
        # into three buffers the native records point into: far cheaper than
        # a cffi buffer per field.
        keys: list[bytes] = []
        datas: list[Any] = []
        data_lens: list[int] = []
        hashes: dict[int, bytes] = {}
        bad: Exception | None = None
        record: Any
        for i, record in enumerate(each_record(records)):
            try:
                if type(record) is tuple and len(record) == 2 and type(record[0]) is str and type(record[1]) is bytes:
                    key_b, data = record[0].encode(), record[1]
                    size = len(data)
                else:
                    key_b, data, size, hash_b = batch_record(record)
                    if hash_b is not None:
                        hashes[i] = hash_b
            except UnicodeEncodeError:  # the first case's key (the other raises InvalidRecordError)
                bad = not_unicode("partition_key", record[0])
                break
            except (TypeError, InvalidRecordError) as exc:
                bad = exc
                break
            keys.append(key_b)
            datas.append(data)
            data_lens.append(size)
        count = len(keys)
        if count == 0:  # nothing to put: the engine need not start
            if bad is not None:
                raise batch_error(bad, 0, [])
            return []
        handle = self._handle or self._native_handle()
        ffi, lib = _native._ffi, _native._lib
        outs = array("Q", bytes(8 * max(count, 1)))
        outs_c = ffi.from_buffer("gokpl_outcome[]", outs)
        accepted = ffi.new("size_t *")
        err = _native.error_buffer()
        if hashes:
            put_from = struct_batch(ffi, lib, handle, stream_b, keys, datas, data_lens, hashes)
        else:
            put_from = packed_batch(ffi, lib, handle, stream_b, keys, datas, data_lens)
        completions = self._completions
        outcomes: list[SyncOutcome] = []

        def put_rest(ms: int) -> int:
            done = len(outcomes)
            status = put_from(done, ms, outs_c + done, accepted, err)
            outcomes.extend([SyncOutcome(h, completions) for h in outs[done : done + accepted[0]]])
            return status

        status = wait_in_slices(put_rest, deadline_of(seconds), again=ERR_BACKPRESSURE)
        if status != OK:
            failure = error_for(status, _native.message(err))
            if not outcomes and about_stream(failure):  # no record's fault: every record has the stream
                failure.index, failure.outcomes = None, []  # type: ignore[attr-defined]
                raise failure
            raise batch_error(failure, len(outcomes), outcomes)
        if bad is not None:
            raise batch_error(bad, count, outcomes)
        return outcomes

    def flush(self, timeout: float | None = None) -> None:
        """Send everything buffered now and wait until every record put so far is resolved.

        ``timeout`` in seconds (None or ``math.inf``: no limit; negative: 0);
        raises TimeoutError when it passes first, TypeError for a timeout
        that is not a number and ValueError for NaN. Waits in slices of at
        most 0.2 s.
        """
        seconds = check_timeout(timeout)
        self._require_open()
        handle = self._handle
        if not handle:
            return  # nothing was ever put
        status = _flush(_native._lib, handle, deadline_of(seconds))
        raise_for(status, f"SyncProducer.flush timed out after {timeout}s" if status == TIMEOUT else "")

    @property
    def outstanding_records(self) -> int:
        """Records put and not yet resolved."""
        handle = self._handle
        if not handle:
            return 0
        s = _native.take_scratch()
        status = _native._lib.gokpl_producer_outstanding(handle, s.i64)
        n = int(s.i64[0])
        _native.give_scratch(s)
        if status == ERR_INVALID_HANDLE:
            return 0  # closed meanwhile
        raise_for(status)
        return n

    def stats(self) -> ProducerStats:
        """A snapshot of the producer's counters; all zero before the first put.

        Raises ProducerClosedError after close: take the last snapshot before.
        """
        if self._closed:
            raise ProducerClosedError("the producer is closed")
        handle = self._handle
        if not handle:
            return ProducerStats()
        ffi, lib = _native.ffi_lib()
        out = ffi.new("gokpl_stats *")
        raise_for(lib.gokpl_producer_stats(handle, out))
        return ProducerStats(**{f.name: int(getattr(out, f.name)) for f in dataclasses.fields(ProducerStats)})

    def metrics(self, window: float | None = None) -> list[Metric]:
        """A snapshot of the producer's metrics: the Amazon KPL's names, units and dimensions.

        ``window`` in seconds: the statistics of the last ``window`` seconds
        (more than 0, at most 60, rounded up to whole seconds; the current
        second counts as one), or None for everything since the producer
        started. The metrics are kept whatever ``metrics_level`` is. Series
        without samples in the window are left out; the list is empty before
        the first put. Raises ValueError for a window out of range and
        ProducerClosedError after close: take the last snapshot before.
        """
        ms = _metrics.window_ms(window)
        if self._closed:
            raise ProducerClosedError("the producer is closed")
        handle = self._handle
        if not handle:
            return []
        return _metrics.metrics_snapshot(handle, ms)

    @property
    def config(self) -> Config:
        """The producer's configuration."""
        return self._config

    # Internals

    def _require_open(self) -> None:
        # Both messages say "not entered", as aiokpl's do, for code that matches them.
        if self._closed:
            raise ProducerClosedError("SyncProducer is closed (not entered any more); create a new one")
        if not self._entered:
            raise ProducerClosedError(
                "SyncProducer not entered: use 'with SyncProducer(config) as producer:' or call __enter__()"
            )

    def _native_handle(self) -> int:
        """The engine's producer handle, created on first use (this loads the library)."""
        with self._lock:
            self._require_open()
            if not self._handle:
                handle = self._create()
                # The completions first: a thread that sees the handle uses them.
                self._completions = Completions(handle)
                sink = self._config.metrics_sink
                if sink is not None:
                    interval = self._config.metrics_upload_interval_ms
                    self._sink_thread = _metrics.SinkThread(handle, sink, interval, self._config.metrics_granularity)
                self._handle = handle
                _exit.register(self)
            return self._handle

    def _create(self) -> int:
        ffi, lib = _native.ffi_lib()
        _logs.start()
        if not self._config.verify_ssl:
            _warn_verify_ssl_once()
        out = ffi.new("gokpl_producer *")
        buf = _native.error_buffer()
        config = self._config_json.encode()
        raise_for(
            lib.gokpl_producer_new(config, len(config), out, buf, _native.ERROR_BUFFER_SIZE), _native.message(buf)
        )
        return int(out[0])

    def _encode_stream(self, stream: Any) -> bytes:
        encoded = encode_text("stream", stream)
        if len(self._streams) >= _STREAM_CACHE_SIZE:
            self._streams.clear()
        self._streams[stream] = encoded
        return encoded

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._entered else "not entered"
        if self._handle and _native.forked():  # the engine is the parent's: there is no count to read
            return f"<SyncProducer {state} region={self._config.region!r} unusable in this forked process>"
        return f"<SyncProducer {state} region={self._config.region!r} outstanding={self.outstanding_records}>"


_verify_ssl_warned = False


def _wait_for(event: threading.Event, deadline: float | None) -> None:
    """Wait until event is set or deadline (time.monotonic(); None: none) passes, in slices of at
    most 0.2 s, so that Ctrl-C acts promptly."""
    while not event.wait(slice_ms(deadline) / 1000):
        if passed(deadline):
            return


def _warn_verify_ssl_once() -> None:
    global _verify_ssl_warned
    if not _verify_ssl_warned:
        _verify_ssl_warned = True
        log.warning(
            "verify_ssl=False: TLS certificates of the Kinesis endpoint are not verified; "
            "use it only with a local emulator"
        )


def _put_in_slices(
    lib: Any,
    handle: int,
    stream_b: bytes,
    key_b: bytes,
    hash_b: bytes | None,
    data: Any,
    tags: NativeTags | None,
    timeout: float | None,
    completions: Completions,
) -> SyncOutcome:
    """One record through gokpl_producer_put, in slices while the producer is full, until timeout.

    Apart from _put so that its closure's variables cost nothing to the puts that return before it.
    """
    hash_c = _native._ffi.NULL if hash_b is None else hash_b
    hash_len = 0 if hash_b is None else len(hash_b)
    tags_c, tag_count = (_native._ffi.NULL, 0) if tags is None else (tags.array, tags.count)
    try:  # _native.take_scratch(), inlined
        s = _scratches.pop()
    except IndexError:
        s = _native.Scratch()

    def put(ms: int) -> int:
        return int(
            lib.gokpl_producer_put(
                handle, stream_b, len(stream_b), key_b, len(key_b), hash_c, hash_len,
                data, len(data), tags_c, tag_count, ms, s.handle, s.err, _native.ERROR_BUFFER_SIZE,
            )
        )  # fmt: skip

    status = wait_in_slices(put, deadline_of(timeout), again=ERR_BACKPRESSURE)
    if status != OK:
        message = _native.message(s.err)
        _scratches.append(s)
        raise error_for(status, message)
    outcome = SyncOutcome(s.handle[0], completions)
    _scratches.append(s)
    return outcome


def _seconds_left(deadline: float | None) -> float | None:
    """Seconds until deadline, at least 0; None (no limit) for None."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


def _flush(lib: Any, handle: int, deadline: float | None) -> int:
    """Begin one flush and wait for it in slices until the deadline (None: none); GOKPL_OK or
    GOKPL_TIMEOUT. The flush covers the records put before the call, so puts from other threads
    meanwhile cannot stretch it."""
    out = _native._ffi.new("uint64_t *")
    raise_for(lib.gokpl_producer_flush_begin(handle, out))
    ticket = int(out[0])
    status = wait_in_slices(lambda ms: lib.gokpl_producer_flush_wait(handle, ticket, ms), deadline)
    if status not in (OK, TIMEOUT):
        raise_for(status)
    return status


__all__ = ["BackpressureTimeoutError", "BatchRecord", "ProducerStats", "SyncProducer"]
