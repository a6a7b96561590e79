"""A producer's completions: the thread that runs SyncOutcome.add_done_callback callbacks.

Go never calls into Python: a callback from a thread the Go runtime made,
possibly while the interpreter shuts down, is not safe. Instead the library
keeps a completion queue per producer (gokpl_outcome_notify registers a
token, gokpl_producer_next_completions hands tokens back), and one daemon
thread per producer, started when the first callback needs it, collects the
tokens in native waits of at most 0.2 s and runs the callbacks in Python. It
ends once the producer is closed and every token is collected.

Vocabulary: a done-callback is the user's function; a completion is the
library's notice that an outcome is done, a token registered with
gokpl_outcome_notify and collected from the producer's completion queue.
"""

from __future__ import annotations

import itertools
import threading
from typing import TYPE_CHECKING

from . import _native
from ._status import OK, TIMEOUT, raise_for
from ._timeout import WAIT_SLICE_MS

if TYPE_CHECKING:
    from ._outcome import SyncOutcome

_BATCH = 256


class Completions:
    """One producer's completions: registers outcomes for them, and collects them on one thread that runs
    the outcomes' done-callbacks. Thread-safe."""

    def __init__(self, producer_handle: int) -> None:
        self._producer = producer_handle
        self._lock = threading.Lock()
        self._waiting: dict[int, SyncOutcome] = {}
        self._tokens = itertools.count(1)
        self._thread: threading.Thread | None = None

    def notify(self, outcome: SyncOutcome) -> bool:
        """Arrange for outcome's callbacks to run on this thread when it is done.

        Returns False, arranging nothing, when it is done already.
        """
        token = next(self._tokens)
        with self._lock:
            self._waiting[token] = outcome  # kept alive until its callbacks run
        s = _native.take_scratch()
        status = _native._lib.gokpl_outcome_notify(outcome._handle, token, s.flag)
        queued = s.flag[0] == 1
        _native.give_scratch(s)
        if not queued:
            with self._lock:
                del self._waiting[token]
            raise_for(status)
            return False
        with self._lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="gokpl-callbacks", daemon=True)
                thread.start()
                self._thread = thread  # only once started: join() reads it without the lock
        return True

    def _run(self) -> None:
        from ._outcome import run_callbacks_of

        ffi, lib = _native.ffi_lib()
        tokens = ffi.new("uint64_t[]", _BATCH)
        n = ffi.new("size_t *")
        while True:
            status = lib.gokpl_producer_next_completions(self._producer, tokens, _BATCH, WAIT_SLICE_MS, n)
            if status == OK:
                with self._lock:
                    ready = [self._waiting.pop(token, None) for token in ffi.unpack(tokens, n[0])]
                run_callbacks_of(ready)
                del ready  # not kept alive (with their native handles) while the next wait blocks
            elif status != TIMEOUT:
                return  # closed and drained (or freed): nothing more will come

    def join(self, timeout: float | None) -> None:
        """Wait up to timeout seconds (None: without limit) for the thread to run the last callbacks, after close."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
