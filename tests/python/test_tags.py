"""Record tags: put_record(tags=...) written as the KPL format's Tag entries, read back by
gokpl.testing, by gokpl.aggregation and by aws_kinesis_agg's protobuf classes (the
independent reader); gokpl.aggregation's encoder and decoder on their own."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_kinesis_agg.deaggregator  # noqa: F401  (makes its generated modules importable)
import pytest
from aws_kinesis_agg import messages_pb2
from emulator import KinesisMock
from gokpl import Config, InvalidRecordError, SyncProducer, Tag
from gokpl.aggregation import MAGIC, DecodedRecord, UserRecord, decode_aggregated, encode_aggregated, is_aggregated
from gokpl.testing import FakeKinesis, hash_key_of
from support import boto3_client, read_back

ConfigFactory = Callable[..., Config]
REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class ForeignTag:
    """A tag of another library (aiokpl's has the same two attributes)."""

    key: str
    value: str | None = None


# Tags as put, and as they read back (put_tagged adds b"ehk", tagged e=h, put with an explicit hash key).
CASES: list[tuple[Any, tuple[Tag, ...]]] = [
    ([Tag("source", "web"), Tag("flag")], (Tag("source", "web"), Tag("flag"))),
    ((Tag("empty", ""),), (Tag("empty", ""),)),
    ([("k", "v"), ("only-key", None)], (Tag("k", "v"), Tag("only-key"))),
    ({"a": "1", "b": None}, (Tag("a", "1"), Tag("b"))),
    ([ForeignTag("ключ", "🔑")], (Tag("ключ", "🔑"),)),
    ([Tag("", "empty key")], (Tag("", "empty key"),)),
    ([Tag("long", "v" * 300)], (Tag("long", "v" * 300),)),
    ((), ()),
    (None, ()),
]


def put_tagged(producer: SyncProducer, stream: str) -> None:
    """A first record (the stream's shard map loads meanwhile), then CASES under one partition key,
    flushed, so that they share aggregated records."""
    assert producer.put_record(stream=stream, partition_key="warm-up", data=b"w").wait(timeout=10).success
    outcomes = [
        producer.put_record(stream=stream, partition_key="tagged", data=b"%d" % i, tags=tags)
        for i, (tags, _) in enumerate(CASES)
    ]
    # With an explicit hash key too (the partition key's own hash, so that it shares the buffer).
    same_hash = str(hash_key_of("tagged"))
    outcomes.append(
        producer.put_record(
            stream=stream, partition_key="tagged", data=b"ehk", explicit_hash_key=same_hash, tags=[Tag("e", "h")]
        )
    )
    producer.flush(10)
    assert all(o.wait(timeout=10).success for o in outcomes)


def independent_tags(data: bytes) -> list[tuple[bytes, tuple[Tag, ...]]]:
    """(data, tags) of each user record of an aggregated record, read with aws_kinesis_agg's protobuf classes."""
    assert data.startswith(MAGIC)
    protobuf = data[len(MAGIC) : -16]
    assert hashlib.md5(protobuf).digest() == data[-16:]
    message = messages_pb2.AggregatedRecord()
    message.ParseFromString(protobuf)
    return [
        (r.data, tuple(Tag(t.key, t.value if t.HasField("value") else None) for t in r.tags)) for r in message.records
    ]


def test_tags_read_back_through_gokpl_testing_and_aws_kinesis_agg(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    with SyncProducer(fake_config(record_max_buffered_time_ms=5_000)) as producer:
        put_tagged(producer, fake_stream)
    want = {b"%d" % i: tags for i, (_, tags) in enumerate(CASES)}
    want[b"ehk"] = (Tag("e", "h"),)
    tagged = [r for r in fake_kinesis.records(fake_stream) if r.partition_key == "tagged"]
    assert all(r.aggregated for r in tagged)
    assert {r.data: r.tags for r in tagged} == want

    independent: dict[bytes, tuple[Tag, ...]] = {}
    for k in fake_kinesis.records(fake_stream, deaggregate=False):
        if k.partition_key == "a":
            independent.update(independent_tags(k.data))
            assert [(r.data, r.tags) for r in decode_aggregated(k.data)] == independent_tags(k.data)
    assert independent == want


def test_tags_count_toward_aggregation_max_size_exactly(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    max_size = 1000
    config = fake_config(aggregation_max_size=max_size, record_max_buffered_time_ms=5_000)
    sent = {}
    with SyncProducer(config) as producer:
        assert producer.put_record(stream=fake_stream, partition_key="warm-up", data=b"w").wait(timeout=10).success
        outcomes = []
        for i in range(120):
            tags = [Tag(f"key-{i}", "v" * (i % 90))] if i % 3 else [Tag("k" * (i % 150))]
            data = b"%d" % i + b"x" * (i % 40)
            sent[data] = tuple(tags)
            outcomes.append(producer.put_record(stream=fake_stream, partition_key="same", data=data, tags=tags))
        producer.flush(10)
        assert all(o.wait(timeout=10).success for o in outcomes)
    kinesis_records = [k for k in fake_kinesis.records(fake_stream, deaggregate=False) if k.partition_key == "a"]
    sizes = [len(k.data) + len(k.partition_key) for k in kinesis_records]
    assert len(kinesis_records) > 1 and max(sizes) <= max_size
    # Full: each aggregate (but the last) left because the next record, tags included, did not fit.
    assert sum(size > max_size - 250 for size in sizes) >= len(sizes) - 1
    got = {r.data: r.tags for r in fake_kinesis.records(fake_stream) if r.partition_key == "same"}
    assert got == sent


def test_tags_of_a_record_sent_unaggregated_are_dropped(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    with SyncProducer(fake_config(aggregation_enabled=False)) as producer:
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"raw", tags=[Tag("t", "v")])
        assert result.wait(timeout=10).success
    [stored] = fake_kinesis.records(fake_stream)
    assert (stored.partition_key, stored.data, stored.aggregated, stored.tags) == ("k", b"raw", False, ())


def raw_records(endpoint_url: str, stream: str) -> list[dict[str, Any]]:
    """Every Kinesis record of the stream as GetRecords gives it, not de-aggregated."""
    client = boto3_client(endpoint_url)
    out = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        iterator = client.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        out += client.get_records(ShardIterator=iterator, Limit=10000)["Records"]
    return out


def test_tags_read_back_from_kinesis_mock(kinesis_mock: KinesisMock, mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=5_000)) as producer:
        put_tagged(producer, stream)
    got: dict[bytes, tuple[Tag, ...]] = {}
    for k in raw_records(kinesis_mock.endpoint_url, stream):
        data = bytes(k["Data"])
        if k["PartitionKey"] == "a":
            records = decode_aggregated(data)
            assert [(r.data, r.tags) for r in records] == independent_tags(data)
            got.update((r.data, r.tags) for r in records if r.partition_key == "tagged")
    assert got == {b"%d" % i: tags for i, (_, tags) in enumerate(CASES)} | {b"ehk": (Tag("e", "h"),)}
    # A consumer's de-aggregator that knows nothing of tags reads the same records.
    consumer = [r for r in read_back(kinesis_mock.endpoint_url, stream) if r.partition_key == "tagged"]
    assert sorted(r.data for r in consumer) == sorted(got)
    assert all(r.sub_sequence_number is not None for r in consumer)


@pytest.mark.parametrize(
    ("tags", "error", "message"),
    [
        ("key", TypeError, "tags must be a sequence"),
        (b"key", TypeError, "tags must be a sequence"),
        (7, TypeError, "tags must be a sequence"),
        ([Tag("ok"), 5], TypeError, "tags[1] must be a Tag or a (key, value) pair, got int"),
        ([("k", "v", "x")], TypeError, "tags[0] must be a Tag or a (key, value) pair, got a tuple of 3"),
        ([Tag(5)], TypeError, "tags[0].key must be a str, got int"),  # type: ignore[arg-type]
        ([("k", b"v")], TypeError, "tags[0].value must be a str or None, got bytes"),
        ({"k": 1}, TypeError, "tags[0].value must be a str or None, got int"),
        ([Tag("\ud800")], InvalidRecordError, "tags[0].key must be valid Unicode text"),
        ([Tag("k", "x\udfff")], InvalidRecordError, "tags[0].value must be valid Unicode text"),
        ([Tag("k", "v" * (1 << 20))], InvalidRecordError, "tags must take at most 1048576 bytes encoded"),
    ],
)
def test_bad_tags_raise_naming_the_tag_and_put_nothing(
    fake_config: ConfigFactory, fake_stream: str, tags: Any, error: type[Exception], message: str
) -> None:
    with SyncProducer(fake_config()) as producer:
        with pytest.raises(error) as raised:
            producer.put_record(stream=fake_stream, partition_key="k", data=b"x", tags=tags)
        assert message in str(raised.value)
        assert producer.stats().records_put == 0


def test_records_without_tags_take_the_quick_put(
    fake_config: ConfigFactory, fake_stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SyncProducer(fake_config()) as producer:
        producer.put_record(stream=fake_stream, partition_key="k", data=b"first").wait(timeout=10)

        def refuse(*args: Any) -> None:
            raise AssertionError("a record without tags left the quick put")

        with monkeypatch.context() as patch:
            patch.setattr(SyncProducer, "_put", refuse)
            for tags in ((), None, [], {}):
                producer.put_record(stream=fake_stream, partition_key="k", data=b"x", tags=tags).wait(timeout=10)
        # A tagged record takes the other route.
        calls = []
        real = SyncProducer._put

        def count(self: SyncProducer, *args: Any) -> Any:
            calls.append(args)
            return real(self, *args)

        monkeypatch.setattr(SyncProducer, "_put", count)
        assert producer.put_record(stream=fake_stream, partition_key="k", data=b"x", tags=[Tag("t")]).wait(10).success
        assert len(calls) == 1


# -- gokpl.aggregation on its own ---------------------------------------------------


def some_records() -> list[UserRecord]:
    return [
        UserRecord("a", b"first", tags=(Tag("k", "v"), Tag("only-key"))),
        UserRecord("b", b"", "12345"),
        UserRecord("a", b"third", "12345", (Tag("", ""),)),
        UserRecord("ключ", bytes(range(256)) * 3, tags=(Tag("🔑", "x" * 200),)),
    ]


def test_encode_and_decode_round_trip() -> None:
    records = some_records()
    data = encode_aggregated(records)
    assert is_aggregated(data)
    assert decode_aggregated(data) == [
        DecodedRecord(r.partition_key, r.explicit_hash_key, r.data, r.tags) for r in records
    ]


def test_random_records_round_trip_and_read_the_same_with_aws_kinesis_agg() -> None:
    rng = random.Random(11)
    alphabet = "ab\u00e9\u043a\U0001f511\x00"
    for _ in range(200):
        records = []
        for _ in range(rng.randint(2, 12)):
            tags = tuple(
                Tag(
                    "".join(rng.choices(alphabet, k=rng.randint(0, 6))),
                    None if rng.random() < 0.3 else "".join(rng.choices(alphabet, k=rng.randint(0, 200))),
                )
                for _ in range(rng.randint(0, 4))
            )
            hash_key = str(rng.randrange(2**128)) if rng.random() < 0.3 else None
            records.append(
                UserRecord(rng.choice(["p", "q", "ключ"]), rng.randbytes(rng.randint(0, 300)), hash_key, tags)
            )
        data = encode_aggregated(records)
        assert decode_aggregated(data) == [
            DecodedRecord(r.partition_key, r.explicit_hash_key, r.data, r.tags) for r in records
        ]
        assert independent_tags(data) == [(r.data, r.tags) for r in records]


def test_one_record_is_its_own_data_and_none_is_an_error() -> None:
    assert encode_aggregated([UserRecord("k", b"alone", tags=(Tag("t"),))]) == b"alone"
    with pytest.raises(ValueError, match="at least one record"):
        encode_aggregated([])


def test_encoding_is_what_aws_kinesis_agg_protobuf_writes_and_reads() -> None:
    records = some_records()
    data = encode_aggregated(records)
    message = messages_pb2.AggregatedRecord()
    message.ParseFromString(data[4:-16])
    assert list(message.partition_key_table) == ["a", "b", "ключ"]
    assert list(message.explicit_hash_key_table) == ["12345"]
    assert independent_tags(data) == [(r.data, r.tags) for r in records]
    # Written by the independent side, tags included, read by gokpl.aggregation.
    assert message.SerializeToString(deterministic=True) == data[4:-16]
    other = messages_pb2.AggregatedRecord()
    other.partition_key_table.append("p")
    for i in range(3):
        r = other.records.add(partition_key_index=0, data=b"%d" % i)
        r.tags.add(key=f"k{i}")
        if i:
            r.tags.add(key="v", value="x" * i)
    protobuf = other.SerializeToString()
    blob = MAGIC + protobuf + hashlib.md5(protobuf).digest()
    assert decode_aggregated(blob) == [
        DecodedRecord("p", None, b"0", (Tag("k0"),)),
        DecodedRecord("p", None, b"1", (Tag("k1"), Tag("v", "x"))),
        DecodedRecord("p", None, b"2", (Tag("k2"), Tag("v", "xx"))),
    ]


def test_encoding_is_the_engines_byte_for_byte() -> None:
    """The engine's test vector (core/testdata/aggregated-mixed.*), tags included, encoded again."""
    data = (REPO / "core" / "testdata" / "aggregated-mixed.bin").read_bytes()
    vector = json.loads((REPO / "core" / "testdata" / "aggregated-mixed.json").read_text())
    records = [
        UserRecord(
            r["partition_key"],
            base64.b64decode(r["data_base64"]),
            r["explicit_hash_key"] or None,
            tuple(Tag(t["key"], t.get("value")) for t in r.get("tags", ())),
        )
        for r in vector["records"]
    ]
    assert any(r.tags for r in records)
    assert encode_aggregated(records) == data
    assert decode_aggregated(data) == [
        DecodedRecord(r.partition_key, r.explicit_hash_key, r.data, r.tags) for r in records
    ]


def corrupt(protobuf: bytes) -> bytes:
    return MAGIC + protobuf + hashlib.md5(protobuf).digest()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"short", "too short"),
        (b"\x00" * 30, "magic bytes"),
        (MAGIC + b"\x0a\x01a" + b"\x00" * 16, "MD5 does not match"),
        (corrupt(b"\x0a\x01a\x1a\x08\x08\x00\x1a\x00\x22\x02\x0a\x05"), "field 1 runs past the end"),
        (corrupt(b"\x0a\x01a\x1a\x08\x08\x00\x1a\x00\x22\x02\x12\x00"), "a tag lacks its key"),
        (corrupt(b"\x0a\x01a\x1a\x09\x08\x00\x1a\x00\x22\x03\x0a\x01\xff"), "tag key is not UTF-8"),
        (corrupt(b"\x0a\x01a\x1a\x04\x08\x01\x1a\x00"), "partition key index 1 outside a table of 1"),
    ],
    ids=["short", "magic", "md5", "truncated-tag", "tag-without-key", "tag-not-utf8", "index"],
)
def test_decode_refuses_what_is_not_an_aggregated_record(payload: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_aggregated(payload)


def test_is_aggregated_looks_at_the_magic_bytes_and_length_only() -> None:
    assert is_aggregated(MAGIC + b"\x00" * 16)
    assert not is_aggregated(MAGIC + b"\x00" * 15)
    assert not is_aggregated(b"\x00" * 40)
    assert is_aggregated(bytearray(encode_aggregated(some_records())))


def test_values_are_immutable_and_compare_by_value() -> None:
    tag = Tag("k")
    assert tag == Tag("k", None) and tag != Tag("k", "")
    with pytest.raises(dataclasses.FrozenInstanceError):
        tag.key = "other"  # type: ignore[misc]
    assert UserRecord("p", b"d") == UserRecord("p", b"d", None, ())
