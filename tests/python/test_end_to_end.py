"""One record, and many, through the whole stack into kinesis-mock."""

from __future__ import annotations

import pytest
from conftest import boto3_client
from emulator import KinesisMock
from gokpl import Config, RecordResult, SyncOutcome, SyncProducer
from support import read_back as read_user_records


def config_for(mock: KinesisMock, tls: bool = False, **overrides: object) -> Config:
    if tls:
        return Config(region="us-east-1", endpoint_url=mock.tls_endpoint_url, verify_ssl=False, **overrides)  # type: ignore[arg-type]
    return Config(region="us-east-1", endpoint_url=mock.endpoint_url, **overrides)  # type: ignore[arg-type]


def read_back(mock: KinesisMock, stream: str) -> dict[str, list[tuple[str, str, bytes]]]:
    """Every record in the stream, by shard: (sequence number, partition key, data)."""
    client = boto3_client(mock.endpoint_url)
    out: dict[str, list[tuple[str, str, bytes]]] = {}
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        shard_id = shard["ShardId"]
        iterator = client.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        records = client.get_records(ShardIterator=iterator, Limit=10000)["Records"]
        out[shard_id] = [(r["SequenceNumber"], r["PartitionKey"], r["Data"]) for r in records]
    return out


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls-unverified"])
def test_one_record_gets_the_emulators_shard_and_sequence_number(
    kinesis_mock: KinesisMock, stream: str, tls: bool
) -> None:
    with SyncProducer(config_for(kinesis_mock, tls, record_max_buffered_time_ms=10)) as producer:
        outcome = producer.put_record(stream=stream, partition_key="user-123", data=b"hello")
        assert isinstance(outcome, SyncOutcome)
        result = outcome.wait(timeout=10)
    assert isinstance(result, RecordResult)
    assert result.success, result
    assert result.shard_id is not None and result.shard_id.startswith("shardId-")
    assert len(result.attempts) == 1 and result.attempts[0].success
    stored = read_back(kinesis_mock, stream)[result.shard_id]
    assert [(s, k, d) for s, k, d in stored if s == result.sequence_number] == [
        (result.sequence_number, "user-123", b"hello")
    ]


def test_many_records_all_land_where_reported(kinesis_mock: KinesisMock, stream: str) -> None:
    # Put right after the start and flushed: the flush waits for the first
    # shard map, so the burst is aggregated, not sent record by record.
    with SyncProducer(config_for(kinesis_mock)) as producer:
        outcomes = [
            producer.put_record(stream=stream, partition_key=f"key-{i}", data=f"record-{i}".encode())
            for i in range(500)
        ]
        producer.flush(timeout=20)
        results = [o.wait(timeout=1) for o in outcomes]
    assert all(r.success for r in results)
    stored = read_user_records(kinesis_mock.endpoint_url, stream)
    assert len(stored) == 500
    assert any(s.sub_sequence_number is not None for s in stored), "nothing was aggregated"
    by_sequence: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for s in stored:
        by_sequence.setdefault((s.shard_id, s.sequence_number), []).append((s.partition_key, s.data))
    for i, r in enumerate(results):
        assert (f"key-{i}", f"record-{i}".encode()) in by_sequence[(r.shard_id, r.sequence_number)]


def test_unknown_stream_fails_with_the_service_code(kinesis_mock: KinesisMock) -> None:
    with SyncProducer(config_for(kinesis_mock, record_max_buffered_time_ms=10)) as producer:
        result = producer.put_record(stream="no-such-stream", partition_key="k", data=b"x").wait(timeout=10)
    assert not result.success
    assert result.error_code == "ResourceNotFoundException"
    assert result.error_message and "no-such-stream" in result.error_message
