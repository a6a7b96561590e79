"""Reading Kinesis records back into user records, for tests.

The format itself (magic bytes, protobuf, MD5) is read by gokpl.aggregation;
this module gives its records in put_records' tuple order, and takes data
that is not aggregated for a record of its own, as a consumer does. Pure
functions; safe from any thread.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

from ..aggregation import MAGIC, decode_protobuf

_MD5_SIZE = 16


class UserRecord(NamedTuple):
    """One user record out of a Kinesis record, in put_records' tuple order (tags: gokpl.aggregation)."""

    partition_key: str
    data: bytes
    explicit_hash_key: str | None = None


def is_aggregated(data: bytes) -> bool:
    """Whether data is a KPL aggregated record: the magic bytes, protobuf bytes, then their MD5."""
    return aggregated_protobuf(data) is not None


def deaggregate(partition_key: str, data: bytes, explicit_hash_key: str | None = None) -> list[UserRecord]:
    """The user records in one Kinesis record, given as it was written or read.

    An aggregated record (magic ``F3 89 9A C2``, a protobuf
    ``AggregatedRecord``, the MD5 of the protobuf bytes) yields its user
    records in the order they were packed, each with its own partition key
    and the explicit hash key from the record's table (None when the user
    record had none). Anything else, including data that starts with the
    magic bytes but fails the MD5 check (as the KCL does), is one user record
    with the arguments as given. An aggregated record whose protobuf cannot
    be read raises ValueError. Tags are left out: gokpl.aggregation's
    decode_aggregated, or FakeKinesis.records(), gives them.
    """
    protobuf = aggregated_protobuf(data)
    if protobuf is None:
        return [UserRecord(partition_key, bytes(data), explicit_hash_key)]
    return [UserRecord(r.partition_key, r.data, r.explicit_hash_key) for r in decode_protobuf(protobuf)]


def aggregated_protobuf(data: bytes) -> bytes | None:
    """The protobuf bytes of an aggregated record; None for data that is not one (magic bytes, MD5).

    Unlike gokpl.aggregation.is_aggregated, an aggregated record must hold at
    least one protobuf byte and its MD5 must match, as the KCL has it.
    """
    if len(data) <= len(MAGIC) + _MD5_SIZE or not data.startswith(MAGIC):
        return None
    protobuf = bytes(data[len(MAGIC) : -_MD5_SIZE])
    if hashlib.md5(protobuf).digest() != data[-_MD5_SIZE:]:
        return None
    return protobuf
