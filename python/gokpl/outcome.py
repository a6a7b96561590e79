"""Outcomes: a record's pending result, awaited (``Outcome``) or waited for (``SyncOutcome``).

``Outcome`` is what the asyncio ``Producer`` returns: the put's
``SyncOutcome`` itself, its class changed (both share the C base that holds
the native handle), awaited without blocking the loop. Awaiting a record not yet resolved registers one token on
the producer's completion queue; the producer's ``gokpl-callbacks`` thread
collects it and has the awaiting loop resolve a future (see
``gokpl/_callbacks.py``). An outcome already resolved costs no registration,
and one nobody awaits costs nothing beyond its handle.

Concurrency: an ``Outcome`` may be awaited from any event loop, by any number
of tasks at once; each wait resolves on the loop that awaits.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from ._errors import SyncOutcomeCancelled
from ._fastpath import OutcomeBase
from ._outcome import SyncOutcome
from ._result import RecordResult

_base_wait = OutcomeBase.wait

#: Outcome's type parameter, for aiokpl's annotations (``Outcome[RecordResult]``):
#: an Outcome always resolves to a RecordResult.
T = TypeVar("T")


class Outcome(OutcomeBase, Generic[T]):
    """The pending result of one ``await Producer.put_record(...)``.

    ``await outcome.wait()`` gives the record's RecordResult once the record
    resolved (success, or failure with its error code: a failure is a result,
    not an exception); ``is_set()`` says whether it has. Cancelling the task
    that awaits ``wait()`` cancels only that wait: the record is still
    delivered, and a later ``wait()`` returns its result.

    It shares SyncOutcome's C base (the handle, the state, the release), so
    that, like a SyncOutcome, it is not tracked by the cycle collector: a
    program holding hundreds of thousands of outcomes pays no collection
    pauses for them.
    """

    __slots__ = ()

    def is_set(self) -> bool:
        """True once the record is resolved. Never blocks."""
        return self.done()

    async def wait(self) -> RecordResult:  # type: ignore[override]
        """Wait, without blocking the loop, until the record resolves; return its RecordResult.

        Raises SyncOutcomeCancelled if the record was withdrawn, and
        ForkedProcessError in a process forked after the library loaded.
        """
        if not self.done():
            future = self._completions.wake(self, asyncio.get_running_loop())
            if future is not None:
                await future
        return _base_wait(self, 0)

    # What RecordResult reads from its outcome the first time it is asked.
    _read_ids = SyncOutcome._read_ids
    _read_attempts = SyncOutcome._read_attempts

    def __repr__(self) -> str:
        try:
            if self.done():
                return f"<Outcome done {_base_wait(self, 0)!r}>"
        except SyncOutcomeCancelled:
            return "<Outcome cancelled>"
        except Exception:
            return "<Outcome (handle no longer valid)>"
        return "<Outcome pending>"


def as_outcome(outcome: SyncOutcome) -> Outcome[RecordResult]:
    """The same record's outcome as an Outcome: the object itself, its class changed (no copy)."""
    outcome.__class__ = Outcome  # type: ignore[assignment]
    return outcome  # type: ignore[return-value]


__all__ = ["Outcome", "SyncOutcome"]
