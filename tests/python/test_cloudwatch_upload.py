"""Metrics reach CloudWatch: moto's server on loopback stands in for it, and
what boto3 reads back matches what the producer counted."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import FakeKinesis, missing
from emulator import EmulatorNotInstalled, MotoKinesis
from gokpl import Config, SyncProducer


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """moto's server (CloudWatch among the services it serves) for this module alone, so that the
    session's moto_kinesis starts fresh for the tests that read Kinesis back from it."""
    try:
        server = MotoKinesis()
    except EmulatorNotInstalled as exc:
        missing(str(exc), hint="run 'make venv'")
    with server:
        cloudwatch(server.endpoint_url).list_metrics()  # moto loads its CloudWatch backend on first use
        yield server.endpoint_url


def cloudwatch(endpoint: str) -> Any:
    import boto3

    return boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")


def statistic(client: Any, name: str, dimensions: list[dict[str, str]]) -> tuple[float, float]:
    now = datetime.datetime.now(datetime.timezone.utc)
    points = client.get_metric_statistics(
        Namespace="KinesisProducerLibrary", MetricName=name, Dimensions=dimensions,
        StartTime=now - datetime.timedelta(minutes=10), EndTime=now + datetime.timedelta(minutes=1),
        Period=60, Statistics=["Sum", "SampleCount"],
    )["Datapoints"]  # fmt: skip
    return sum(p["Sum"] for p in points), sum(p["SampleCount"] for p in points)


def test_summary_metrics_are_uploaded_and_match(fake_kinesis: FakeKinesis, moto_endpoint: str) -> None:
    config = Config(
        region="us-east-1",
        endpoint_url=fake_kinesis.endpoint_url,
        record_max_buffered_time_ms=10,
        metrics_level="summary",
        metrics_granularity="stream",
        metrics_upload_interval_ms=500,
        cloudwatch_endpoint_url=moto_endpoint,
    )
    with SyncProducer(config) as producer:
        outcomes = [producer.put_record(stream="fake-4", partition_key=str(i), data=b"x" * 10) for i in range(300)]
        assert all(o.wait(timeout=10).success for o in outcomes)
        time.sleep(1.5)  # the seconds of the puts become uploadable
    # close() uploaded the rest.
    client = cloudwatch(moto_endpoint)
    stream = [{"Name": "StreamName", "Value": "fake-4"}]
    assert statistic(client, "UserRecordsPut", stream) == (300.0, 300.0)
    names = {m["MetricName"] for m in client.list_metrics(Namespace="KinesisProducerLibrary")["Metrics"]}
    assert {"UserRecordsPut", "KinesisRecordsPut", "BufferingTime", "AllErrors"} <= names
    assert not names & {"UserRecordsDataPut", "RequestTime", "UserRecordsReceived"}, "detailed metrics at level summary"
    for metric in client.list_metrics(Namespace="KinesisProducerLibrary")["Metrics"]:
        assert "ShardId" not in {d["Name"] for d in metric["Dimensions"]}, "shard level at granularity stream"
