"""RecordResult and Attempt: what became of one record, frozen."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import Any, Protocol


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One trip of a record to Kinesis, or the step that ended it.

    ``started_at`` and ``ended_at`` are Unix epoch seconds. A successful attempt
    carries the shard id and sequence number; a failed one the error code (the
    service's exception name, or one of gokpl's: ``Expired``, ``ProducerClosed``,
    ``Wrong Shard``, ``Record Count Mismatch``, ``IncompleteResult``, ``NetworkError``,
    ``ResponseLost``, ``RequestTimeout``, ``NoCredentials``,
    ``CredentialsUnavailable``, ``CredentialsRejected``,
    ``TLSVerificationFailed``, ``RecordTooLarge``; docs/operations.md says what
    each means) and message.
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

    A frozen dataclass. A result that gokpl makes reads its fields from the
    engine the first time they are asked for (``attempts`` also by
    ``error_code``, ``error_message``, equality, hashing and ``repr``), so
    code that checks only ``success`` costs one native call per record.
    """

    success: bool
    shard_id: str | None
    sequence_number: str | None
    attempts: tuple[Attempt, ...]

    @property
    def error_code(self) -> str | None:
        """The error code of the last attempt; None on success."""
        if self.success:
            return None
        attempts = self.attempts
        return attempts[-1].error_code if attempts else None

    @property
    def error_message(self) -> str | None:
        """The error message of the last attempt; None on success."""
        if self.success:
            return None
        attempts = self.attempts
        return attempts[-1].error_message if attempts else None

    def __repr__(self) -> str:
        n = len(self.attempts)
        if self.success:
            return f"<RecordResult ok shard_id={self.shard_id!r} sequence_number={self.sequence_number!r} attempts={n}>"
        return f"<RecordResult failed error_code={self.error_code!r} error_message={self.error_message!r} attempts={n}>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (RecordResult, (self.success, self.shard_id, self.sequence_number, self.attempts))


class ResultSource(Protocol):
    """What a lazily made RecordResult reads its fields from."""

    def _read_ids(self) -> tuple[str | None, str | None]: ...

    def _read_attempts(self) -> tuple[Attempt, ...]: ...


_LAZY_FIELDS = ("shard_id", "sequence_number", "attempts")


class _LazyField:
    """A RecordResult field of results made by lazy_result, read on first access.

    A non-data descriptor: once the value is in the instance's __dict__ it is
    found there without calling this. shard_id and sequence_number are read
    together, in one native call; attempts (one call each) only when asked
    for, with the ids if they are not read yet. Concurrent first accesses may
    both read; both store the same value. The source (and with it the native
    handle) is dropped once every field is stored.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, obj: RecordResult | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        state = obj.__dict__
        source = state.get("_source")
        if source is None:
            return state[self.name]
        if "shard_id" not in state:
            state["shard_id"], state["sequence_number"] = source._read_ids()
        if self.name == "attempts":
            state["attempts"] = source._read_attempts()
        if "attempts" in state:
            state.pop("_source", None)
        return state[self.name]


# Installed after the dataclass is made, so the generated __init__, __eq__,
# __hash__ and fields() treat them as ordinary fields.
for _name in _LAZY_FIELDS:
    setattr(RecordResult, _name, _LazyField(_name))

_new = object.__new__


def lazy_result(success: bool, source: ResultSource) -> RecordResult:
    """A RecordResult whose other fields are read from source when first needed."""
    result: RecordResult = _new(RecordResult)
    state = result.__dict__
    state["success"] = success
    state["_source"] = source
    return result
