"""Records land on the shard their hash key picks, and read back (de-aggregated) as sent."""

from __future__ import annotations

import datetime
import hashlib
import os
import random
from collections import Counter
from collections.abc import Callable

from aws_kinesis_agg.aggregator import RecordAggregator
from emulator import KinesisMock
from gokpl import Config, SyncProducer
from gokpl.testing import FakeKinesis
from support import boto3_client, deaggregate, read_back, shard_for, shard_ranges

ConfigFactory = Callable[..., Config]


def test_explicit_hash_keys_route_to_the_shard_whose_range_holds_them(
    kinesis_mock: KinesisMock, mock_config: ConfigFactory, stream: str
) -> None:
    # kinesis-mock's ranges differ slightly from an even split: take them from ListShards.
    ranges = shard_ranges(kinesis_mock.endpoint_url, stream)
    assert len(ranges) == 2
    keys = [0, 2**128 - 1, 2**127 - 1, 2**127, 2**127 + 1]
    keys += [start for _, start, _ in ranges] + [end for _, _, end in ranges]
    keys += [random.Random(7).randrange(2**128) for _ in range(20)]
    with SyncProducer(mock_config()) as producer:
        outcomes = [
            producer.put_record(stream=stream, partition_key="same-key", data=b"%d" % k, explicit_hash_key=str(k))
            for k in keys
        ]
        results = [o.wait(timeout=10) for o in outcomes]
    for key, result in zip(keys, results):
        assert result.success, result
        assert result.shard_id == shard_for(ranges, key), key


def test_partition_keys_route_by_md5(kinesis_mock: KinesisMock, mock_config: ConfigFactory, stream: str) -> None:
    ranges = shard_ranges(kinesis_mock.endpoint_url, stream)
    keys = [f"user-{i}" for i in range(40)]
    with SyncProducer(mock_config()) as producer:
        results = [producer.put_record(stream=stream, partition_key=k, data=b"x").wait(timeout=10) for k in keys]
    for key, result in zip(keys, results):
        md5 = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
        assert result.shard_id == shard_for(ranges, md5), key


def test_records_read_back_with_the_independent_deaggregator_equal_what_was_sent(
    kinesis_mock: KinesisMock, mock_config: ConfigFactory, stream: str
) -> None:
    rng = random.Random(42)
    sent: list[tuple[str, bytes, str | None]] = []
    for i in range(300):
        key = rng.choice([f"user-{i}", f"ключ-{i % 7}", "k" * 256, f"{i}"])
        data = os.urandom(rng.choice([0, 1, 200, 1000, 25_000]))
        hash_key = str(rng.randrange(2**128)) if i % 5 == 0 else None
        sent.append((key, data, hash_key))
    # Buffering long enough that records wait for the shard map and each other on a loaded machine:
    # with 50 ms, a slow ListShards let them leave alone, unaggregated.
    with SyncProducer(mock_config(record_max_buffered_time_ms=2000)) as producer:
        outcomes = [
            producer.put_record(stream=stream, partition_key=k, data=d, explicit_hash_key=h) for k, d, h in sent
        ]
        producer.put_records(stream, [(k, d) for k, d, _ in sent[:50]])
        results = [o.wait(timeout=20) for o in outcomes]
    assert all(r.success for r in results)

    stored = read_back(kinesis_mock.endpoint_url, stream)
    expected = Counter([(k, d) for k, d, _ in sent] + [(k, d) for k, d, _ in sent[:50]])
    assert Counter((r.partition_key, r.data) for r in stored) == expected

    # Each result names the Kinesis record that holds its user record.
    by_sequence: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for r in stored:
        by_sequence.setdefault((r.shard_id, r.sequence_number), []).append((r.partition_key, r.data))
    for (key, data, _), result in zip(sent, results):
        assert result.shard_id and result.sequence_number
        assert (key, data) in by_sequence[(result.shard_id, result.sequence_number)]

    # Where the engine aggregated, the explicit hash keys survived too (the
    # de-aggregator reports one for every record of an aggregate that has
    # any, so only records always sent with one can be checked).
    hash_keys: dict[tuple[str, bytes], set[str | None]] = {}
    for k, d, h in sent:
        hash_keys.setdefault((k, d), set()).add(h)
    for k, d, _ in sent[:50]:
        hash_keys[(k, d)].add(None)
    aggregated = [r for r in stored if r.sub_sequence_number is not None]
    assert len(aggregated) > len(stored) / 2, "the engine aggregates by default"
    for r in aggregated:
        options = hash_keys[(r.partition_key, r.data)]
        if None not in options:
            assert r.explicit_hash_key in options


def test_the_read_back_helper_deaggregates_kpl_records(kinesis_mock: KinesisMock, stream: str) -> None:
    """Written directly in the KPL format by aws_kinesis_agg, read back as user records."""
    aggregator = RecordAggregator()
    users = [(f"pk-{i}", os.urandom(50)) for i in range(10)]
    for key, data in users:
        aggregator.add_user_record(key, data)
    key, hash_key, blob = aggregator.clear_and_get().get_contents()
    client = boto3_client(kinesis_mock.endpoint_url)
    extra = {"ExplicitHashKey": hash_key} if hash_key else {}
    client.put_record(StreamName=stream, PartitionKey=key, Data=blob, **extra)
    client.put_record(StreamName=stream, PartitionKey="plain", Data=b"not aggregated")
    stored = read_back(kinesis_mock.endpoint_url, stream)
    assert sorted((r.partition_key, r.data) for r in stored) == sorted([*users, ("plain", b"not aggregated")])
    assert {r.sub_sequence_number for r in stored if r.partition_key != "plain"} == set(range(10))
    plain = deaggregate(
        "s",
        [
            {
                "SequenceNumber": "1",
                "PartitionKey": "p",
                "Data": b"\xf3\x89",
                "ApproximateArrivalTimestamp": datetime.datetime.now(),
            }
        ],
    )
    assert [(r.partition_key, r.data, r.sub_sequence_number) for r in plain] == [("p", b"\xf3\x89", None)]


def test_puts_that_alternate_between_streams_land_each_in_its_own(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    # The put path remembers the stream of the put before it; a put to
    # another stream, or back to the first, must not be sent to that one.
    other = f"{fake_stream}-b"
    fake_kinesis.create_stream(other, 1)
    try:
        streams = [other if i % 3 == 0 else fake_stream for i in range(90)]
        with SyncProducer(fake_config()) as producer:
            outcomes = [
                producer.put_record(stream=s, partition_key=f"key-{i}", data=str(i).encode())
                for i, s in enumerate(streams)
            ]
            assert all(o.wait(timeout=30).success for o in outcomes)
        for name in (fake_stream, other):
            expected = sorted(str(i).encode() for i, s in enumerate(streams) if s == name)
            assert sorted(r.data for r in fake_kinesis.records(name)) == expected, name
    finally:
        fake_kinesis.delete_stream(other)
