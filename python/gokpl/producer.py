"""Producer: the asyncio API, a drop-in for aiokpl's Producer, on the Go engine.

It is a thin layer over a SyncProducer (same engine, exit flush, fork check,
logging and metrics). What would block the loop goes elsewhere:

- a put tries the engine without waiting (``gokpl_producer_put_quick``, the
  C fast path), and only while the producer is full waits for room on the
  producer's ``gokpl-aio-puts`` lane (``_aio_lanes.py``): one thread doing
  blocking puts in 0.2 s slices, first come first served; later puts queue
  behind it so that none jumps the line;
- ``flush`` and the engine's start wait on the ``gokpl-aio-waits`` lane,
  ``close`` on its own;
- results reach the loop through the producer's completion queue
  (``Outcome.wait``, ``gokpl/_callbacks.py``): one ``call_soon_threadsafe``
  per batch of completions per loop.

Concurrency: a Producer may be used from any number of tasks, and from
several event loops (threads) at once: the engine is thread-safe, and every
wait resolves on the loop that awaits it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Any

from . import _exit, _native
from ._aio_lanes import AGAIN, Job, Lane
from ._config import Config
from ._errors import BackpressureTimeoutError, ProducerClosedError
from ._fastpath import quick_put as _quick_put
from ._metrics import Metric
from ._outcome import SyncOutcome
from ._producer import DEFAULT_CLOSE_TIMEOUT_S, BatchRecord, Data, ProducerStats, SyncProducer, Tags
from ._records import each_record
from ._result import RecordResult
from ._status import ERR_INVALID_HANDLE, TIMEOUT, raise_for
from ._timeout import WAIT_SLICE_MS, check_timeout
from .outcome import Outcome, as_outcome

_SLICE_S = WAIT_SLICE_MS / 1000


class Producer:
    """Publish records to Kinesis from asyncio code (asyncio or uvloop).

    ``async with Producer(config) as producer:`` starts the engine (off the
    loop) and, on exit, flushes every record put and waits for them to
    resolve, then shuts the engine down: records still open then (past the
    close timeout) resolve as failures with error code ``ProducerClosed``;
    none is left pending.

    ``await put_record(...)`` returns an Outcome at once while the producer
    has room (``max_outstanding_records``, ``max_outstanding_bytes``), and
    otherwise waits for room without blocking the loop, first come first
    served. Cancelling a put that waits for room puts nothing: the record is
    never sent.

    A Producer may be shared by tasks, and by event loops in several threads;
    each wait resolves on the loop that awaits it. ``exit_timeout`` bounds
    the flush of a producer still open at interpreter exit, as for
    SyncProducer. A process forked after the engine started gets
    ForkedProcessError from every call.
    """

    def __init__(self, config: Config, *, exit_timeout: float | None = _exit.DEFAULT_EXIT_TIMEOUT_S) -> None:
        self._sync = SyncProducer(config, exit_timeout=exit_timeout)
        self._puts = Lane("gokpl-aio-puts")
        self._puts_waiting = self._puts.jobs  # while not empty, a put queues behind them, to keep their order
        self._waits = Lane("gokpl-aio-waits")
        self._closing = Lane("gokpl-aio-close")  # its own thread: a close never queues behind a flush
        self._entered = False
        self._closed = False

    # Lifecycle

    async def __aenter__(self) -> Producer:
        """Start the engine, on a helper thread: the shared library loads then."""
        if self._closed:
            raise ProducerClosedError("Producer is closed, so not entered again: create a new one")
        self._sync.__enter__()
        await self._waits.submit(Job(self._sync._native_handle))
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self, timeout: float | None = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Flush for at most ``timeout`` seconds, then shut the engine down, without blocking the loop.

        Records still unresolved then resolve as failures with error code
        ``ProducerClosed``; puts from then on raise ProducerClosedError, and
        puts still waiting for room raise it too. ``timeout=None`` flushes
        without limit. A second close does nothing more: it returns once the
        first has, or when its own timeout passes. Cancelling the task that
        awaits close does not stop the close: it finishes on its thread.
        """
        seconds = check_timeout(timeout)
        sync = self._sync
        if self._closed:  # wait for the first close, off the loop
            await asyncio.get_running_loop().run_in_executor(None, sync._close, seconds, 1.0)
            return
        self._closed = True
        self._entered = False

        def close() -> None:
            sync._close(seconds, callbacks_grace=1.0)

        try:
            await asyncio.shield(self._closing.submit(Job(close)))  # runs even if this task is cancelled
        finally:
            for lane in (self._puts, self._waits, self._closing):
                lane.close()

    # Records

    async def put_record(
        self,
        *,
        stream: str,
        partition_key: str,
        data: Data,
        explicit_hash_key: str | None = None,
        tags: Tags = (),
    ) -> Outcome[RecordResult]:
        """Hand one record to the producer; return its Outcome.

        Returns at once while the producer has room; while it is full, waits
        for room without blocking the loop, in the order the puts came. The
        record is validated and copied; ``await outcome.wait()`` gives its
        RecordResult. Arguments and errors are those of
        ``SyncProducer.put_record``: InvalidRecordError (a ValueError) for a
        value that can never be sent, TypeError for a wrong type, both naming
        the argument. ``tags`` are those of SyncProducer.put_record (aiokpl's:
        ``Tag`` objects, ``(key, value)`` pairs or a mapping, written inside
        aggregated records). Before ``__aenter__`` or after close
        it raises ProducerClosedError (a RuntimeError). Cancelling a put that
        waits for room puts nothing.
        """
        sync = self._sync
        handle = sync._handle
        if handle and self._entered and explicit_hash_key is None and not tags and not self._puts_waiting:
            try:
                stream_b = sync._streams[stream]
            except (KeyError, TypeError):  # not cached yet, or not even hashable
                stream_b = sync._encode_stream(stream)
            outcome = _quick_put(handle, stream_b, partition_key, data, sync._completions)
            if outcome is not None:
                outcome.__class__ = Outcome  # as_outcome, inlined: every record comes this way
                return outcome  # type: ignore[no-any-return]
        return await self._put_waiting(stream, partition_key, data, explicit_hash_key, tags)

    async def _put_waiting(
        self, stream: Any, partition_key: Any, data: Any, explicit_hash_key: Any, tags: Any
    ) -> Outcome[RecordResult]:
        """put_record's route for what the quick put declined: a full producer, a record to
        check and explain, an explicit hash key, tags. Waits for room on the puts lane.

        Everything, tags included, goes through SyncProducer.put_record, so this put takes
        exactly what that one takes: when it learns to encode tags, so does this.
        """
        self._require_entered()
        sync = self._sync
        if isinstance(tags, Iterator):
            tags = tuple(tags)  # read once: the put may be tried again while the producer is full

        def put(timeout: float) -> SyncOutcome:
            return sync.put_record(
                stream=stream,
                partition_key=partition_key,
                data=data,
                explicit_hash_key=explicit_hash_key,
                tags=tags,
                timeout=timeout,
            )

        if not self._puts_waiting:
            try:
                return as_outcome(put(0))
            except BackpressureTimeoutError:
                pass

        def step() -> Any:
            try:
                return put(_SLICE_S)
            except BackpressureTimeoutError:
                return AGAIN
            except ProducerClosedError:
                raise self._not_entered() from None

        outcome: SyncOutcome = await self._puts.submit(Job(step, _withdraw))
        return as_outcome(outcome)

    async def put_records(self, stream: str, records: Iterable[BatchRecord]) -> list[Outcome[RecordResult]]:
        """Hand many records to one stream; return their Outcomes, index-aligned.

        The records and errors are those of ``SyncProducer.put_records``: a
        bad record raises (its message starting with ``records[i]``), the
        records before it staying put, with the exception's ``outcomes``
        holding their Outcomes and ``index`` the bad one's position. While the
        producer is full the call waits for room as put_record does.
        Cancelling it while it waits withdraws the records it put (a record
        already sent cannot be recalled) and puts no more.
        """
        self._require_entered()
        sync = self._sync
        rest = list(each_record(records))
        taken: list[SyncOutcome] = []

        def put_some(timeout: float) -> bool:
            """Put what is left; True once all of it is in, False when the producer stayed full."""
            try:
                taken.extend(sync.put_records(stream, rest[len(taken) :], timeout=timeout))
            except BackpressureTimeoutError as exc:
                taken.extend(exc.outcomes)  # type: ignore[attr-defined]
                return False
            except Exception as exc:
                before = len(taken)
                taken.extend(getattr(exc, "outcomes", ()))
                raise _batch_error(exc, before, taken) from None
            return True

        if not self._puts_waiting and put_some(0):
            return [as_outcome(o) for o in taken]

        def step() -> Any:
            return taken if put_some(_SLICE_S) else AGAIN

        # Cancelled, the lane withdraws what this call put (taken) once its slice ends.
        await self._puts.submit(Job(step, lambda _: _withdraw_all(taken)))
        return [as_outcome(o) for o in taken]

    async def flush(self) -> None:
        """Send everything buffered now and wait, without blocking the loop, until every record put
        so far is resolved (unlike aiokpl's, which only starts sending).

        Cancelling the wait leaves the flush to finish on its own.
        """
        self._require_entered()
        handle = self._sync._handle
        lib = _native._lib
        out = _native._ffi.new("uint64_t *")
        raise_for(lib.gokpl_producer_flush_begin(handle, out))
        ticket = int(out[0])

        def step() -> Any:
            status = lib.gokpl_producer_flush_wait(handle, ticket, WAIT_SLICE_MS)
            if status == TIMEOUT:
                return AGAIN
            if status == ERR_INVALID_HANDLE and self._closed:
                return None  # closed meanwhile: close resolved every record
            raise_for(status)
            return None

        await self._waits.submit(Job(step))

    @property
    def outstanding_records(self) -> int:
        """Records put and not yet resolved. Never blocks."""
        return self._sync.outstanding_records

    def metrics(self, window: float | None = None) -> list[Metric]:
        """A snapshot of the producer's metrics, as ``SyncProducer.metrics``. Never blocks."""
        return self._sync.metrics(window)

    def stats(self) -> ProducerStats:
        """A snapshot of the producer's counters, as ``SyncProducer.stats``. Never blocks."""
        return self._sync.stats()

    @property
    def config(self) -> Config:
        """The producer's configuration."""
        return self._sync.config

    # Internals

    def _require_entered(self) -> None:
        if self._closed or not self._entered:
            raise self._not_entered()

    def _not_entered(self) -> ProducerClosedError:
        if self._closed:
            return ProducerClosedError("Producer is closed and not entered any more: create a new one")
        return ProducerClosedError("Producer not entered: use 'async with Producer(config) as producer:'")

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._entered else "not entered"
        return f"<Producer {state} region={self.config.region!r} outstanding={self.outstanding_records}>"


def _withdraw(outcome: Any) -> None:
    """Give up a record put for a caller that stopped waiting (AGAIN: none was put):
    withdrawn unless already sent."""
    if outcome is not AGAIN:
        outcome.cancel()


def _withdraw_all(outcomes: list[SyncOutcome]) -> None:
    for outcome in outcomes:
        outcome.cancel()


_RECORD_INDEX = re.compile(r"^records\[(\d+)\]")


def _batch_error(exc: Exception, offset: int, taken: list[SyncOutcome]) -> Exception:
    """A put_records error from the part of the batch starting at offset, its index and message
    made the whole batch's, its outcomes every record put."""
    index = getattr(exc, "index", None)
    if index is not None:
        exc.index = index + offset  # type: ignore[attr-defined]
        if exc.args and isinstance(exc.args[0], str):
            exc.args = (_RECORD_INDEX.sub(f"records[{index + offset}]", exc.args[0]), *exc.args[1:])
        exc.outcomes = [as_outcome(o) for o in taken]  # type: ignore[attr-defined]
    return exc


__all__ = ["Outcome", "Producer"]
