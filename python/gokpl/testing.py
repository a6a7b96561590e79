"""A fake Kinesis endpoint for your own tests.

    from gokpl import SyncProducer
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"orders": 4}) as kinesis:
        with SyncProducer(kinesis.config()) as producer:
            producer.put_record(stream="orders", partition_key="k", data=b"x").wait(timeout=5)
        assert [r.data for r in kinesis.records("orders")] == [b"x"]

FakeKinesis runs the fake endpoint that ships with the package (the
``kinesistest`` program beside this module) as a child process on a free
loopback port. It speaks the Kinesis API that the AWS SDKs use, so gokpl,
boto3 and the AWS CLI all work against it; its control API injects faults
and reads back what was written, de-aggregated here into user records.

``python -m gokpl.testing serve --stream NAME:SHARDS[:MAXKIB]`` runs it in
the foreground for any client. See docs/testing.md.

Nothing here loads gokpl's shared library; :meth:`FakeKinesis.config` only
builds a Config.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any, NamedTuple

from ._config import Config
from ._errors import GokplError

__all__ = [
    "INTERNAL_FAILURE",
    "SERVICE_UNAVAILABLE",
    "THROTTLED",
    "FakeKinesis",
    "FakeKinesisError",
    "Shard",
    "StoredRecord",
    "StreamStats",
    "UserRecord",
    "deaggregate",
    "hash_key_of",
    "is_aggregated",
    "main",
]

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

_BINARY_NAME = "kinesistest"
_BINARY_ENV = "GOKPL_KINESISTEST_BIN"
_CONTROL_PREFIX = "/_kinesistest/"
_STOP_TIMEOUT = 5.0
# Loopback requests must never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class FakeKinesisError(GokplError, RuntimeError):
    """The fake endpoint is missing, could not start, died, or refused a control request."""


# ---------------------------------------------------------------------------
# Reading the KPL aggregated record format


class UserRecord(NamedTuple):
    """One user record out of a Kinesis record, in put_records' tuple order."""

    partition_key: str
    data: bytes
    explicit_hash_key: str | None = None


_MAGIC = b"\xf3\x89\x9a\xc2"
_MD5_SIZE = 16
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


def is_aggregated(data: bytes) -> bool:
    """Whether data is a KPL aggregated record: the magic bytes, protobuf bytes, then their MD5."""
    return _aggregated_protobuf(data) is not None


def deaggregate(partition_key: str, data: bytes, explicit_hash_key: str | None = None) -> list[UserRecord]:
    """The user records in one Kinesis record, given as it was written or read.

    An aggregated record (magic ``F3 89 9A C2``, a protobuf
    ``AggregatedRecord``, the MD5 of the protobuf bytes) yields its user
    records in the order they were packed, each with its own partition key
    and the explicit hash key from the record's table (None when the user
    record had none). Anything else, including data that starts with the
    magic bytes but fails the MD5 check (as the KCL does), is one user record
    with the arguments as given. An aggregated record whose protobuf cannot
    be read raises ValueError.
    """
    protobuf = _aggregated_protobuf(data)
    if protobuf is None:
        return [UserRecord(partition_key, bytes(data), explicit_hash_key)]
    return _decode_aggregated(protobuf)


def _aggregated_protobuf(data: bytes) -> bytes | None:
    if len(data) <= len(_MAGIC) + _MD5_SIZE or not data.startswith(_MAGIC):
        return None
    protobuf = bytes(data[len(_MAGIC) : -_MD5_SIZE])
    if hashlib.md5(protobuf).digest() != data[-_MD5_SIZE:]:
        return None
    return protobuf


def _corrupt(reason: str) -> ValueError:
    return ValueError(f"corrupt aggregated record: {reason}")


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at pos and the position after it."""
    value = shift = 0
    while pos < len(buf):
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift >= 70:
            raise _corrupt("varint longer than 10 bytes")
    raise _corrupt("truncated varint")


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of each field of a protobuf message, in order.

    Varints come as ints and length-delimited fields as bytes; fixed-width
    fields, which the format does not use, are skipped.
    """
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise _corrupt("field number 0")
        if wire_type == _VARINT:
            value, pos = _read_varint(buf, pos)
            yield number, value
        elif wire_type == _BYTES:
            size, pos = _read_varint(buf, pos)
            if pos + size > len(buf):
                raise _corrupt(f"field {number} runs past the end")
            yield number, buf[pos : pos + size]
            pos += size
        elif wire_type in (_FIXED64, _FIXED32):
            pos += 8 if wire_type == _FIXED64 else 4
            if pos > len(buf):
                raise _corrupt(f"field {number} runs past the end")
        else:
            raise _corrupt(f"field {number} has unsupported wire type {wire_type}")


def _bytes_field(number: int, value: int | bytes) -> bytes:
    if not isinstance(value, bytes):
        raise _corrupt(f"field {number} should be length-delimited")
    return value


def _int_field(number: int, value: int | bytes) -> int:
    if not isinstance(value, int):
        raise _corrupt(f"field {number} should be a varint")
    return value


def _text(value: bytes) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise _corrupt(f"a key is not UTF-8 ({exc.reason})") from None


def _decode_aggregated(protobuf: bytes) -> list[UserRecord]:
    """The user records of an AggregatedRecord message."""
    keys: list[str] = []
    hash_keys: list[str] = []
    bodies: list[bytes] = []
    for number, value in _fields(protobuf):
        if number == 1:
            keys.append(_text(_bytes_field(number, value)))
        elif number == 2:
            hash_keys.append(_text(_bytes_field(number, value)))
        elif number == 3:
            bodies.append(_bytes_field(number, value))
    return [_decode_user_record(i, body, keys, hash_keys) for i, body in enumerate(bodies)]


def _decode_user_record(i: int, body: bytes, keys: list[str], hash_keys: list[str]) -> UserRecord:
    """Record i of an AggregatedRecord, its key indexes resolved through the tables."""
    key_index: int | None = None
    hash_key_index: int | None = None
    data: bytes | None = None
    for number, value in _fields(body):
        if number == 1:
            key_index = _int_field(number, value)
        elif number == 2:
            hash_key_index = _int_field(number, value)
        elif number == 3:
            data = _bytes_field(number, value)
    if key_index is None or data is None:
        raise _corrupt(f"record {i} lacks its partition key index or data")
    if key_index >= len(keys):
        raise _corrupt(f"record {i}: partition key index {key_index} outside a table of {len(keys)}")
    if hash_key_index is None:
        return UserRecord(keys[key_index], data)
    if hash_key_index >= len(hash_keys):
        raise _corrupt(f"record {i}: explicit hash key index {hash_key_index} outside a table of {len(hash_keys)}")
    return UserRecord(keys[key_index], data, hash_keys[hash_key_index])


# ---------------------------------------------------------------------------
# What the control API reports


@dataclasses.dataclass(frozen=True)
class StoredRecord:
    """One user record the fake endpoint stored, as a consumer reads it.

    ``shard_id`` and ``sequence_number`` are those of the Kinesis record that
    carried it. ``sub_sequence_number`` is its position inside an aggregated
    Kinesis record, or None for a record sent alone. ``explicit_hash_key``
    is the one written: for an aggregated user record the one it had (None
    if none); for a record sent alone the Kinesis record's own, which gokpl
    (like the KPL) always sets to the record's hash key.
    """

    partition_key: str
    data: bytes
    explicit_hash_key: str | None
    shard_id: str
    sequence_number: str
    sub_sequence_number: int | None = None

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
    protobuf = _aggregated_protobuf(data) if deaggregate_records else None
    if protobuf is None:
        return [StoredRecord(raw["PartitionKey"], data, explicit_hash_key, shard_id, sequence_number)]
    return [
        StoredRecord(r.partition_key, r.data, r.explicit_hash_key, shard_id, sequence_number, i)
        for i, r in enumerate(_decode_aggregated(protobuf))
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


# ---------------------------------------------------------------------------
# The child process


def _default_binary() -> Path:
    override = os.environ.get(_BINARY_ENV)
    if override:
        return Path(override)
    return Path(__file__).with_name(_BINARY_NAME)


def _check_binary(binary: Path) -> None:
    if not binary.is_file():
        raise FakeKinesisError(
            f"the fake Kinesis endpoint {binary} is missing. It is built with the package: in a source "
            f"checkout run 'make build' (or 'python build_native.py python/gokpl'), which needs Go; "
            f"an installed gokpl has it unless the build left it out. Or pass FakeKinesis(binary=...) "
            f"or set {_BINARY_ENV}"
        )
    if not os.access(binary, os.X_OK):
        raise FakeKinesisError(f"the fake Kinesis endpoint {binary} is not executable")


def _command(
    binary: Path,
    streams: Mapping[str, int],
    max_record_size_kib: Mapping[str, int],
    host: str,
    port: int,
    discard: bool,
    shard_rate_limit: bool,
) -> list[str]:
    args = [str(binary), "--addr", f"{host}:{port}", "--region", REGION, "--account-id", ACCOUNT_ID]
    for name, shards in streams.items():
        kib = max_record_size_kib.get(name)
        args += ["--stream", f"{name}:{shards}" if kib is None else f"{name}:{shards}:{kib}"]
    if discard:
        args.append("--discard")
    if shard_rate_limit:
        args.append("--shard-rate-limit")
    return args


def _stop_process(process: subprocess.Popen[bytes], stderr: IO[bytes], owner: int) -> None:
    """End the child for good: close its stdin (it stops at EOF), SIGTERM, and SIGKILL if it lingers.

    Runs once, from stop(), from garbage collection of an unstopped
    FakeKinesis, or at interpreter exit (a weakref.finalize callback). In a
    process forked from the owner it does nothing: the endpoint is the
    owner's to stop.
    """
    if os.getpid() != owner:
        return
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            try:
                pipe.close()
            except OSError:
                pass
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    stderr.close()


def _stderr_text(stderr: IO[bytes]) -> str:
    """What the child wrote to its standard error, trimmed, for error messages."""
    try:
        stderr.seek(0)
        text = stderr.read().decode(errors="replace").strip()
    except (OSError, ValueError):
        return ""
    return text[-2000:]


def _died(binary: str, process: subprocess.Popen[bytes], stderr: IO[bytes], when: str) -> FakeKinesisError:
    """The error for a child that exited, with its status and what it said."""
    status = process.poll()
    said = _stderr_text(stderr)
    detail = f": {said}" if said else ""
    return FakeKinesisError(f"the fake Kinesis endpoint ({binary}) exited with status {status} {when}{detail}")


def _read_endpoint(process: subprocess.Popen[bytes], timeout: float) -> str | None:
    """The endpoint URL from the child's first line of output, or None if it exited first.

    Raises FakeKinesisError if no line comes within timeout.
    """
    stdout = process.stdout
    assert stdout is not None
    ready, _, _ = select.select([stdout], [], [], timeout)
    if not ready:
        raise FakeKinesisError(f"the fake Kinesis endpoint did not report its address within {timeout} s")
    line = stdout.readline()
    if not line:
        return None
    try:
        return str(json.loads(line)["endpoint_url"])
    except (ValueError, KeyError, TypeError):
        raise FakeKinesisError(f"the fake Kinesis endpoint printed {line!r}, not its address") from None


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


class FakeKinesis:
    """A fake Kinesis endpoint in a child process, for tests.

    ``streams`` maps stream names to shard counts, created ACTIVE at start.
    ``max_record_size_kib`` maps some of them to a maximum record size in
    KiB (data plus partition key) other than the service's default 1024, up
    to 10240. The endpoint holds writes to the service's limits, so a
    record over its stream's maximum, or a PutRecords request over 500
    records or 10 MiB, is rejected as a whole with the service's
    ValidationException or InvalidArgumentException.
    ``discard=True`` keeps only counts (see stats()), not records, for load
    tests. ``shard_rate_limit=True`` throttles writes beyond the service's
    per-shard limits (1000 records and 1 MiB per second). ``binary`` is the
    ``kinesistest`` program, by default the one shipped beside this module
    (or the one ``GOKPL_KINESISTEST_BIN`` names). ``host`` and ``port``
    choose where it listens: a free loopback port by default. start()
    waits up to ``start_timeout`` seconds for it to listen.

    A context manager; start() and stop() do the same by hand. The child
    stops when stop() is called, when this object is garbage collected,
    at interpreter exit, and, since it stops when its standard input
    closes, when the test process dies in any way. Each start() is a fresh
    endpoint: nothing is kept across a stop().

    The control methods may be called from any thread. A method called on a
    child that died raises FakeKinesisError with its exit status and output.
    """

    def __init__(
        self,
        streams: Mapping[str, int] | None = None,
        *,
        max_record_size_kib: Mapping[str, int] | None = None,
        discard: bool = False,
        shard_rate_limit: bool = False,
        binary: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 10.0,
    ) -> None:
        self.streams = {str(name): int(shards) for name, shards in (streams or {}).items()}
        self.max_record_size_kib = {str(name): int(kib) for name, kib in (max_record_size_kib or {}).items()}
        unknown = sorted(set(self.max_record_size_kib) - set(self.streams))
        if unknown:
            raise ValueError(f"max_record_size_kib names streams that streams does not: {', '.join(unknown)}")
        self.discard = discard
        self.shard_rate_limit = shard_rate_limit
        self.binary = Path(binary) if binary is not None else _default_binary()
        self.host = host
        self.port = port
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self._endpoint_url: str | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> FakeKinesis:
        """Start the endpoint and wait until it listens; returns self."""
        if self.running:
            raise FakeKinesisError("the fake Kinesis endpoint is already running")
        self.stop()  # one that died: release what is left of it
        _check_binary(self.binary)
        args = _command(
            self.binary,
            self.streams,
            self.max_record_size_kib,
            self.host,
            self.port,
            self.discard,
            self.shard_rate_limit,
        )
        stderr = tempfile.TemporaryFile()
        # A session of its own, so that Ctrl-C in a terminal reaches only
        # this process, which then stops the child.
        process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, start_new_session=True
        )
        finalizer = weakref.finalize(self, _stop_process, process, stderr, os.getpid())
        try:
            url = _read_endpoint(process, self.start_timeout)
            if url is None:
                process.wait(timeout=_STOP_TIMEOUT)
                raise _died(str(self.binary), process, stderr, "before it was ready")
        except BaseException:
            finalizer()
            raise
        self._process, self._stderr, self._finalizer, self._endpoint_url = process, stderr, finalizer, url
        return self

    def stop(self) -> None:
        """Stop the endpoint and wait for the child to exit; a no-op if it is not running."""
        finalizer, self._finalizer = self._finalizer, None
        self._process = self._stderr = self._endpoint_url = None
        if finalizer is not None:
            finalizer()

    def __enter__(self) -> FakeKinesis:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = self._endpoint_url or "stopped"
        return f"<FakeKinesis {state} streams={self.streams!r}>"

    @property
    def running(self) -> bool:
        """Whether the endpoint was started, not stopped, and its process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT``, for Config(endpoint_url=...) or boto3's endpoint_url."""
        if self._endpoint_url is None:
            raise FakeKinesisError(
                "the fake Kinesis endpoint is not running: use it as a context manager or start() it"
            )
        return self._endpoint_url

    def check(self, grace: float = 0.0) -> None:
        """Raise FakeKinesisError if the endpoint is not running or its process died.

        ``grace`` is how long to give a process that is still exiting to be
        seen dead (a refused or reset connection can come before its exit
        status does).
        """
        url = self.endpoint_url
        process, stderr = self._process, self._stderr
        if process is None or stderr is None:
            return
        if process.poll() is None and grace > 0:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                return
        if process.poll() is not None:
            raise _died(str(self.binary), process, stderr, f"while serving {url}")

    # -- clients -------------------------------------------------------------

    def config(self, **overrides: Any) -> Config:
        """A gokpl Config for this endpoint: region us-east-1 and dummy credentials, ``overrides`` winning."""
        options: dict[str, Any] = {
            "region": REGION,
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }
        options.update(overrides)
        return Config(**options)

    def client_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``boto3.client("kinesis", **kwargs)`` against this endpoint."""
        return {
            "endpoint_url": self.endpoint_url,
            "region_name": REGION,
            "aws_access_key_id": ACCESS_KEY_ID,
            "aws_secret_access_key": SECRET_ACCESS_KEY,
        }

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
        body: dict[str, Any] = {"Operation": operation or "", "Times": _times(times)}
        if error is not None:
            body["ErrorType"] = error
            body["StatusCode"] = status if status is not None else _status_for(error)
        elif status is not None:
            body["StatusCode"] = status
        if message is not None:
            body["Message"] = message
        if delay is not None:
            body["DelayMillis"] = round(delay * 1000)
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
        url = self.endpoint_url + _CONTROL_PREFIX + path
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with _OPENER.open(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise FakeKinesisError(f"{method} {path}: {_error_message(exc)}") from None
        except OSError as exc:
            self.check(grace=1.0)
            raise FakeKinesisError(f"{method} {path}: cannot reach the fake Kinesis endpoint: {exc}") from exc


def _stream_path(name: str, *rest: str) -> str:
    return "/".join(("streams", urllib.parse.quote(name, safe=""), *rest))


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read())["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"HTTP {exc.code}"


# ---------------------------------------------------------------------------
# python -m gokpl.testing serve


class _StreamArg(NamedTuple):
    """One ``--stream NAME:SHARDS[:MAXKIB]`` of ``serve``."""

    name: str
    shards: int
    max_record_size_kib: int | None


def _stream_arg(value: str) -> _StreamArg:
    name, *numbers = value.split(":")
    if not name or not 1 <= len(numbers) <= 2 or not all(n.isdigit() and int(n) >= 1 for n in numbers):
        raise argparse.ArgumentTypeError(f"want NAME:SHARDS[:MAXKIB] with SHARDS >= 1 and MAXKIB >= 1, got {value!r}")
    return _StreamArg(name, int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gokpl.testing", description="gokpl's fake Kinesis endpoint.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a fake Kinesis endpoint in the foreground until Ctrl-C or SIGTERM",
        description="Serve a fake Kinesis endpoint for any client (gokpl, boto3, the AWS CLI) until "
        "Ctrl-C or SIGTERM. The endpoint URL is printed on standard output.",
    )
    serve.add_argument("--stream", action="append", type=_stream_arg, default=[], metavar="NAME:SHARDS[:MAXKIB]",
                       help="create a stream at start, MAXKIB its maximum record size in KiB "
                       "(1024 to 10240, default 1024); repeatable")  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    serve.add_argument("--discard", action="store_true", help="keep only record counts, not records")
    serve.add_argument("--shard-rate-limit", action="store_true",
                       help="throttle writes over 1000 records and 1 MiB per second per shard")  # fmt: skip
    serve.add_argument("--binary", help="the kinesistest program (default: the one shipped with gokpl)")
    return parser


def _usage_hint(url: str, streams: Sequence[_StreamArg]) -> str:
    listed = ", ".join(f"{s.name} ({s.shards} shard{'s' if s.shards != 1 else ''})" for s in streams)
    return "\n".join(
        [
            f"gokpl.testing: fake Kinesis endpoint at {url}; streams: {listed or 'none yet'}",
            f"  gokpl:   Config(endpoint_url={url!r}, region={REGION!r}, "
            f"aws_access_key_id={ACCESS_KEY_ID!r}, aws_secret_access_key={SECRET_ACCESS_KEY!r})",
            f"  shell:   export AWS_ENDPOINT_URL_KINESIS={url} AWS_DEFAULT_REGION={REGION} "
            f"AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}",
            f"  control: {url}{_CONTROL_PREFIX} (faults, requests, streams/NAME/records)",
            "Ctrl-C stops it.",
        ]
    )


def _serve(args: argparse.Namespace) -> int:
    """Run the endpoint until SIGINT or SIGTERM; 0 then, 1 if it cannot start or dies."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    fake = FakeKinesis(
        {s.name: s.shards for s in args.stream},
        max_record_size_kib={s.name: s.max_record_size_kib for s in args.stream if s.max_record_size_kib},
        discard=args.discard,
        shard_rate_limit=args.shard_rate_limit,
        binary=args.binary,
        host=args.host,
        port=args.port,
    )
    try:
        fake.start()
        print(fake.endpoint_url, flush=True)
        print(_usage_hint(fake.endpoint_url, args.stream), file=sys.stderr, flush=True)
        while not stopping.wait(0.5):
            fake.check()
    except FakeKinesisError as exc:
        print(f"gokpl.testing: {exc}", file=sys.stderr)
        return 1
    finally:
        fake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m gokpl.testing`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2  # pragma: no cover: argparse requires a command


if __name__ == "__main__":
    sys.exit(main())
