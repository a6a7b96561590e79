"""SyncProducer against moto's Kinesis server, every record read back independently.

moto (moto[server], started by conftest's ``moto_kinesis``) is a backend
gokpl has no hand in. What the producer wrote is read back with boto3
(GetShardIterator, GetRecords) and de-aggregated with aws_kinesis_agg
(``support.read_back``), and each record must be there exactly once, in the
shard its result named, under the sequence number its result named. A record
sent alone is a Kinesis record of its own; the user records of an aggregate
all carry that Kinesis record's sequence number (results have no
sub-sequence number; the read-back tells them apart by theirs).

The limits are the service's: a record's data plus its partition key is at
most 1 MiB (1,048,576 bytes), the key counted in UTF-8 bytes; a partition
key is 1 to 256 characters counted in UTF-16 units. A record over the size
limit must fail alone, never take the other records of its request with it.

``moto_config`` sends one request at a time: moto numbers a shard's records
without a lock, and concurrent requests could overwrite each other's records
(see conftest). Where moto falls short of the service, the check runs against
gokpl's fake endpoint instead (the end of this file):

- moto finds no shard for an explicit hash key equal to a shard's
  EndingHashKey (its lookup is ``start <= key < end``, though its ranges'
  ends are inclusive) and answers HTTP 500, so the explicit hash keys sent
  to moto stay below each shard's end;
- moto has no per-stream maximum record size: it ignores CreateStream's
  MaxRecordSizeInKiB, DescribeStreamSummary reports none, and PutRecords
  always caps a record at 1 MiB;
- moto counts a partition key's characters, not its UTF-8 bytes, toward
  the 1 MiB, so it would store a record the service refuses: only gokpl's
  own check can refuse it here.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Optional

import pytest
from conftest import boto3_client
from emulator import MotoKinesis
from gokpl import Config, InvalidRecordError, RecordResult, SyncProducer
from gokpl.testing import FakeKinesis
from support import StoredRecord, read_back, shard_for, shard_ranges

ConfigFactory = Callable[..., Config]
Sent = tuple[str, bytes, Optional[str]]  # partition key, data, explicit hash key

MIB = 1_048_576  # the most a record's data plus partition key may be
WAIT = 30.0

AGGREGATION = pytest.mark.parametrize("aggregation", [True, False], ids=["aggregated", "not-aggregated"])


def utf8(s: str) -> int:
    return len(s.encode("utf-8"))


def utf16(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def payload(tag: str, size: int, rng: random.Random) -> bytes:
    """size bytes starting with tag (as much of it as fits), the rest random."""
    head = tag.encode()[:size]
    return head + rng.randbytes(size - len(head))


def hash_of(key: str, explicit_hash_key: str | None) -> int:
    if explicit_hash_key is not None:
        return int(explicit_hash_key)
    return int.from_bytes(hashlib.md5(key.encode("utf-8")).digest(), "big")


def brief(pairs: Any) -> list[tuple[str, int, bytes]]:
    """(key prefix, data length, data prefix) of records, for assertion messages."""
    return sorted((k[:24], len(d), d[:12]) for k, d in pairs)


def long_keys(i: int) -> list[str]:
    """Partition keys of exactly 256 UTF-16 units, of 256 to 760 UTF-8 bytes."""
    keys = [
        f"{i:05d}".ljust(256, "k"),  # ASCII: 256 bytes
        f"{i:05d}" + "é" * 251,  # 2-byte characters: 507 bytes
        f"{i:04d}" + "鍵" * 252,  # 3-byte characters: 760 bytes
        f"{i:04d}" + "🚀" * 126,  # outside the BMP, 2 UTF-16 units each: 130 characters, 508 bytes
    ]
    assert all(utf16(k) == 256 for k in keys)
    return keys


def put_all(producer: SyncProducer, stream: str, sent: Sequence[Sent], batch: slice) -> list[RecordResult]:
    """Put sent[batch] with one put_records call and the rest with put_record; wait for every result."""
    outcomes: list[Any] = [None] * len(sent)
    indices = range(len(sent))[batch]
    if indices:
        for i, outcome in zip(indices, producer.put_records(stream, [sent[i] for i in indices])):
            outcomes[i] = outcome
    for i, (key, data, hash_key) in enumerate(sent):
        if outcomes[i] is None:
            outcomes[i] = producer.put_record(stream=stream, partition_key=key, data=data, explicit_hash_key=hash_key)
    return [o.wait(timeout=WAIT) for o in outcomes]


def check_read_back(
    endpoint_url: str, stream: str, sent: Sequence[Sent], results: Sequence[RecordResult]
) -> list[StoredRecord]:
    """Every sent record succeeded and is in the stream exactly once, where its result says; nothing else is."""
    assert len({(k, d) for k, d, _ in sent}) == len(sent), "the test's records must be told apart"
    failed = [(k[:24], len(d), r.error_code, r.error_message) for (k, d, _), r in zip(sent, results) if not r.success]
    assert not failed, f"{len(failed)} of {len(sent)} records failed: {failed[:5]}"

    stored = read_back(endpoint_url, stream)
    have = Counter((r.partition_key, r.data) for r in stored)
    want = Counter((k, d) for k, d, _ in sent)
    assert have == want, (
        f"missing {brief((want - have).elements())}, extra or duplicated {brief((have - want).elements())}"
    )

    ranges = shard_ranges(endpoint_url, stream)
    by_record = {(r.partition_key, r.data): r for r in stored}
    for (key, data, hash_key), result in zip(sent, results):
        where = by_record[(key, data)]
        assert (where.shard_id, where.sequence_number) == (result.shard_id, result.sequence_number), (
            f"record {key[:24]!r} ({len(data)} bytes) is in {where.shard_id} under {where.sequence_number}, "
            f"its result names {result.shard_id} under {result.sequence_number}"
        )
        assert result.shard_id == shard_for(ranges, hash_of(key, hash_key)), key[:24]
        if where.sub_sequence_number is not None and hash_key is not None:
            assert where.explicit_hash_key == hash_key, key[:24]

    # A sequence number names one Kinesis record: user records share one only
    # inside an aggregate, numbered 0, 1, ... by their sub-sequence numbers.
    kinesis_records: dict[tuple[str, str], list[StoredRecord]] = {}
    for r in stored:
        kinesis_records.setdefault((r.shard_id, r.sequence_number), []).append(r)
    for (shard_id, sequence_number), users in kinesis_records.items():
        if len(users) > 1 or users[0].sub_sequence_number is not None:
            subs = sorted(u.sub_sequence_number for u in users if u.sub_sequence_number is not None)
            assert subs == list(range(len(users))), f"{shard_id} {sequence_number}: sub-sequence numbers {subs}"
    return stored


def mixed_records(seed: int, ranges: list[tuple[str, int, int]]) -> list[Sent]:
    """Small to largest records, unicode and 256-character keys, explicit hash keys."""
    rng = random.Random(seed)
    sizes = [0, 1, 10, 100, 1000, 10_000, 50_000, 60_000, 200_000]
    sent: list[Sent] = []
    for i in range(240):
        key = rng.choice([f"user-{i}", f"ключ-{i}", f"键-{i}", f"🚀-{i}", f"{i}", rng.choice(long_keys(i))])
        size = rng.choice(sizes) if i % 8 else rng.choice([0, 1, 100])
        hash_key = str(rng.randrange(2**128)) if i % 6 == 0 else None
        sent.append((key, payload(f"{i}:", size, rng), hash_key))

    # One partition key, hash keys across the whole space: the explicit one decides.
    # Shard ends are left out (see the module docstring): start, end - 1, and between.
    hash_keys = [0, 1, 2**127 - 2, 2**127, 2**128 - 2]
    for _, start, end in ranges:
        hash_keys += [start, start + 1, end - 1, (start + end) // 2]
    for j, h in enumerate(hash_keys):
        sent.append(("same-key", payload(f"h{j}:", rng.choice([5, 5000]), rng), str(h)))

    # data + key = 1,048,576 bytes exactly, the key counted in UTF-8 bytes, and one byte under.
    for j, key in enumerate(["k", f"ключ-граница-{seed}", *long_keys(900 + seed)]):
        sent.append((key, payload(f"max{j}:", MIB - utf8(key), rng), None))
    sent.append((f"under-{seed}", payload("under:", MIB - 1 - utf8(f"under-{seed}"), rng), None))
    sent.append((f"ehk-{seed}", payload("max-ehk:", MIB - utf8(f"ehk-{seed}"), rng), str(ranges[-1][1] + 7)))
    rng.shuffle(sent)
    return sent


@AGGREGATION
def test_mixed_records_read_back_exactly_once_where_their_results_say(
    moto_kinesis: MotoKinesis, moto_config: ConfigFactory, moto_stream: str, aggregation: bool
) -> None:
    ranges = shard_ranges(moto_kinesis.endpoint_url, moto_stream)
    assert len(ranges) == 2
    sent = mixed_records(1 if aggregation else 2, ranges)
    largest = [(k, d) for k, d, _ in sent if utf8(k) + len(d) == MIB]
    assert len(largest) == 7

    # Buffering long enough that a loaded machine's slow puts still share aggregated records.
    config = moto_config(aggregation_enabled=aggregation, record_max_buffered_time_ms=2000)
    with SyncProducer(config) as producer:
        results = put_all(producer, moto_stream, sent, slice(0, 80))
    stored = check_read_back(moto_kinesis.endpoint_url, moto_stream, sent, results)

    alone = {(r.partition_key, r.data) for r in stored if r.sub_sequence_number is None}
    assert set(largest) <= alone, "a 1 MiB record is sent as it is"
    aggregated = len(stored) - len(alone)
    if aggregation:
        assert aggregated > len(stored) / 2, "small records are aggregated"
    else:
        assert aggregated == 0


@AGGREGATION
def test_records_put_by_stream_arn_read_back_exactly_once(
    moto_kinesis: MotoKinesis, moto_config: ConfigFactory, moto_stream: str, aggregation: bool
) -> None:
    client = boto3_client(moto_kinesis.endpoint_url)
    arn = client.describe_stream_summary(StreamName=moto_stream)["StreamDescriptionSummary"]["StreamARN"]
    assert arn == f"arn:aws:kinesis:us-east-1:123456789012:stream/{moto_stream}"

    rng = random.Random(3)
    by_arn: list[Sent] = [(f"arn-{i}", payload(f"a{i}:", rng.choice([1, 300, 40_000]), rng), None) for i in range(90)]
    by_arn.append(("arn-largest", payload("a-max:", MIB - utf8("arn-largest"), rng), None))
    by_arn.append(("arn-hash", b"explicit", str(2**127 + 5)))
    by_name: list[Sent] = [(f"name-{i}", payload(f"n{i}:", 200, rng), None) for i in range(30)]

    with SyncProducer(moto_config(aggregation_enabled=aggregation)) as producer:
        arn_results = put_all(producer, arn, by_arn, slice(0, 40))
        name_results = put_all(producer, moto_stream, by_name, slice(0, 0))
    check_read_back(moto_kinesis.endpoint_url, moto_stream, by_arn + by_name, arn_results + name_results)


@AGGREGATION
def test_an_oversized_record_fails_alone(
    moto_kinesis: MotoKinesis, moto_config: ConfigFactory, moto_stream: str, aggregation: bool
) -> None:
    rng = random.Random(4)
    small: list[Sent] = [(f"small-{i}", payload(f"s{i}:", rng.choice([20, 100, 700]), rng), None) for i in range(400)]
    ten = "0123456789"
    oversized: list[tuple[str, bytes]] = [
        (ten, payload("over-a:", MIB, rng)),  # data at the limit, plus a 10-byte key
        (ten, payload("over-b:", MIB - len(ten) + 1, rng)),  # one byte over, counting the key
        ("é" * 256, payload("over-c:", MIB - 256, rng)),  # 256 characters but 512 UTF-8 bytes
        ("k", payload("over-d:", MIB + 1, rng)),  # data alone over the limit
    ]
    assert all(utf8(k) + len(d) > MIB for k, d in oversized)

    # Buffering long enough that every oversized record is collected into a
    # request with the small records put around it.
    config = moto_config(aggregation_enabled=aggregation, record_max_buffered_time_ms=300)
    with SyncProducer(config) as producer:
        small_outcomes = []
        big_outcomes: list[tuple[tuple[str, bytes], Any]] = []  # a SyncOutcome, or the InvalidRecordError
        for i, (key, data, _) in enumerate(small):
            small_outcomes.append(producer.put_record(stream=moto_stream, partition_key=key, data=data))
            if i % 100 == 50:  # in the middle of the small records, so they would share a request
                big_key, big_data = oversized[i // 100]
                try:
                    outcome: Any = producer.put_record(stream=moto_stream, partition_key=big_key, data=big_data)
                except InvalidRecordError as e:
                    outcome = e
                big_outcomes.append(((big_key, big_data), outcome))
        small_results = [o.wait(timeout=WAIT) for o in small_outcomes]
        big_results = [o if isinstance(o, InvalidRecordError) else o.wait(timeout=WAIT) for _, o in big_outcomes]

    problems = []
    for ((key, data), _), r in zip(big_outcomes, big_results):
        size = utf8(key) + len(data)
        if isinstance(r, RecordResult) and r.success:
            problems.append(f"a {size}-byte record succeeded ({r.shard_id}, {r.sequence_number})")
        elif isinstance(r, RecordResult) and not r.error_code:
            problems.append(f"a {size}-byte record failed without an error code: {r!r}")
    innocents = Counter(f"{r.error_code}: {r.error_message}"[:160] for r in small_results if not r.success)
    if innocents:
        problems.append(f"{sum(innocents.values())} of {len(small)} small records failed: {dict(innocents)}")
    assert not problems, "; ".join(problems)
    check_read_back(moto_kinesis.endpoint_url, moto_stream, small, small_results)


# Where moto falls short of the service: the same checks against gokpl's fake.


@AGGREGATION
def test_explicit_hash_keys_at_shard_ends_read_back_from_the_fake(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str, aggregation: bool
) -> None:
    """moto answers HTTP 500 for a hash key equal to a shard's EndingHashKey."""
    ranges = shard_ranges(fake_kinesis.endpoint_url, fake_stream)
    hash_keys = [0, 2**128 - 1]
    for _, start, end in ranges:
        hash_keys += [start, end]
    rng = random.Random(5)
    sent: list[Sent] = [("same-key", payload(f"e{j}:", 64, rng), str(h)) for j, h in enumerate(hash_keys)]
    sent += [(f"🚀-{j}", payload(f"u{j}:", 64, rng), str(h)) for j, h in enumerate(hash_keys)]
    with SyncProducer(fake_config(aggregation_enabled=aggregation)) as producer:
        results = put_all(producer, fake_stream, sent, slice(0, 4))
    check_read_back(fake_kinesis.endpoint_url, fake_stream, sent, results)


def test_a_stream_with_a_larger_maximum_record_size_takes_larger_records_on_the_fake(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory
) -> None:
    """A stream created with MaxRecordSizeInKiB=2048 takes records up to
    2 MiB, data plus key; one over that fails alone. moto has no per-stream
    maximum record size."""
    limit = 2048 * 1024
    name = f"big-{uuid.uuid4().hex[:10]}"
    boto3_client(fake_kinesis.endpoint_url).create_stream(StreamName=name, ShardCount=1, MaxRecordSizeInKiB=2048)
    try:
        rng = random.Random(6)
        sent: list[Sent] = [(f"small-{i}", payload(f"s{i}:", 100, rng), None) for i in range(50)]
        sent.append(("at-limit", payload("big-a:", limit - utf8("at-limit"), rng), None))
        sent.append(("over-1mib", payload("big-b:", MIB + 1, rng), None))
        too_big = ("over-limit", payload("big-c:", limit - utf8("over-limit") + 1, rng))
        with SyncProducer(fake_config()) as producer:
            try:
                refused: Any = producer.put_record(stream=name, partition_key=too_big[0], data=too_big[1])
            except InvalidRecordError as e:
                refused = e
            results = put_all(producer, name, sent, slice(0, 20))
            if not isinstance(refused, InvalidRecordError):
                refused = refused.wait(timeout=WAIT)
        if isinstance(refused, RecordResult):
            assert not refused.success and refused.error_code, refused
        check_read_back(fake_kinesis.endpoint_url, name, sent, results)
    finally:
        fake_kinesis.delete_stream(name)
