"""The records of a put: their fields checked and encoded for the library, and
put_records' records packed into the buffers of one native batch call.

Functions of the calling thread only; they hold no state.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import _native
from ._errors import InvalidRecordError, InvalidRecordTypeError

if TYPE_CHECKING:
    from ._outcome import SyncOutcome


def encode_text(name: str, value: Any) -> bytes:
    """A str argument as UTF-8: InvalidRecordTypeError for another type, InvalidRecordError
    for a str that has no UTF-8 form (a lone surrogate)."""
    if not isinstance(value, str):
        raise InvalidRecordTypeError(f"{name} must be a str, got {type(value).__name__}")
    try:
        return value.encode()
    except UnicodeEncodeError:
        raise not_unicode(name, value) from None


def not_unicode(name: str, value: str) -> InvalidRecordError:
    bad = next((c for c in value if 0xD800 <= ord(c) <= 0xDFFF), "")
    return InvalidRecordError(
        f"invalid record: {name} must be valid Unicode text, got a lone surrogate {bad!r} in {value[:64]!r}"
    )


def check_data(data: Any, name: str) -> int:
    """The size in bytes of record data: any C-contiguous bytes-like object (bytes, bytearray,
    memoryview, array.array, ...); InvalidRecordTypeError otherwise."""
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    try:
        view = memoryview(data)
    except TypeError:
        raise InvalidRecordTypeError(
            f"{name} must be bytes-like (bytes, bytearray, memoryview), got {type(data).__name__}"
        ) from None
    with view:
        if not view.c_contiguous:
            raise InvalidRecordTypeError(f"{name} must be contiguous bytes-like memory, got a non-contiguous one")
        return view.nbytes


def as_buffer(data: Any, name: str) -> Any:
    """bytes as they are; bytearray and memoryview (checked by check_data) as a cffi view of their memory."""
    if isinstance(data, bytes):
        return data
    try:
        return _native._ffi.from_buffer("uint8_t[]", data)
    except (TypeError, ValueError, BufferError) as exc:
        raise InvalidRecordTypeError(f"{name} must be contiguous bytes-like memory: {exc}") from None


def encode_hash_key(value: Any) -> bytes:
    if not isinstance(value, str):
        raise InvalidRecordTypeError(f"explicit_hash_key must be a str or None, got {type(value).__name__}")
    encoded = encode_text("explicit_hash_key", value)
    if not encoded.strip():
        raise InvalidRecordError(
            f"invalid record: explicit_hash_key must be a decimal integer in [0, 2^128-1], got {value!r}"
        )
    return encoded


# Tags, checked and encoded: (key, value or None) in UTF-8.
EncodedTags = list[tuple[bytes, "bytes | None"]]


def check_tags(tags: Any) -> EncodedTags:
    """put_record's tags checked and encoded, in order.

    tags is a mapping of key to value (str or None), or an iterable of Tag
    objects (anything with ``key`` and ``value`` attributes, such as
    gokpl.aggregation.Tag or aiokpl's) and ``(key, value)`` tuples. Keys are
    str (the empty one too, as the format allows), values str or None (no
    value). InvalidRecordTypeError for another type, InvalidRecordError for text with no
    UTF-8 form; both name the tag.
    """
    if isinstance(tags, (str, bytes, bytearray, memoryview)):
        raise InvalidRecordTypeError(
            f"tags must be a sequence of Tag or (key, value) pairs, or a mapping, got {type(tags).__name__}"
        )
    if isinstance(tags, Mapping):
        pairs: Iterable[Any] = tags.items()
    else:
        try:
            pairs = iter(tags)
        except TypeError:
            raise InvalidRecordTypeError(
                f"tags must be a sequence of Tag or (key, value) pairs, or a mapping, got {type(tags).__name__}"
            ) from None
    return [_encode_tag(i, tag) for i, tag in enumerate(pairs)]


def _encode_tag(i: int, tag: Any) -> tuple[bytes, bytes | None]:
    if isinstance(tag, tuple):
        if len(tag) != 2:
            raise InvalidRecordTypeError(f"tags[{i}] must be a Tag or a (key, value) pair, got a tuple of {len(tag)}")
        key, value = tag
    else:
        try:
            key, value = tag.key, tag.value
        except AttributeError:
            raise InvalidRecordTypeError(
                f"tags[{i}] must be a Tag or a (key, value) pair, got {type(tag).__name__}"
            ) from None
    key_b = encode_text(f"tags[{i}].key", key)
    if value is None:
        return key_b, None
    if not isinstance(value, str):
        raise InvalidRecordTypeError(f"tags[{i}].value must be a str or None, got {type(value).__name__}")
    return key_b, encode_text(f"tags[{i}].value", value)


class NativeTags:
    """Encoded tags as a gokpl_tag array for gokpl_producer_put, with the buffer it points into."""

    __slots__ = ("_text", "array", "count")

    def __init__(self, ffi: Any, tags: EncodedTags) -> None:
        text = b"".join(k + (v or b"") for k, v in tags)
        self._text = ffi.from_buffer(text)  # alive as long as the array
        null = ffi.NULL
        entries = []
        at = 0
        for key, value in tags:
            key_c = self._text + at
            at += len(key)
            if value is None:
                entries.append((key_c, len(key), null, 0, 0))
            else:
                entries.append((key_c, len(key), self._text + at, len(value), 1))
                at += len(value)
        self.array = ffi.new("gokpl_tag[]", entries)
        self.count = len(entries)


# put_records' native call, from record `done` on: (done, slice_ms, outs,
# accepted, err) -> status. The buffers it points into live as long as it.
BatchCall = Callable[[int, int, Any, Any, Any], int]


def packed_batch(
    ffi: Any, lib: Any, handle: int, stream_b: bytes, keys: list[bytes], datas: list[Any], data_lens: list[int]
) -> BatchCall:
    """Records without hash keys: keys and data packed into two buffers, with their lengths
    (gokpl_producer_put_packed)."""
    key_lens = array("I", map(len, keys))
    data_lens_a = array("I", data_lens)
    key_c = ffi.from_buffer(b"".join(keys))
    data_c = ffi.from_buffer("uint8_t[]", b"".join(datas))
    key_lens_c = ffi.from_buffer("uint32_t[]", key_lens)
    data_lens_c = ffi.from_buffer("uint32_t[]", data_lens_a)

    def put_from(done: int, slice_ms: int, outs: Any, accepted: Any, err: Any) -> int:
        key_at = sum(key_lens[:done]) if done else 0
        data_at = sum(data_lens_a[:done]) if done else 0
        return int(
            lib.gokpl_producer_put_packed(
                handle, stream_b, len(stream_b), key_c + key_at, key_lens_c + done, data_c + data_at,
                data_lens_c + done, len(keys) - done, slice_ms, outs, accepted, err, _native.ERROR_BUFFER_SIZE,
            )
        )  # fmt: skip

    return put_from


def struct_batch(
    ffi: Any,
    lib: Any,
    handle: int,
    stream_b: bytes,
    keys: list[bytes],
    datas: list[Any],
    data_lens: list[int],
    hashes: dict[int, bytes],
) -> BatchCall:
    """Records some of which have hash keys: an array of gokpl_record pointing into three
    joined buffers (gokpl_producer_put_batch)."""
    key_c = ffi.from_buffer(b"".join(keys))
    data_c = ffi.from_buffer("uint8_t[]", b"".join(datas))
    hash_c = ffi.from_buffer(b"".join(hashes.values()))
    null = ffi.NULL
    entries = []
    key_at = data_at = hash_at = 0
    for i, key in enumerate(keys):
        key_len, data_len = len(key), data_lens[i]
        hash_b = hashes.get(i)
        if hash_b is None:
            entries.append((key_c + key_at, key_len, null, 0, data_c + data_at, data_len))
        else:
            entries.append((key_c + key_at, key_len, hash_c + hash_at, len(hash_b), data_c + data_at, data_len))
            hash_at += len(hash_b)
        key_at += key_len
        data_at += data_len
    native = ffi.new("gokpl_record[]", entries or 1)

    def put_from(done: int, slice_ms: int, outs: Any, accepted: Any, err: Any) -> int:
        keep = (key_c, data_c, hash_c)  # alive until the call has copied them
        status = lib.gokpl_producer_put_batch(
            handle, stream_b, len(stream_b), native + done, len(keys) - done,
            slice_ms, outs, accepted, err, _native.ERROR_BUFFER_SIZE,
        )  # fmt: skip
        del keep
        return int(status)

    return put_from


def each_record(records: Any) -> Iterator[Any]:
    """An iterator over put_records' records; InvalidRecordTypeError naming the argument when it
    is not iterable (an error raised while iterating is the iterable's own)."""
    try:
        return iter(records)
    except TypeError:
        raise InvalidRecordTypeError(f"records must be an iterable of records, got {type(records).__name__}") from None


def about_stream(exc: Exception) -> bool:
    """Whether the engine refused a batch for its stream, which every record shares, rather than
    for one of its records."""
    return isinstance(exc, InvalidRecordError) and str(exc).startswith("invalid record: stream ")


def batch_error(exc: Exception, index: int, outcomes: list[SyncOutcome]) -> Exception:
    """exc, for the record at index of a batch, with the outcomes of the records put before it."""
    error = type(exc)(f"records[{index}]: {exc}")
    error.index = index  # type: ignore[attr-defined]
    error.outcomes = outcomes  # type: ignore[attr-defined]
    return error


_RECORD_KEYS = frozenset(("partition_key", "data", "explicit_hash_key"))


def batch_record(record: Any) -> tuple[bytes, Any, int, bytes | None]:
    """Check and encode one put_records record: (partition key, data, its size in bytes, hash key or None)."""
    if isinstance(record, Mapping):
        unknown = set(record) - _RECORD_KEYS
        if unknown:
            raise InvalidRecordTypeError(
                f"unknown record keys {sorted(unknown)}; use partition_key, data, explicit_hash_key"
            )
        try:
            key, data = record["partition_key"], record["data"]
        except KeyError as exc:
            raise InvalidRecordTypeError(f"record needs {exc.args[0]!r}") from None
        hash_key = record.get("explicit_hash_key")
    elif isinstance(record, tuple) and len(record) in (2, 3):
        key, data = record[0], record[1]
        hash_key = record[2] if len(record) == 3 else None
    else:
        raise InvalidRecordTypeError(
            "a record must be a mapping with partition_key, data and optionally explicit_hash_key, "
            f"or a tuple (partition_key, data[, explicit_hash_key]), got {type(record).__name__}"
        )
    key_b = encode_text("partition_key", key)
    size = check_data(data, "data")
    hash_b = None if hash_key is None else encode_hash_key(hash_key)
    return key_b, data, size, hash_b
