"""Every bad input raises the documented exception and leaves the producer working."""

from __future__ import annotations

import array
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import delete_stream
from gokpl import Config, ConfigError, GokplError, InvalidRecordError, InvalidRecordTypeError, SyncProducer
from support import read_back

ConfigFactory = Callable[..., Config]
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def producer(kinesis_mock: Any) -> Iterator[tuple[SyncProducer, str]]:
    """One producer and stream for the whole module: each bad input must leave it working."""
    kinesis_mock.create_stream("bad-input", 1)
    config = Config(region="us-east-1", endpoint_url=kinesis_mock.endpoint_url, record_max_buffered_time_ms=10)
    with SyncProducer(config) as p:
        yield p, "bad-input"
    delete_stream(kinesis_mock, "bad-input")


def assert_still_works(producer: SyncProducer, stream: str) -> None:
    assert producer.put_record(stream=stream, partition_key="ok", data=b"ok").wait(timeout=10).success


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"partition_key": ""}, "partition_key"),
        ({"partition_key": "k" * 257}, "partition_key"),
        ({"explicit_hash_key": "-1"}, "explicit_hash_key"),
        ({"explicit_hash_key": str(2**128)}, "explicit_hash_key"),
        ({"explicit_hash_key": "ten"}, "explicit_hash_key"),
        ({"explicit_hash_key": "1e5"}, "explicit_hash_key"),
        ({"explicit_hash_key": ""}, "explicit_hash_key"),
        ({"explicit_hash_key": " "}, "explicit_hash_key"),
        ({"data": b"x" * (10 * MiB)}, "data"),
        ({"data": bytearray(10 * MiB)}, "data"),
        ({"stream": ""}, "stream"),
        ({"stream": "bad name!"}, "stream"),
        ({"stream": "s" * 129}, "stream"),
        ({"stream": "arn:aws:kinesis:us-east-1:12345:stream/s"}, "stream"),
    ],
    ids=[
        "empty-key",
        "257-char-key",
        "hash-minus-1",
        "hash-2^128",
        "hash-not-a-number",
        "hash-float-syntax",
        "hash-empty",
        "hash-blank",
        "data-and-key-over-10MiB",
        "bytearray-and-key-over-10MiB",
        "empty-stream",
        "stream-name-pattern",
        "stream-name-129",
        "stream-arn-short-account",
    ],
)
def test_invalid_values_raise_invalid_record_error(
    producer: tuple[SyncProducer, str], kwargs: dict[str, Any], field: str
) -> None:
    p, stream = producer
    call: dict[str, Any] = {"stream": stream, "partition_key": "k", "data": b"x", **kwargs}
    with pytest.raises(InvalidRecordError) as info:
        p.put_record(**call)
    assert field in str(info.value)
    assert isinstance(info.value, ValueError)
    assert_still_works(p, stream)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"data": "text"}, "data"),
        ({"data": None}, "data"),
        ({"data": 5}, "data"),
        ({"data": [1, 2]}, "data"),
        ({"data": memoryview(b"abcdef")[::2]}, "data"),
        ({"partition_key": b"bytes-key"}, "partition_key"),
        ({"partition_key": None}, "partition_key"),
        ({"stream": b"bytes-stream"}, "stream"),
        ({"stream": None}, "stream"),
        ({"stream": ["unhashable"]}, "stream"),
        ({"explicit_hash_key": 5}, "explicit_hash_key"),
        ({"tags": ("a",)}, "tags"),
    ],
    ids=[
        "str-data",
        "none-data",
        "int-data",
        "list-data",
        "strided-memoryview",
        "bytes-key",
        "none-key",
        "bytes-stream",
        "none-stream",
        "list-stream",
        "int-hash-key",
        "tags",
    ],
)
def test_wrong_types_raise_type_error_naming_the_argument(
    producer: tuple[SyncProducer, str], kwargs: dict[str, Any], argument: str
) -> None:
    """An InvalidRecordTypeError: an InvalidRecordError (and so a ValueError and
    a GokplError), as the contract says of data that is not bytes-like, and a
    TypeError, as Python raises for an argument of the wrong type."""
    p, stream = producer
    call: dict[str, Any] = {"stream": stream, "partition_key": "k", "data": b"x", **kwargs}
    with pytest.raises(InvalidRecordTypeError, match=argument) as info:
        p.put_record(**call)
    assert isinstance(info.value, TypeError) and isinstance(info.value, InvalidRecordError)
    assert isinstance(info.value, ValueError) and isinstance(info.value, GokplError)
    assert_still_works(p, stream)


def test_any_contiguous_bytes_like_data_is_taken_as_its_bytes(
    producer: tuple[SyncProducer, str], kinesis_mock: Any
) -> None:
    p, stream = producer
    data = array.array("i", [1, 2, 3])
    assert p.put_record(stream=stream, partition_key="k", data=data).wait(10).success
    (batched,) = p.put_records(stream, [("k", array.array("h", [4, 5]))])
    assert batched.wait(10).success
    written = {r.data for r in read_back(kinesis_mock.endpoint_url, stream)}
    assert data.tobytes() in written and array.array("h", [4, 5]).tobytes() in written


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"x" * (MiB - 1),
        bytearray(b"bytearray"),
        memoryview(b"memoryview"),
        memoryview(bytearray(b"mv-of-bytearray")),
    ],
    ids=["empty", "exactly-1MiB-with-the-key", "bytearray", "memoryview", "memoryview-bytearray"],
)
def test_bytes_like_data_at_the_limits_is_accepted(producer: tuple[SyncProducer, str], data: Any) -> None:
    p, stream = producer
    assert p.put_record(stream=stream, partition_key="k", data=data).wait(timeout=10).success


def test_data_and_key_over_the_streams_limit_fail_alone(producer: tuple[SyncProducer, str]) -> None:
    # 1 MiB of data and a key: over the service's default maximum record
    # size. Refused at put once the stream's limit is known (the emulator's
    # streams take 1 MiB), else failed alone; a record beside it is unharmed.
    p, stream = producer
    for _ in range(2):
        beside = p.put_record(stream=stream, partition_key="beside", data=b"ok")
        try:
            outcome = p.put_record(stream=stream, partition_key="k", data=b"x" * MiB)
        except InvalidRecordError as exc:
            assert "data" in str(exc) and "1048576" in str(exc)
        else:
            result = outcome.wait(timeout=30)
            assert not result.success and result.error_code == "RecordTooLarge", result
        assert beside.wait(timeout=10).success
    with pytest.raises(InvalidRecordError, match="data"):
        p.put_record(stream=stream, partition_key="k", data=b"x" * MiB)


@pytest.mark.parametrize(
    "key", ["k" * 256, "é" * 256, "ж" * 256, "a"], ids=["256-ascii", "256-latin", "256-cyrillic", "1"]
)
def test_partition_keys_count_characters_not_bytes(producer: tuple[SyncProducer, str], key: str) -> None:
    p, stream = producer
    assert p.put_record(stream=stream, partition_key=key, data=b"x").wait(timeout=10).success


@pytest.mark.parametrize("hash_key", ["0", str(2**128 - 1), "00042"], ids=["zero", "max", "leading-zeros"])
def test_explicit_hash_keys_at_the_limits_are_accepted(producer: tuple[SyncProducer, str], hash_key: str) -> None:
    p, stream = producer
    assert (
        p.put_record(stream=stream, partition_key="k", data=b"x", explicit_hash_key=hash_key).wait(timeout=10).success
    )


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"no_such_option": 1}, "no_such_option"),
        ({"record_max_buffered_time_ms": -1}, "record_max_buffered_time_ms"),
        ({"max_outstanding_records": 0}, "max_outstanding_records"),
        ({"collection_max_count": 501}, "collection_max_count"),
        ({"aggregation_max_size": 63}, "aggregation_max_size"),
        ({"max_connections": 1.5}, "max_connections"),
        ({"verify_ssl": "no"}, "verify_ssl"),
        ({"metrics_level": "everything"}, "metrics_level"),
    ],
)
def test_bad_config_raises_config_error(
    producer: tuple[SyncProducer, str], options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError, match=field) as info:
        Config(region="us-east-1", **options)
    assert isinstance(info.value, ValueError)
    p, stream = producer
    assert_still_works(p, stream)


def test_unknown_put_record_argument_is_a_type_error(producer: tuple[SyncProducer, str]) -> None:
    p, stream = producer
    with pytest.raises(TypeError):
        p.put_record(stream=stream, partition_key="k", data=b"x", sequence_number_for_ordering="1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        p.put_record(stream, "k", b"x")  # type: ignore[misc]
    assert_still_works(p, stream)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"partition_key": "\ud800"}, "partition_key"),
        ({"partition_key": "key-\udfff-end"}, "partition_key"),
        ({"stream": "bad-\ud800"}, "stream"),
        ({"explicit_hash_key": "1\udc00"}, "explicit_hash_key"),
    ],
    ids=["key-lone-high", "key-lone-low", "stream", "hash-key"],
)
def test_lone_surrogates_are_invalid_records_naming_the_argument(
    producer: tuple[SyncProducer, str], kwargs: dict[str, Any], field: str
) -> None:
    p, stream = producer
    call: dict[str, Any] = {"stream": stream, "partition_key": "k", "data": b"x", **kwargs}
    with pytest.raises(InvalidRecordError, match=field):
        p.put_record(**call)
    batch_stream = call.pop("stream")
    with pytest.raises(InvalidRecordError, match=field):
        p.put_records(batch_stream, [call])
    assert_still_works(p, stream)


def test_a_lone_surrogate_in_a_batch_puts_the_records_before_it(producer: tuple[SyncProducer, str]) -> None:
    p, stream = producer
    with pytest.raises(InvalidRecordError, match=r"records\[1\]: .*partition_key") as info:
        p.put_records(stream, [("ok", b"x"), ("\ud800", b"x"), ("ok", b"x")])
    assert info.value.index == 1  # type: ignore[attr-defined]
    assert [o.wait(timeout=10).success for o in info.value.outcomes] == [True]  # type: ignore[attr-defined]


def test_multi_dimensional_contiguous_memoryviews_are_accepted(producer: tuple[SyncProducer, str]) -> None:
    p, stream = producer
    data = memoryview(bytes(range(8))).cast("B", (2, 4))
    assert p.put_record(stream=stream, partition_key="k", data=data).wait(timeout=10).success
    assert p.put_records(stream, [("k", data)])[0].wait(timeout=10).success
