"""Outcomes: a record's pending result, awaited (``Outcome``) or waited for (``SyncOutcome``).

``Outcome`` is what the asyncio ``Producer`` returns: it wraps the record's
``SyncOutcome`` (one native outcome handle either way) and awaits it without
blocking the loop. Awaiting a record not yet resolved registers one token on
the producer's completion queue; the producer's ``gokpl-callbacks`` thread
collects it and has the awaiting loop resolve a future (see
``gokpl/_callbacks.py``). An outcome already resolved costs no registration,
and one nobody awaits costs nothing beyond its handle.

Concurrency: an ``Outcome`` may be awaited from any event loop, by any number
of tasks at once; each wait resolves on the loop that awaits.
"""

from __future__ import annotations

import asyncio

from ._errors import SyncOutcomeCancelled
from ._outcome import SyncOutcome
from ._result import RecordResult


class Outcome:
    """The pending result of one ``await Producer.put_record(...)``.

    ``await outcome.wait()`` gives the record's RecordResult once the record
    resolved (success, or failure with its error code: a failure is a result,
    not an exception); ``is_set()`` says whether it has. Cancelling the task
    that awaits ``wait()`` cancels only that wait: the record is still
    delivered, and a later ``wait()`` returns its result.
    """

    __slots__ = ("_sync",)

    def __init__(self, sync: SyncOutcome) -> None:
        self._sync = sync

    def is_set(self) -> bool:
        """True once the record is resolved. Never blocks."""
        return self._sync.done()

    async def wait(self) -> RecordResult:
        """Wait, without blocking the loop, until the record resolves; return its RecordResult.

        Raises SyncOutcomeCancelled if the record was withdrawn (the sync
        outcome's ``cancel()``), and ForkedProcessError in a process forked
        after the library loaded.
        """
        sync = self._sync
        if not sync.done():
            future = sync._completions.wake(sync, asyncio.get_running_loop())
            if future is not None:
                await future
        return sync.wait(0)

    @property
    def sync_outcome(self) -> SyncOutcome:
        """The same record's SyncOutcome: for blocking code, ``cancel()`` and ``add_done_callback()``."""
        return self._sync

    def __repr__(self) -> str:
        try:
            if self._sync.done():
                return f"<Outcome done {self._sync.wait(0)!r}>"
        except SyncOutcomeCancelled:
            return "<Outcome cancelled>"
        except Exception:
            return "<Outcome (handle no longer valid)>"
        return "<Outcome pending>"


__all__ = ["Outcome", "SyncOutcome"]
