"""The control API of the fake Kinesis endpoint: streams, reading back, faults.

``kinesistest`` serves, beside the Kinesis API, a JSON API under
``/_kinesistest/`` that creates streams, splits and merges shards, reads
back what was stored and injects faults. ControlClient wraps it; FakeKinesis
is one. Each call is an independent HTTP request on loopback, so the
methods may be called from any thread.
"""

from __future__ import annotations

import abc
import base64
import dataclasses
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from .._errors import GokplError
from ..aggregation import Tag, decode_protobuf
from ._deaggregation import aggregated_protobuf

#: The error code of throttling, for a whole request or one entry.
THROTTLED = "ProvisionedThroughputExceededException"
#: The service's error code for its own failures (HTTP 500).
INTERNAL_FAILURE = "InternalFailure"
#: The error code of an unavailable service (HTTP 503).
SERVICE_UNAVAILABLE = "ServiceUnavailable"

#: The region and the dummy credentials that config() and client_kwargs() use;
#: the fake endpoint checks no signature, but the SDKs insist on signing.
REGION = "us-east-1"
#: The account the endpoint's streams belong to, in their ARNs.
ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"

CONTROL_PREFIX = "/_kinesistest/"
# Loopback requests must never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeKinesisError(GokplError, RuntimeError):
    """The fake endpoint is missing, could not start, died, or refused a control request."""


@dataclasses.dataclass(frozen=True)
class StoredRecord:
    """One user record the fake endpoint stored, as a consumer reads it.

    ``shard_id`` and ``sequence_number`` are those of the Kinesis record that
    carried it. ``sub_sequence_number`` is its position inside an aggregated
    Kinesis record, or None for a record sent alone. ``explicit_hash_key``
    is the one written: for an aggregated user record the one it had (None
    if none); for a record sent alone the Kinesis record's own, which gokpl
    (like the KPL) always sets to the record's hash key. ``tags`` are the
    record's tags (gokpl.aggregation.Tag) as written: only an aggregated
    record carries tags, so a record sent alone has none.
    """

    partition_key: str
    data: bytes
    explicit_hash_key: str | None
    shard_id: str
    sequence_number: str
    sub_sequence_number: int | None = None
    tags: tuple[Tag, ...] = ()

    @property
    def aggregated(self) -> bool:
        """Whether the record arrived inside an aggregated Kinesis record."""
        return self.sub_sequence_number is not None


@dataclasses.dataclass(frozen=True)
class Shard:
    """One shard of a stream, closed or open, with its hash key range as ints."""

    shard_id: str
    starting_hash_key: int
    ending_hash_key: int
    open: bool
    #: Kinesis records the shard accepted.
    records: int
    parent_shard_id: str | None = None
    adjacent_parent_shard_id: str | None = None

    def holds(self, hash_key: int) -> bool:
        """Whether hash_key lies in the shard's range."""
        return self.starting_hash_key <= hash_key <= self.ending_hash_key


@dataclasses.dataclass(frozen=True)
class StreamStats:
    """What a stream accepted: Kinesis records, data bytes, records per shard (kept with discard too)."""

    records: int
    bytes: int
    shard_records: dict[str, int]


def _stored_records(raw: Mapping[str, Any], deaggregate_records: bool) -> list[StoredRecord]:
    """The StoredRecords of one Kinesis record from the control API."""
    data = base64.b64decode(raw.get("Data") or "")
    shard_id, sequence_number = raw["ShardID"], raw["SequenceNumber"]
    explicit_hash_key = raw.get("ExplicitHashKey") or None
    protobuf = aggregated_protobuf(data) if deaggregate_records else None
    if protobuf is None:
        return [StoredRecord(raw["PartitionKey"], data, explicit_hash_key, shard_id, sequence_number)]
    return [
        StoredRecord(r.partition_key, r.data, r.explicit_hash_key, shard_id, sequence_number, i, r.tags)
        for i, r in enumerate(decode_protobuf(protobuf))
    ]


def _shard(raw: Mapping[str, Any]) -> Shard:
    return Shard(
        shard_id=raw["ShardID"],
        starting_hash_key=int(raw["StartingHashKey"]),
        ending_hash_key=int(raw["EndingHashKey"]),
        open=bool(raw["Open"]),
        records=int(raw["Records"]),
        parent_shard_id=raw.get("ParentShardID") or None,
        adjacent_parent_shard_id=raw.get("AdjacentParentShardID") or None,
    )


def hash_key_of(partition_key: str) -> int:
    """The hash key Kinesis routes a partition key by: its MD5 as a big-endian 128-bit integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


class ControlClient(abc.ABC):
    """The control API of one running fake endpoint, at ``endpoint_url``.

    A subclass provides ``endpoint_url`` and may explain an endpoint that
    cannot be reached (``_explain_unreachable``: FakeKinesis raises the exit
    status of its dead process).
    """

    #: Whether the endpoint keeps only counts, not records (records() refuses then).
    discard: bool = False

    @property
    @abc.abstractmethod
    def endpoint_url(self) -> str:
        """The endpoint's URL, ``http://HOST:PORT``."""

    def _explain_unreachable(self) -> None:
        """Raise a FakeKinesisError that says why the endpoint cannot be reached, if known."""
        return  # by default nothing more is known than the failed request says

    # -- streams -------------------------------------------------------------

    def create_stream(self, name: str, shards: int = 1, *, max_record_size_kib: int | None = None) -> None:
        """Create an ACTIVE stream whose shards split the hash key space evenly.

        ``max_record_size_kib`` is its maximum record size in KiB, data plus
        partition key: 1024 (the default) to 10240.
        """
        body: dict[str, Any] = {"StreamName": name, "ShardCount": shards}
        if max_record_size_kib is not None:
            body["MaxRecordSizeInKiB"] = max_record_size_kib
        self._control("POST", "streams", body)

    def stream_arn(self, name: str) -> str:
        """The ARN the endpoint knows the stream by, for requests that name it by ARN."""
        return f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{name}"

    def delete_stream(self, name: str) -> None:
        """Delete a stream and everything it stored."""
        self._control("DELETE", _stream_path(name))

    def shards(self, stream: str) -> list[Shard]:
        """Every shard of the stream in shard id order, closed ones (after a split or merge) included."""
        answer = self._control("GET", _stream_path(stream, "shards"))
        return [_shard(raw) for raw in answer["Shards"] or []]

    def shard_for(self, stream: str, partition_key: str, explicit_hash_key: str | int | None = None) -> str:
        """The id of the open shard a record with these keys goes to."""
        hash_key = int(explicit_hash_key) if explicit_hash_key is not None else hash_key_of(partition_key)
        for shard in self.shards(stream):
            if shard.open and shard.holds(hash_key):
                return shard.shard_id
        raise FakeKinesisError(f"no open shard of {stream} holds hash key {hash_key}")

    def split_shard(self, stream: str, shard_id: str, new_starting_hash_key: int | str | None = None) -> None:
        """Split an open shard in two at new_starting_hash_key, by default in the middle of its range."""
        key = "" if new_starting_hash_key is None else str(new_starting_hash_key)
        self._control("POST", _stream_path(stream, "split"), {"ShardId": shard_id, "NewStartingHashKey": key})

    def merge_shards(self, stream: str, shard_id: str, adjacent_shard_id: str) -> None:
        """Merge two open shards whose hash key ranges are adjacent."""
        body = {"ShardId": shard_id, "AdjacentShardId": adjacent_shard_id}
        self._control("POST", _stream_path(stream, "merge"), body)

    # -- reading back ----------------------------------------------------------

    def records(self, stream: str, *, deaggregate: bool = True) -> list[StoredRecord]:
        """Every user record the stream stored, in the order they were accepted.

        Aggregated Kinesis records are unpacked into their user records
        (in packing order, with sub_sequence_number set), so the list holds
        what was put, whatever the producer's aggregation settings; with
        ``deaggregate=False`` it holds the Kinesis records as written.
        Records a fault failed are not stored; a record that was retried
        after an unanswered but applied request appears twice.
        """
        if self.discard:
            raise FakeKinesisError("this FakeKinesis was started with discard=True and keeps no records: use stats()")
        answer = self._control("GET", _stream_path(stream, "records"))
        out: list[StoredRecord] = []
        for raw in answer["Records"] or []:
            out += _stored_records(raw, deaggregate)
        return out

    def stats(self, stream: str) -> StreamStats:
        """How many Kinesis records and data bytes the stream accepted, in all and per shard."""
        answer = self._control("GET", _stream_path(stream, "stats"))
        return StreamStats(int(answer["Records"]), int(answer["Bytes"]), dict(answer["ShardRecords"] or {}))

    def requests(self) -> dict[str, int]:
        """How many requests the endpoint received, by operation ("PutRecords", "ListShards", ...).

        Failed and faulted requests count too; control API calls do not.
        """
        return {str(op): int(n) for op, n in self._control("GET", "requests").items()}

    # -- faults ------------------------------------------------------------------

    def inject_fault(
        self,
        *,
        operation: str | None = "PutRecords",
        error: str | None = None,
        status: int | None = None,
        message: str | None = None,
        delay: float | None = None,
        reset_connection: bool = False,
        applied: bool = False,
        entry_failure_rate: float | None = None,
        entry_error: str | None = None,
        partition_key: str | None = None,
        times: int | None = 1,
    ) -> None:
        """Make the endpoint misbehave on requests of ``operation`` (None for any).

        - ``error`` answers with an error response of that code (``status``
          defaults to the service's: 500 for InternalFailure, 503 for
          ServiceUnavailable, otherwise 400; a ``status`` alone picks the
          code), with ``message`` or the service's usual one.
        - ``delay`` (seconds) holds the response back, for client timeouts.
        - ``reset_connection`` drops the connection instead of answering.
        - ``applied`` lets the request take effect before the error, delay
          or reset, as when the service stored records but the answer was
          lost; without it the request is not applied.
        - ``entry_failure_rate`` (0 to 1] fails that fraction of the
          entries written by PutRecords and PutRecord, spread evenly over
          all the entries the fault sees (0.5 fails every second one), with
          ``entry_error`` (default ProvisionedThroughputExceededException);
          such a fault applies only to those two operations.
        - ``partition_key`` makes the fault apply only to PutRecords and
          PutRecord requests with an entry of that partition key, e.g.
          ``error="ValidationException", partition_key="poison"`` rejects
          every request that carries the record, as the service rejects a
          request with one invalid record.

        ``times`` is how many requests it applies to, or None for every one
        until clear_faults(). Faults with a count apply in the order injected
        and before those until cleared; of those until cleared, the first
        that matches applies.
        """
        if entry_error is not None and entry_failure_rate is None:
            raise ValueError("entry_error needs entry_failure_rate: it is the code of the entries that fails")
        if delay is not None and not delay >= 0:
            raise ValueError(f"delay must be a number of seconds >= 0, got {delay!r}")
        body: dict[str, Any] = {"Operation": operation or "", "Times": _times(times)}
        if error is not None:
            body["ErrorType"] = error
            body["StatusCode"] = status if status is not None else _status_for(error)
        elif status is not None:
            body["StatusCode"] = status
        if message is not None:
            body["Message"] = message
        if delay:
            body["DelayMillis"] = max(round(delay * 1000), 1)  # a delay under a millisecond is still one
        body["ResetConnection"] = reset_connection
        body["Applied"] = applied
        if entry_failure_rate is not None:
            if not 0 < entry_failure_rate <= 1:
                raise ValueError(f"entry_failure_rate must be in (0, 1], got {entry_failure_rate!r}")
            body["EntryFailureRate"] = float(entry_failure_rate)
            body["EntryErrorCode"] = entry_error or THROTTLED
        if partition_key is not None:
            body["PartitionKey"] = partition_key
        self._control("POST", "faults", body)

    def fail_next(
        self,
        n: int = 1,
        error: str = INTERNAL_FAILURE,
        *,
        operation: str | None = "PutRecords",
        message: str | None = None,
    ) -> None:
        """Answer the next n requests of operation with an error response of code ``error``.

        The records of a failed request are not stored. The producer retries
        InternalFailure, ServiceUnavailable and throttling; codes retrying
        cannot fix (AccessDeniedException, ResourceNotFoundException, ...)
        fail the records at once.
        """
        self.inject_fault(operation=operation, error=error, message=message, times=n)

    def fail_entries(self, fraction: float = 1.0, error: str = INTERNAL_FAILURE, *, times: int | None = None) -> None:
        """Fail ``fraction`` of the entries written with ``error``, until clear_faults() or for ``times`` requests.

        Only the failed entries go unstored: the rest of each request
        succeeds, as when the service fails some entries of a PutRecords.
        """
        self.inject_fault(operation=None, entry_failure_rate=fraction, entry_error=error, times=times)

    def throttle(self, fraction: float = 1.0, *, times: int | None = None) -> None:
        """Throttle ``fraction`` of the entries written, as a shard over its limit does.

        Those entries fail with ProvisionedThroughputExceededException, until
        clear_faults() or for the next ``times`` write requests; the producer
        retries them with backoff.
        """
        self.fail_entries(fraction, THROTTLED, times=times)

    def clear_faults(self) -> None:
        """Remove every injected fault, pending or until cleared."""
        self._control("DELETE", "faults")

    # -- the control API -----------------------------------------------------------

    def _control(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One control API call; its JSON answer, or FakeKinesisError with the endpoint's message."""
        url = self.endpoint_url + CONTROL_PREFIX + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise FakeKinesisError(f"{method} {path}: {_error_message(exc)}") from None
        except OSError as exc:
            self._explain_unreachable()
            raise FakeKinesisError(f"{method} {path}: cannot reach the fake Kinesis endpoint: {exc}") from exc


def _status_for(error: str) -> int:
    """The HTTP status the service answers an error code with."""
    return {INTERNAL_FAILURE: 500, SERVICE_UNAVAILABLE: 503}.get(error, 400)


def _times(times: int | None) -> int:
    """The control API's Times: n for the next n requests, -1 for until cleared."""
    if times is None:
        return -1
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be a positive int or None (until cleared), got {times!r}")
    return times


def _stream_path(name: str, *rest: str) -> str:
    return "/".join(("streams", urllib.parse.quote(name, safe=""), *rest))


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code}"
