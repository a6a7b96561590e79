"""SyncOutcome: a blocking handle on one record's result.

The class is here; what every record goes through (holding the handle and
the state, done(), wait() on a resolved outcome, releasing the handle) is
its C base, gokpl/_fastpath.c, which calls back only into the functions
bound below. Safe to use from any thread: callbacks are guarded by one
lock, everything else is a native call or a read of a final state.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic

from . import _fastpath, _native
from ._errors import SyncOutcomeCancelled
from ._fastpath import OutcomeBase
from ._native import _scratches
from ._result import Attempt, lazy_result
from ._status import ERR_BUFFER_TOO_SMALL, ERR_PENDING, TIMEOUT, raise_for
from ._timeout import check_timeout, deadline_of, wait_in_slices

log = logging.getLogger("gokpl")

# SyncOutcome._callbacks once the callbacks ran (or were handed to a thread to run).
_FIRED: list[Callable[[SyncOutcome], object]] = []
# Guards every outcome's _callbacks; callbacks are rare enough to share it.
_callbacks_lock = threading.Lock()
# SyncOutcome._state until the outcome is known to be done: gokpl_outcome_state's answer then.
_PENDING = -ERR_PENDING

# SyncOutcome's type parameter, for aiokpl's annotations (SyncOutcome[RecordResult]).
# Its default makes a bare SyncOutcome mean the same to a type checker; the
# default needs typing_extensions before Python 3.13, which type checkers
# bundle, so it is declared to them only.
if TYPE_CHECKING:
    from typing_extensions import TypeVar

    from ._result import RecordResult

    T = TypeVar("T", default=RecordResult)
else:
    from typing import TypeVar

    T = TypeVar("T")


class SyncOutcome(OutcomeBase, Generic[T]):
    """The pending result of one ``put_record``.

    ``done()`` says whether it resolved, ``wait()`` blocks for the
    RecordResult, ``cancel()`` resolves it locally, ``add_done_callback()``
    runs a function once it is done. Safe to use from any thread. The native
    handle is released when the object is garbage collected (and freed with
    the next 255 others, or when a producer closes); a RecordResult that has
    not read all its fields yet keeps it alive.

    ``done()``, ``wait()`` and the release are in C (gokpl/_fastpath.c):
    they run for every record.
    """

    __slots__ = ()

    def cancel(self) -> bool:
        """Resolve the outcome locally as cancelled; False if it was already resolved.

        A record not yet sent is withdrawn and never sent. A record already in a
        PutRecords request cannot be recalled: it may still be written to the
        stream. ``wait()`` then raises SyncOutcomeCancelled.
        """
        if self._state != _PENDING:
            return False
        s = _native.take_scratch()
        status = _native._lib.gokpl_outcome_cancel(self._handle, s.flag)
        cancelled = bool(s.flag[0])
        _native.give_scratch(s)
        raise_for(status)
        return cancelled

    def add_done_callback(self, fn: Callable[[SyncOutcome], object]) -> None:
        """Call ``fn(outcome)`` once, when the record resolves or is cancelled.

        Callbacks run on the producer's callback thread (one ``gokpl-callbacks``
        daemon thread per producer, started on first need), in the order they
        were added; never on a Go thread. If the outcome is already done, ``fn``
        runs at once in the calling thread, as with concurrent.futures. An
        exception from ``fn`` is logged on the "gokpl" logger and ignored. Keep
        callbacks short: they run one after another on that thread. When
        ``close()`` returns, the callbacks of every record it resolved have run
        (unless one of them is still running after the close timeout). A
        ``fn`` that is not callable raises TypeError and is not added.
        """
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {type(fn).__name__}")
        with _callbacks_lock:
            callbacks = self._callbacks
            if callbacks is None and self._state == _PENDING:
                self._callbacks = [fn]
                register = True
            elif callbacks is not None and callbacks is not _FIRED:
                callbacks.append(fn)
                return
            else:
                register = False
        if register and self._completions.notify(self):
            return
        if register:
            self._run_callbacks()  # already done: run them here
        else:
            _call(fn, self)

    def _run_callbacks(self) -> None:
        """Run the registered callbacks, once."""
        run_callbacks_of([self])

    def _read_ids(self) -> tuple[str | None, str | None]:
        """The resolved outcome's shard id and sequence number (for RecordResult)."""
        try:  # _native.take_scratch(), inlined
            s = _scratches.pop()
        except IndexError:
            s = _native.Scratch()
        out = s.result
        status = _native._lib.gokpl_outcome_result(self._handle, out, s.strings, _native.STRINGS_SIZE)
        if status == ERR_BUFFER_TOO_SMALL:  # a long error message; the ids need no more room
            handle = self._handle
            strings = _read_strings(lambda buf, cap: _native._lib.gokpl_outcome_result(handle, out, buf, cap), out)
            _scratches.append(s)
            return strings[0], strings[1]
        raise_for(status)
        n = out.shard_id_len
        raw = _native._unpack(s.strings, n + out.sequence_number_len)
        _scratches.append(s)
        return raw[:n].decode() or None, raw[n:].decode() or None

    def _read_attempts(self) -> tuple[Attempt, ...]:
        """Every attempt of the resolved outcome, in order (for RecordResult.attempts)."""
        handle = self._handle
        return tuple(_read_attempt(handle, i) for i in range(self._state >> 1))

    def __repr__(self) -> str:
        try:
            if self.done():
                return f"<SyncOutcome done {self.wait(0)!r}>"
        except SyncOutcomeCancelled:
            return "<SyncOutcome cancelled>"
        except Exception:
            return "<SyncOutcome (handle no longer valid)>"
        return "<SyncOutcome pending>"


def _wait_until_done(handle: int, timeout: Any) -> None:
    """SyncOutcome.wait for an outcome not done yet (called by its C base): native waits of at most
    0.2 s until it is done; TimeoutError once the timeout passes."""
    lib = _native._lib
    status = wait_in_slices(lambda ms: lib.gokpl_outcome_wait(handle, ms), deadline_of(check_timeout(timeout)))
    raise_for(status, f"SyncOutcome.wait timed out after {timeout}s" if status == TIMEOUT else "")


_fastpath.bind(SyncOutcome, lazy_result, _wait_until_done, raise_for, check_timeout, _native.unavailable)


def run_callbacks_of(outcomes: list[SyncOutcome[Any] | None]) -> None:
    """Run the registered callbacks of each outcome (None: none), once, with
    the lock taken once for all of them."""
    taken = []
    with _callbacks_lock:
        for outcome in outcomes:
            if outcome is not None:
                callbacks = outcome._callbacks
                outcome._callbacks = _FIRED
                if callbacks:  # not None, and not _FIRED (empty)
                    taken.append((outcome, callbacks))
    for outcome, callbacks in taken:
        for fn in callbacks:
            _call(fn, outcome)


def _call(fn: Callable[[SyncOutcome[Any]], object], outcome: SyncOutcome[Any]) -> None:
    try:
        fn(outcome)
    except Exception:
        log.exception("exception calling callback for %r", outcome)


def _read_attempt(handle: int, index: int) -> Attempt:
    ffi, lib = _native.ffi_lib()
    out = ffi.new("gokpl_attempt *")
    strings = _read_strings(lambda buf, cap: lib.gokpl_outcome_attempt(handle, index, out, buf, cap), out)
    shard_id, sequence_number, error_code, error_message = strings
    return Attempt(
        out.started_at_ns / 1e9,
        out.ended_at_ns / 1e9,
        bool(out.success),
        shard_id,
        sequence_number,
        error_code,
        error_message,
    )


def _read_strings(call: Callable[[Any, int], int], out: Any) -> tuple[str | None, str | None, str | None, str | None]:
    """Run a result or attempt accessor, growing the buffer while it is too small.

    Returns the four strings, None where empty.
    """
    ffi, _ = _native.ffi_lib()
    size = _native.STRINGS_SIZE
    while True:
        buf = ffi.new("char[]", size)
        status = call(buf, size)
        if status != ERR_BUFFER_TOO_SMALL:
            raise_for(status)
            break
        size = out.shard_id_len + out.sequence_number_len + out.error_code_len + out.error_message_len
    raw = ffi.unpack(buf, size)
    parts = []
    offset = 0
    for length in (out.shard_id_len, out.sequence_number_len, out.error_code_len, out.error_message_len):
        parts.append(raw[offset : offset + length].decode("utf-8", "replace") or None)
        offset += length
    return parts[0], parts[1], parts[2], parts[3]
