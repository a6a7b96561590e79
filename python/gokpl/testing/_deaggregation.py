"""Reading the KPL aggregated record format back into user records, in pure Python.

An aggregated Kinesis record is the magic bytes ``F3 89 9A C2``, a protobuf
``AggregatedRecord`` (tables of partition keys and explicit hash keys, then
the records, each naming its keys by index) and the MD5 of the protobuf
bytes. Pure functions; safe from any thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import NamedTuple


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
    be read raises ValueError.
    """
    protobuf = aggregated_protobuf(data)
    if protobuf is None:
        return [UserRecord(partition_key, bytes(data), explicit_hash_key)]
    return decode_aggregated(protobuf)


def aggregated_protobuf(data: bytes) -> bytes | None:
    """The protobuf bytes of an aggregated record; None for data that is not one (magic bytes, MD5)."""
    if len(data) <= len(_MAGIC) + _MD5_SIZE or not data.startswith(_MAGIC):
        return None
    protobuf = bytes(data[len(_MAGIC) : -_MD5_SIZE])
    if hashlib.md5(protobuf).digest() != data[-_MD5_SIZE:]:
        return None
    return protobuf


def _corrupt(reason: str) -> ValueError:
    return ValueError(f"corrupt aggregated record: {reason}")


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
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
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise _corrupt("field number 0")
        if wire_type == _VARINT:
            value, pos = read_varint(buf, pos)
            yield number, value
        elif wire_type == _BYTES:
            size, pos = read_varint(buf, pos)
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


def decode_aggregated(protobuf: bytes) -> list[UserRecord]:
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
