"""boto3 works unchanged against gokpl's fake endpoint (core/kinesistest)."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from conftest import FakeKinesis, boto3_client
from gokpl import Config, SyncProducer


def shard_for(client: object, stream: str, hash_key: int) -> str:
    for shard in client.list_shards(StreamName=stream)["Shards"]:  # type: ignore[attr-defined]
        r = shard["HashKeyRange"]
        if int(r["StartingHashKey"]) <= hash_key <= int(r["EndingHashKey"]):
            return str(shard["ShardId"])
    raise AssertionError("no shard covers the hash key")


def test_boto3_stream_lifecycle_and_paginated_list_shards(fake_kinesis: FakeKinesis) -> None:
    client = boto3_client(fake_kinesis.endpoint_url)
    name = f"b-{uuid.uuid4().hex[:8]}"
    client.create_stream(StreamName=name, ShardCount=3)
    assert client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert name in client.list_streams()["StreamNames"]
    pages = []
    response = client.list_shards(StreamName=name, MaxResults=1)
    pages.append(response["Shards"])
    while response.get("NextToken"):
        response = client.list_shards(NextToken=response["NextToken"], MaxResults=1)
        pages.append(response["Shards"])
    assert [len(p) for p in pages] == [1, 1, 1]
    client.delete_stream(StreamName=name)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_stream_summary(StreamName=name)


def test_boto3_put_routes_by_md5_and_reads_back(fake_kinesis: FakeKinesis) -> None:
    client = boto3_client(fake_kinesis.endpoint_url)
    entries = [{"PartitionKey": f"pk-{i}", "Data": f"d{i}".encode()} for i in range(20)]
    response = client.put_records(StreamName="fake-4", Records=entries)
    assert response["FailedRecordCount"] == 0
    for entry, result in zip(entries, response["Records"]):
        md5 = int.from_bytes(hashlib.md5(entry["PartitionKey"].encode()).digest(), "big")
        assert result["ShardId"] == shard_for(client, "fake-4", md5)
    single = client.put_record(StreamName="fake-4", PartitionKey="x", Data=b"one", ExplicitHashKey=str(2**128 - 1))
    assert single["ShardId"] == shard_for(client, "fake-4", 2**128 - 1)
    iterator = client.get_shard_iterator(
        StreamName="fake-4", ShardId=single["ShardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
        StartingSequenceNumber=single["SequenceNumber"],
    )["ShardIterator"]  # fmt: skip
    records = client.get_records(ShardIterator=iterator)["Records"]
    assert records[0]["Data"] == b"one" and records[0]["SequenceNumber"] == single["SequenceNumber"]


def test_sync_producer_against_the_fake(fake_kinesis: FakeKinesis) -> None:
    config = Config(region="us-east-1", endpoint_url=fake_kinesis.endpoint_url, record_max_buffered_time_ms=5)
    with SyncProducer(config) as producer:
        results = [producer.put_record(stream="fake-1", partition_key=str(i), data=b"x") for i in range(100)]
        assert all(o.wait(timeout=10).success for o in results)
