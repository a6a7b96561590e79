"""The KPL aggregated record format, in pure Python: encoding and decoding.

An aggregated Kinesis record's data is the magic bytes ``F3 89 9A C2``, a
protobuf ``AggregatedRecord`` and the MD5 of the protobuf bytes:

    message AggregatedRecord { repeated string partition_key_table = 1;
                               repeated string explicit_hash_key_table = 2;
                               repeated Record records = 3; }
    message Record { required uint64 partition_key_index = 1;
                     optional uint64 explicit_hash_key_index = 2;
                     required bytes data = 3;
                     repeated Tag tags = 4; }
    message Tag { required string key = 1; optional string value = 2; }

The names and signatures are aiokpl's (``aiokpl.aggregation``), so code
written against it runs unchanged. encode_aggregated writes what gokpl's
engine writes, byte for byte: key tables without duplicates in first-use
order, then the records, each with its tags after its data. Everything here
is pure functions and immutable values, safe from any thread; nothing loads
gokpl's shared library.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Sequence

__all__ = [
    "MAGIC",
    "DecodedRecord",
    "Tag",
    "UserRecord",
    "decode_aggregated",
    "encode_aggregated",
    "is_aggregated",
]

#: The four bytes every aggregated record's data starts with.
MAGIC = b"\xf3\x89\x9a\xc2"
_MD5_SIZE = 16
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


@dataclasses.dataclass(frozen=True)
class Tag:
    """A tag of a user record: a key and an optional value (None: no value, unlike "")."""

    key: str
    value: str | None = None


@dataclasses.dataclass(frozen=True)
class UserRecord:
    """A user record to aggregate: its partition key, data, explicit hash key (decimal) and tags."""

    partition_key: str
    data: bytes
    explicit_hash_key: str | None = None
    tags: tuple[Tag, ...] = ()


@dataclasses.dataclass(frozen=True)
class DecodedRecord:
    """A user record read out of an aggregated record, its keys resolved through the tables."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes
    tags: tuple[Tag, ...]


# -- encoding -------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field: its key, length and bytes."""
    return _varint(number << 3 | _BYTES) + _varint(len(payload)) + payload


def _tag_message(tag: Tag) -> bytes:
    message = _field(1, tag.key.encode())
    if tag.value is not None:
        message += _field(2, tag.value.encode())
    return message


def _index(table: dict[str, int], key: str) -> int:
    """key's place in a de-duplicated table, added at the end when new."""
    return table.setdefault(key, len(table))


def encode_aggregated(records: Sequence[UserRecord]) -> bytes:
    """The data of the Kinesis record that carries records.

    Two or more records are aggregated: magic, protobuf, MD5. One record is
    its own data, as the KPL sends a lone record raw (under its own
    partition key, without its tags). ValueError for no records.
    """
    if not records:
        raise ValueError("encode_aggregated needs at least one record")
    if len(records) == 1:
        return bytes(records[0].data)
    keys: dict[str, int] = {}
    hash_keys: dict[str, int] = {}
    bodies = []
    for r in records:
        body = bytes([1 << 3 | _VARINT]) + _varint(_index(keys, r.partition_key))
        if r.explicit_hash_key is not None:
            body += bytes([2 << 3 | _VARINT]) + _varint(_index(hash_keys, r.explicit_hash_key))
        body += _field(3, bytes(r.data))
        body += b"".join(_field(4, _tag_message(t)) for t in r.tags)
        bodies.append(_field(3, body))
    protobuf = b"".join([*(_field(1, k.encode()) for k in keys), *(_field(2, h.encode()) for h in hash_keys), *bodies])
    return MAGIC + protobuf + hashlib.md5(protobuf, usedforsecurity=False).digest()


# -- decoding -------------------------------------------------------------------


def is_aggregated(payload: bytes) -> bool:
    """Whether payload looks aggregated: the magic bytes and room for the MD5 (which it does not check)."""
    return len(payload) >= len(MAGIC) + _MD5_SIZE and bytes(payload[: len(MAGIC)]) == MAGIC


def decode_aggregated(payload: bytes) -> list[DecodedRecord]:
    """The user records of an aggregated record's data, in the order they were packed.

    ValueError when payload is not one (too short, other magic bytes, an MD5
    that does not match) or its protobuf cannot be read (a truncated field,
    a missing required field, an index outside its table, text that is not
    UTF-8). Unknown fields are skipped.
    """
    payload = bytes(payload)
    if len(payload) < len(MAGIC) + _MD5_SIZE:
        raise ValueError(f"not an aggregated record: {len(payload)} bytes, too short for the magic bytes and MD5")
    if not payload.startswith(MAGIC):
        raise ValueError("not an aggregated record: the magic bytes F3 89 9A C2 are missing")
    protobuf = payload[len(MAGIC) : -_MD5_SIZE]
    if hashlib.md5(protobuf, usedforsecurity=False).digest() != payload[-_MD5_SIZE:]:
        raise ValueError("not an aggregated record: the MD5 does not match")
    return decode_protobuf(protobuf)


def decode_protobuf(protobuf: bytes) -> list[DecodedRecord]:
    """The user records of an AggregatedRecord message (without magic bytes and MD5); ValueError if corrupt."""
    keys: list[str] = []
    hash_keys: list[str] = []
    bodies: list[bytes] = []
    for number, value in _fields(protobuf):
        if number == 1:
            keys.append(_text(_bytes_field(number, value), "a partition key"))
        elif number == 2:
            hash_keys.append(_text(_bytes_field(number, value), "an explicit hash key"))
        elif number == 3:
            bodies.append(_bytes_field(number, value))
    return [_decode_record(i, body, keys, hash_keys) for i, body in enumerate(bodies)]


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


def _text(value: bytes, what: str) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError as exc:
        raise _corrupt(f"{what} is not UTF-8 ({exc.reason})") from None


def _decode_record(i: int, body: bytes, keys: list[str], hash_keys: list[str]) -> DecodedRecord:
    """Record i of an AggregatedRecord, its key indexes resolved through the tables."""
    key_index: int | None = None
    hash_key_index: int | None = None
    data: bytes | None = None
    tags: list[Tag] = []
    for number, value in _fields(body):
        if number == 1:
            key_index = _int_field(number, value)
        elif number == 2:
            hash_key_index = _int_field(number, value)
        elif number == 3:
            data = _bytes_field(number, value)
        elif number == 4:
            tags.append(_decode_tag(i, _bytes_field(number, value)))
    if key_index is None or data is None:
        raise _corrupt(f"record {i} lacks its partition key index or data")
    if key_index >= len(keys):
        raise _corrupt(f"record {i}: partition key index {key_index} outside a table of {len(keys)}")
    hash_key = None
    if hash_key_index is not None:
        if hash_key_index >= len(hash_keys):
            raise _corrupt(f"record {i}: explicit hash key index {hash_key_index} outside a table of {len(hash_keys)}")
        hash_key = hash_keys[hash_key_index]
    return DecodedRecord(keys[key_index], hash_key, data, tuple(tags))


def _decode_tag(i: int, message: bytes) -> Tag:
    key: str | None = None
    value: str | None = None
    for number, field in _fields(message):
        if number == 1:
            key = _text(_bytes_field(number, field), f"record {i}: a tag key")
        elif number == 2:
            value = _text(_bytes_field(number, field), f"record {i}: a tag value")
    if key is None:
        raise _corrupt(f"record {i}: a tag lacks its key")
    return Tag(key, value)
