"""gokpl.testing.FakeKinesis holds writes to the service's limits.

A record's data plus partition key must fit its stream's maximum record
size (1024 KiB unless ``max_record_size_kib`` or ``create_stream`` says
otherwise), streams answer to their ARN (``stream_arn``), and a fault can
reject every request that carries a given partition key. Runs the fake
endpoint `make tools` builds (build/kinesistest; GOKPL_KINESISTEST_BIN names
another), since these need a binary as new as the code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import missing
from gokpl.testing import FakeKinesis, FakeKinesisError
from gokpl.testing._serve import _stream_arg

REPO = Path(__file__).resolve().parents[2]
MIB = 1 << 20


@pytest.fixture(scope="module")
def kinesis() -> Iterator[FakeKinesis]:
    """Streams 'big' (maximum record size 10240 KiB) and 'small' (the default)."""
    binary = Path(os.environ.get("GOKPL_KINESISTEST_BIN", REPO / "build" / "kinesistest"))
    if not binary.exists():
        missing(f"{binary} not built", "run 'make tools'")
    with FakeKinesis({"big": 1, "small": 1}, max_record_size_kib={"big": 10240}, binary=binary) as fake:
        yield fake


@pytest.fixture(scope="module")
def client(kinesis: FakeKinesis) -> Any:
    return boto3.client("kinesis", **kinesis.client_kwargs())


def error_code(exc: pytest.ExceptionInfo[Exception]) -> tuple[str, int, str]:
    """The error code, HTTP status and message of a botocore ClientError."""
    response = exc.value.response  # type: ignore[attr-defined]
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_streams_report_their_maximum_record_size(kinesis: FakeKinesis, client: Any) -> None:
    summaries = {
        name: client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"] for name in ("big", "small")
    }
    assert summaries["big"]["MaxRecordSizeInKiB"] == 10240
    assert summaries["small"]["MaxRecordSizeInKiB"] == 1024
    kinesis.create_stream("medium", 1, max_record_size_kib=2048)
    assert client.describe_stream_summary(StreamName="medium")["StreamDescriptionSummary"]["MaxRecordSizeInKiB"] == 2048
    with pytest.raises(FakeKinesisError, match="maxRecordSizeInKiB"):
        kinesis.create_stream("huge", 1, max_record_size_kib=20480)


def test_record_over_the_stream_maximum_rejects_the_whole_request(kinesis: FakeKinesis, client: Any) -> None:
    from botocore.exceptions import ClientError

    before = kinesis.stats("small").records
    records = [{"PartitionKey": "a", "Data": b"x"}, {"PartitionKey": "k", "Data": bytes(MIB)}]
    with pytest.raises(ClientError) as exc:
        client.put_records(StreamName="small", Records=records)
    code, status, message = error_code(exc)
    assert (code, status) == ("ValidationException", 400)
    assert "records.2.member.data" in message
    assert kinesis.stats("small").records == before

    client.put_records(StreamName="big", Records=records)
    assert [len(r.data) for r in kinesis.records("big")[-2:]] == [1, MIB]


def test_stream_arn_addresses_the_stream(kinesis: FakeKinesis, client: Any) -> None:
    arn = kinesis.stream_arn("small")
    assert arn == "arn:aws:kinesis:us-east-1:123456789012:stream/small"
    answer = client.put_record(StreamARN=arn, PartitionKey="by-arn", Data=b"v")
    assert kinesis.records("small")[-1].sequence_number == answer["SequenceNumber"]
    assert client.describe_stream_summary(StreamARN=arn)["StreamDescriptionSummary"]["StreamName"] == "small"


def test_fault_for_a_partition_key_rejects_requests_that_carry_it(kinesis: FakeKinesis, client: Any) -> None:
    from botocore.exceptions import ClientError

    kinesis.inject_fault(error="ValidationException", message="poison", partition_key="poison", times=None)
    try:
        before = kinesis.stats("small").records
        with pytest.raises(ClientError) as exc:
            client.put_records(StreamName="small", Records=[{"PartitionKey": k, "Data": b"v"} for k in ("a", "poison")])
        assert error_code(exc) == ("ValidationException", 400, "poison")
        client.put_records(StreamName="small", Records=[{"PartitionKey": "a", "Data": b"v"}])
        assert kinesis.stats("small").records == before + 1
    finally:
        kinesis.clear_faults()


def test_maximum_record_size_is_checked_before_start() -> None:
    with pytest.raises(ValueError, match="nope"):
        FakeKinesis({"s": 1}, max_record_size_kib={"nope": 2048})


def test_serve_takes_a_maximum_record_size_per_stream() -> None:
    assert tuple(_stream_arg("big:2:10240")) == ("big", 2, 10240)
    assert tuple(_stream_arg("s:1")) == ("s", 1, None)
    for bad in ("s", "s:0", "s:1:0", "s:1:x", "s:1:2:3", ":1"):
        with pytest.raises(Exception, match="NAME:SHARDS"):
            _stream_arg(bad)
