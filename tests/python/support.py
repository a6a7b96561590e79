"""Helpers for the pytest suites: reading streams back, shard ranges, the fake's control API.

Reading back goes through boto3 (GetRecords) and the independent
de-aggregator from PyPI (aws_kinesis_agg), so what the tests compare is what
any Kinesis consumer would see, aggregated or not.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from dataclasses import dataclass
from typing import Any

from aws_kinesis_agg.deaggregator import iter_deaggregate_records

# Loopback requests must never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def boto3_client(endpoint_url: str, verify: bool = True) -> Any:
    import boto3

    return boto3.client("kinesis", endpoint_url=endpoint_url, region_name="us-east-1", verify=verify)


@dataclass(frozen=True)
class StoredRecord:
    """One user record as a consumer sees it after de-aggregation."""

    shard_id: str
    sequence_number: str
    sub_sequence_number: int | None  # None: the Kinesis record was not aggregated
    partition_key: str
    explicit_hash_key: str | None  # only reliable for aggregated records that had one
    data: bytes


def deaggregate(shard_id: str, records: list[dict[str, Any]]) -> list[StoredRecord]:
    """User records from GetRecords output, aggregated (KPL format) or not."""
    out = []
    for r in iter_deaggregate_records(records, data_format="Boto3"):
        k = r["kinesis"]
        if k.get("aggregated"):
            out.append(
                StoredRecord(
                    shard_id,
                    k["sequenceNumber"],
                    k["subSequenceNumber"],
                    k["partitionKey"],
                    k.get("explicitHashKey"),
                    base64.b64decode(k["data"]),
                )
            )
        else:
            out.append(StoredRecord(shard_id, k["sequenceNumber"], None, k["partitionKey"], None, bytes(k["data"])))
    return out


def read_back(endpoint_url: str, stream: str) -> list[StoredRecord]:
    """Every user record in the stream, shard by shard, in order."""
    client = boto3_client(endpoint_url)
    out: list[StoredRecord] = []
    for shard in client.list_shards(StreamName=stream)["Shards"]:
        shard_id = shard["ShardId"]
        iterator = client.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")[
            "ShardIterator"
        ]
        while iterator:
            response = client.get_records(ShardIterator=iterator, Limit=10000)
            out += deaggregate(shard_id, response["Records"])
            if not response["Records"] or response.get("MillisBehindLatest", 0) == 0:
                break
            iterator = response.get("NextShardIterator")
    return out


def shard_ranges(endpoint_url: str, stream: str) -> list[tuple[str, int, int]]:
    """(shard id, starting hash key, ending hash key) of each open shard, from ListShards."""
    client = boto3_client(endpoint_url)
    return [
        (s["ShardId"], int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in client.list_shards(StreamName=stream)["Shards"]
        if "EndingSequenceNumber" not in s["SequenceNumberRange"]
    ]


def shard_for(ranges: list[tuple[str, int, int]], hash_key: int) -> str:
    for shard_id, start, end in ranges:
        if start <= hash_key <= end:
            return shard_id
    raise AssertionError(f"no shard covers {hash_key}")


def control(endpoint_url: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    """A call to the fake endpoint's control API (core/kinesistest/control.go)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(endpoint_url + "/_kinesistest/" + path, data=data, method=method)
    with _OPENER.open(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def inject_fault(endpoint_url: str, **fault: Any) -> None:
    """Script a one-shot fault for the next request (ControlFault fields, e.g. Operation, DelayMillis)."""
    control(endpoint_url, "POST", "faults", fault)


def clear_faults(endpoint_url: str) -> None:
    control(endpoint_url, "DELETE", "faults")
