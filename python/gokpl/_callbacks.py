"""A producer's completions: the thread that runs SyncOutcome.add_done_callback callbacks.

Go never calls into Python: a callback from a thread the Go runtime made,
possibly while the interpreter shuts down, is not safe. Instead the library
keeps a completion queue per producer (gokpl_outcome_notify registers a
token, gokpl_producer_next_completions hands tokens back), and one daemon
thread per producer, started when the first callback needs it, collects the
tokens in native waits of at most 0.2 s and runs the callbacks in Python. It
ends once the producer is closed and every token is collected.

The same thread wakes the asyncio Producer's waiters: ``wake`` registers a
future of an event loop's under a token, and each batch of collected tokens
is handed to each loop it concerns with one ``loop.call_soon_threadsafe``,
whose callback resolves that loop's futures (asyncio futures are not
thread-safe: only their loop may resolve them).

Vocabulary: a done-callback is the user's function; a completion is the
library's notice that an outcome is done, a token registered with
gokpl_outcome_notify and collected from the producer's completion queue.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING, Union

from . import _native
from ._fastpath import OutcomeBase
from ._status import OK, TIMEOUT, raise_for
from ._timeout import WAIT_SLICE_MS

if TYPE_CHECKING:
    import asyncio  # not imported at run time: blocking programs need not pay for it

    from ._outcome import SyncOutcome

_BATCH = 256

# What a registered token stands for: an outcome whose callbacks to run, or a loop's future to resolve.
_Waiter = Union["SyncOutcome", "asyncio.Future[None]"]


class Completions:
    """One producer's completions: registers outcomes for them, and collects them on one thread that runs
    the outcomes' done-callbacks. Thread-safe."""

    def __init__(self, producer_handle: int) -> None:
        self._producer = producer_handle
        self._lock = threading.Lock()
        self._waiting: dict[int, _Waiter] = {}
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None

    def notify(self, outcome: SyncOutcome) -> bool:
        """Arrange for outcome's callbacks to run on this thread when it is done.

        Returns False, arranging nothing, when it is done already.
        """
        return self._register(outcome, outcome)  # kept alive until its callbacks run

    def wake(self, outcome: OutcomeBase, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None] | None:
        """A future of ``loop``'s that resolves (to None), on that loop, once outcome is done.

        Returns None, arranging nothing, when it is done already. Cancelling
        the future only drops the wake-up: the record goes on.
        """
        future = loop.create_future()
        return future if self._register(outcome, future) else None

    def _register(self, outcome: OutcomeBase, waiter: _Waiter) -> bool:
        """Register waiter under a new token for outcome's completion; False when it is done already."""
        token = next(self._tokens)
        # One dict operation each, atomic under the GIL: the thread pops the
        # token only after notify queued it, so no lock is needed here.
        self._waiting[token] = waiter
        s = _native.take_scratch()
        status = _native._lib.gokpl_outcome_notify(outcome._handle, token, s.flag)
        queued = s.flag[0] == 1
        _native.give_scratch(s)
        if not queued:
            del self._waiting[token]
            raise_for(status)
            return False
        if self._thread is None:
            self._start_thread()
        return True

    def _start_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="gokpl-callbacks", daemon=True)
                thread.start()
                self._thread = thread  # only once started: join() reads it without the lock

    def _run(self) -> None:
        ffi, lib = _native.ffi_lib()
        tokens = ffi.new("uint64_t[]", _BATCH)
        n = ffi.new("size_t *")
        while True:
            status = lib.gokpl_producer_next_completions(self._producer, tokens, _BATCH, WAIT_SLICE_MS, n)
            if status == OK:
                with self._lock:
                    ready = [self._waiting.pop(token, None) for token in ffi.unpack(tokens, n[0])]
                _dispatch(ready)
                del ready  # not kept alive (with their native handles) while the next wait blocks
            elif status != TIMEOUT:
                return  # closed and drained (or freed): nothing more will come

    def join(self, timeout: float | None) -> None:
        """Wait up to timeout seconds (None: without limit) for the thread to run the last callbacks, after close."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


def _dispatch(ready: list[_Waiter | None]) -> None:
    """Run the callbacks of the outcomes among ready, and have the loops resolve the futures."""
    from ._outcome import run_callbacks_of

    outcomes: list[SyncOutcome | None] = []
    futures: list[asyncio.Future[None]] = []
    for waiter in ready:
        if waiter is None or isinstance(waiter, OutcomeBase):
            outcomes.append(waiter)
        else:
            futures.append(waiter)
    if futures:
        _hand_to_loops(futures)
    run_callbacks_of(outcomes)


def _hand_to_loops(futures: list[asyncio.Future[None]]) -> None:
    """Have each loop resolve its own futures: one call_soon_threadsafe per loop for the whole batch.

    A loop already closed is skipped: nobody can be awaiting its futures.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for future in futures:
        by_loop.setdefault(future.get_loop(), []).append(future)
    for loop, batch in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve_all, batch)
        except RuntimeError:  # the loop is closed
            pass


def _resolve_all(futures: list[asyncio.Future[None]]) -> None:
    """On the futures' loop: resolve each one still waited for (a cancelled wait is done already)."""
    for future in futures:
        if not future.done():
            future.set_result(None)
