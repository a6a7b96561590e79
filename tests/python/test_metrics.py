"""SyncProducer.metrics(): the KPL's metrics as gokpl.Metric snapshots, cumulative or over a window."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest
from gokpl import Config, Metric, ProducerClosedError, SyncProducer
from support import inject_fault

ConfigFactory = Callable[..., Config]


def find(snapshot: list[Metric], name: str, **dims: str) -> Metric | None:
    for m in snapshot:
        if m.name == name and m.dimensions == dims:
            return m
    return None


def settled(producer: SyncProducer, name: str, count: int, window: float | None = None) -> list[Metric]:
    """A snapshot once the global series of name has count samples (some are folded in every 200 ms)."""
    deadline = time.monotonic() + 5
    while True:
        snapshot = producer.metrics(window)
        m = find(snapshot, name)
        if (m is not None and m.count >= count) or time.monotonic() > deadline:
            return snapshot
        time.sleep(0.05)


def test_empty_before_the_first_put(fake_config: ConfigFactory) -> None:
    with SyncProducer(fake_config()) as producer:
        assert producer.metrics() == []
        assert producer.metrics(window=10) == []


def test_counts_match_the_records_put(fake_config: ConfigFactory, fake_stream: str) -> None:
    n = 60
    with SyncProducer(fake_config()) as producer:
        outcomes = [producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"x" * i) for i in range(n)]
        producer.flush(timeout=10)
        results = [o.wait(timeout=5) for o in outcomes]
        assert all(r.success for r in results)
        snapshot = settled(producer, "UserRecordsReceived", n)

    assert all(isinstance(m, Metric) for m in snapshot)
    put = find(snapshot, "UserRecordsPut")
    assert put is not None
    assert (put.count, put.sum, put.min, put.max, put.mean) == (n, n, 1, 1, 1)
    assert (put.unit, put.level) == ("Count", "summary")
    stream_put = find(snapshot, "UserRecordsPut", StreamName=fake_stream)
    assert stream_put is not None and stream_put.count == n

    # One series per shard the records landed in, with as many records as their results say.
    by_shard = Counter(r.shard_id for r in results)
    shard_series = {
        m.dimensions["ShardId"]: m.count for m in snapshot if m.name == "UserRecordsPut" and "ShardId" in m.dimensions
    }
    assert shard_series == dict(by_shard)
    for shard in by_shard:
        assert find(snapshot, "UserRecordsPut", StreamName=fake_stream, ShardId=shard) is not None

    data = find(snapshot, "UserRecordsDataPut")
    assert data is not None and data.unit == "Bytes" and data.level == "detailed"
    assert data.sum == sum(range(n)) and data.min == 0 and data.max == n - 1

    received = find(snapshot, "UserRecordsReceived", StreamName=fake_stream)
    assert received is not None and received.count == n
    buffering = find(snapshot, "BufferingTime")
    assert buffering is not None and buffering.unit == "Milliseconds" and buffering.count == n  # one attempt each
    assert 0 <= buffering.min <= buffering.mean <= buffering.max
    retries = find(snapshot, "RetriesPerRecord")
    assert retries is not None and retries.sum == 0
    requests = find(snapshot, "UserRecordsPerPutRecordsRequest", StreamName=fake_stream)
    assert requests is not None and requests.sum == n


def test_windows(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        for i in range(10):
            producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"x")
        producer.flush(timeout=10)
        minute = settled(producer, "UserRecordsReceived", 10, window=60)
        cumulative = producer.metrics()
        recent = producer.metrics(window=0.5)  # the current second
        assert isinstance(recent, list)

        put = find(minute, "UserRecordsPut")
        assert put is not None and put.count == 10
        assert find(cumulative, "UserRecordsPut") == put

        for bad in (0, -1, 60.001, 61, float("nan"), float("inf")):
            with pytest.raises(ValueError, match="window"):
                producer.metrics(window=bad)
        for wrong in ("5", True):
            with pytest.raises(TypeError, match="window"):
                producer.metrics(window=wrong)  # type: ignore[arg-type]


def test_an_old_window_leaves_out_earlier_samples(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=5)
        time.sleep(2.2)
        assert find(producer.metrics(window=1), "UserRecordsPut") is None
        assert find(producer.metrics(window=5), "UserRecordsPut") is not None
        assert find(producer.metrics(), "UserRecordsPut") is not None


def test_error_code_dimension(fake_kinesis: object, fake_config: ConfigFactory, fake_stream: str) -> None:
    endpoint = fake_config().endpoint_url
    assert endpoint is not None
    with SyncProducer(fake_config(aggregation_enabled=False)) as producer:
        producer.put_record(stream=fake_stream, partition_key="warm-up", data=b"x").wait(timeout=5)
        inject_fault(endpoint, Operation="PutRecords", RecordFailures=[{"Index": 0, "ErrorCode": "InternalFailure"}])
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
        assert result.success and len(result.attempts) == 2
        snapshot = producer.metrics()

    by_code = find(snapshot, "ErrorsByCode", ErrorCode="InternalFailure")
    assert by_code is not None and by_code.count == 1
    assert find(snapshot, "ErrorsByCode", ErrorCode="InternalFailure", StreamName=fake_stream) is not None
    all_errors = find(snapshot, "AllErrors")
    assert all_errors is not None and all_errors.sum == 1
    retries = find(snapshot, "RetriesPerRecord", StreamName=fake_stream)
    assert retries is not None and retries.max == 1
    buffering = find(snapshot, "BufferingTime")
    assert buffering is not None and buffering.count == 3  # one per attempt: 1 + 2


def test_closed_producer_raises(fake_config: ConfigFactory, fake_stream: str) -> None:
    producer = SyncProducer(fake_config()).__enter__()
    producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=5)
    assert producer.metrics()
    producer.close()
    with pytest.raises(ProducerClosedError):
        producer.metrics()


def test_metric_is_frozen_hashable_and_readable() -> None:
    m = Metric(
        "UserRecordsPut", {"StreamName": "s", "ShardId": "shardId-000000000001"}, "Count", "summary", 4, 3, 0, 1, 0.75
    )
    same = Metric(
        "UserRecordsPut", {"ShardId": "shardId-000000000001", "StreamName": "s"}, "Count", "summary", 4, 3, 0, 1, 0.75
    )
    assert m == same and hash(m) == hash(same)
    with pytest.raises(AttributeError):
        m.count = 5  # type: ignore[misc]
    assert repr(m) == (
        "<Metric UserRecordsPut{StreamName=s, ShardId=shardId-000000000001} Count count=4 sum=3 min=0 max=1 mean=0.75>"
    )
    assert repr(Metric("RequestTime", {}, "Milliseconds", "detailed", 1, 1.5, 1.5, 1.5, 1.5)) == (
        "<Metric RequestTime Milliseconds count=1 sum=1.5 min=1.5 max=1.5 mean=1.5>"
    )


def test_dimensions_follow_the_kpl_path_order(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=5)
        snapshot = producer.metrics()
    shard_level = [m for m in snapshot if "ShardId" in m.dimensions]
    assert shard_level
    assert all(list(m.dimensions) == ["StreamName", "ShardId"] for m in shard_level)
