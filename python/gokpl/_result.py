"""RecordResult and Attempt: what became of one record, frozen."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One trip of a record to Kinesis, or the step that ended it.

    ``started_at`` and ``ended_at`` are Unix epoch seconds. A successful attempt
    carries the shard id and sequence number; a failed one the error code (the
    service's exception name, or gokpl's ``Expired``, ``ProducerClosed``,
    ``Wrong Shard``, ``Record Count Mismatch``, ``NetworkError``,
    ``RequestTimeout``) and message.
    """

    started_at: float
    ended_at: float
    success: bool
    shard_id: str | None = None
    sequence_number: str | None = None
    error_code: str | None = None
    error_message: str | None = None

    @property
    def duration(self) -> float:
        """Seconds the attempt took."""
        return self.ended_at - self.started_at

    def __repr__(self) -> str:
        started = datetime.fromtimestamp(self.started_at, timezone.utc).strftime("%H:%M:%S.%f")[:-3]
        took = f"{self.duration * 1000:.1f}ms"
        if self.success:
            return f"<Attempt ok {self.shard_id} seq={self.sequence_number} at {started}Z took {took}>"
        return f"<Attempt failed {self.error_code}: {self.error_message!r} at {started}Z took {took}>"


@dataclasses.dataclass(frozen=True)
class RecordResult:
    """A record's final state: success with shard and sequence number, or failure.

    A failed record is a result with ``success=False`` (not an exception); its
    ``error_code`` and ``error_message`` are those of the last attempt, and
    ``attempts`` holds every attempt in order.
    """

    success: bool
    shard_id: str | None
    sequence_number: str | None
    attempts: tuple[Attempt, ...]

    @property
    def error_code(self) -> str | None:
        """The error code of the last attempt; None on success."""
        return self.attempts[-1].error_code if self.attempts and not self.success else None

    @property
    def error_message(self) -> str | None:
        """The error message of the last attempt; None on success."""
        return self.attempts[-1].error_message if self.attempts and not self.success else None

    def __repr__(self) -> str:
        n = len(self.attempts)
        if self.success:
            return f"<RecordResult ok shard_id={self.shard_id!r} sequence_number={self.sequence_number!r} attempts={n}>"
        return f"<RecordResult failed error_code={self.error_code!r} error_message={self.error_message!r} attempts={n}>"
