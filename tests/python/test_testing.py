"""gokpl.testing: FakeKinesis, the pure-Python de-aggregator and `python -m gokpl.testing serve`.

Every test runs the real fake endpoint as a process; reading back is checked
against boto3 and the independent aws_kinesis_agg de-aggregator.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from gokpl import SyncProducer
from gokpl.testing import (
    INTERNAL_FAILURE,
    THROTTLED,
    FakeKinesis,
    FakeKinesisError,
    UserRecord,
    deaggregate,
    hash_key_of,
    is_aggregated,
)
from support import boto3_client, read_back

REPO = Path(__file__).resolve().parents[2]
FAST = {"record_max_buffered_time_ms": 10}


@pytest.fixture(scope="module")
def kinesis() -> Iterator[FakeKinesis]:
    """One endpoint for the module with streams 'orders' (4 shards) and 'single' (1)."""
    with FakeKinesis({"orders": 4, "single": 1}) as fake:
        yield fake


@pytest.fixture
def stream(kinesis: FakeKinesis, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh 2-shard stream named after the test; faults are cleared afterwards."""
    name = request.node.name.replace("[", "-").replace("]", "")[:100]
    kinesis.create_stream(name, 2)
    yield name
    kinesis.clear_faults()
    kinesis.delete_stream(name)


def alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def refused(url: str) -> bool:
    try:
        urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url + "/_kinesistest/requests", timeout=2)
    except urllib.error.URLError:
        return True
    return False


# -- reading back ------------------------------------------------------------


@pytest.mark.parametrize("aggregation", [True, False], ids=["aggregated", "not-aggregated"])
def test_round_trip_reads_back_user_records(kinesis: FakeKinesis, stream: str, aggregation: bool) -> None:
    sent = [(f"key-{i}", f"data-{i}".encode(), None) for i in range(60)]
    sent.append(("pinned", b"to the top", str(2**128 - 1)))
    # The default buffering (100 ms) leaves the first shard map time to load, so records are aggregated.
    with SyncProducer(kinesis.config(aggregation_enabled=aggregation)) as producer:
        outcomes = [
            producer.put_record(stream=stream, partition_key=k, data=d, explicit_hash_key=h) for k, d, h in sent
        ]
        results = [o.wait(timeout=10) for o in outcomes]
    assert all(r.success for r in results)

    stored = kinesis.records(stream)
    assert sorted((r.partition_key, r.data) for r in stored) == sorted((k, d) for k, d, _ in sent)
    by_key = {r.partition_key: r for r in stored}
    for (key, _, _), result in zip(sent, results):
        assert by_key[key].shard_id == result.shard_id
        assert by_key[key].sequence_number == result.sequence_number
        assert by_key[key].shard_id == kinesis.shard_for(stream, key, None if key != "pinned" else 2**128 - 1)
    assert by_key["pinned"].explicit_hash_key == str(2**128 - 1)
    assert by_key["pinned"].shard_id == "shardId-000000000001"
    assert any(r.aggregated for r in stored) == aggregation
    for r in stored:
        # A record sent alone carries its hash key explicitly; inside an aggregate only a pinned one does.
        if not r.aggregated:
            assert r.explicit_hash_key is not None
            assert r.partition_key == "pinned" or int(r.explicit_hash_key) == hash_key_of(r.partition_key)
        elif r.partition_key != "pinned":
            assert r.explicit_hash_key is None

    # The same records as a consumer reading with boto3 and aws_kinesis_agg sees them.
    consumer = {
        (r.shard_id, r.sequence_number, r.sub_sequence_number, r.partition_key, r.data)
        for r in read_back(kinesis.endpoint_url, stream)
    }
    ours = {(r.shard_id, r.sequence_number, r.sub_sequence_number, r.partition_key, r.data) for r in stored}
    assert ours == consumer
    raw = kinesis.records(stream, deaggregate=False)
    assert (len(raw) < len(stored)) == aggregation
    assert kinesis.stats(stream).records == len(raw)


def test_deaggregate_reads_what_aws_kinesis_agg_writes() -> None:
    aggregator = RecordAggregator()
    users = [
        UserRecord("a", b"one", None),
        UserRecord("b", b"", "12345"),
        UserRecord("a", bytes(range(256)) * 3, None),
        UserRecord("\u00e9t\u00e9", b"\xf3\x89\x9a\xc2", "12345"),
    ]
    for user in users:
        assert aggregator.add_user_record(user.partition_key, user.data, user.explicit_hash_key) is None  # not full
    partition_key, explicit_hash_key, data = aggregator.clear_and_get().get_contents()
    assert is_aggregated(data)
    assert deaggregate(partition_key, data, explicit_hash_key) == users


def test_deaggregate_passes_plain_data_and_rejects_corrupt_protobuf() -> None:
    assert deaggregate("k", b"plain", "7") == [UserRecord("k", b"plain", "7")]
    bad_md5 = b"\xf3\x89\x9a\xc2" + b"\x0a\x01a" + bytes(16)
    assert not is_aggregated(bad_md5)
    assert deaggregate("k", bad_md5) == [UserRecord("k", bad_md5)]
    for protobuf in (b"\x1a\x05\x08\x00", b"\x1a\x02\x08\x03", b"\x0a\x01a\x1a\x02\x1a\x00", b"\xff" * 11):
        corrupt = b"\xf3\x89\x9a\xc2" + protobuf + hashlib.md5(protobuf).digest()
        with pytest.raises(ValueError, match="corrupt aggregated record"):
            deaggregate("k", corrupt)


def test_streams_shards_split_and_merge(kinesis: FakeKinesis) -> None:
    kinesis.create_stream("reshaped", 2)
    with pytest.raises(FakeKinesisError, match="already exists"):
        kinesis.create_stream("reshaped", 1)
    first, second = kinesis.shards("reshaped")
    assert first.starting_hash_key == 0 and second.ending_hash_key == 2**128 - 1
    kinesis.split_shard("reshaped", first.shard_id, first.ending_hash_key // 2)
    kinesis.merge_shards("reshaped", "shardId-000000000003", second.shard_id)
    shards = kinesis.shards("reshaped")
    assert [s.shard_id for s in shards if s.open] == ["shardId-000000000002", "shardId-000000000004"]
    assert shards[-1].parent_shard_id == "shardId-000000000003"
    kinesis.delete_stream("reshaped")
    with pytest.raises(FakeKinesisError, match="not found"):
        kinesis.records("reshaped")


# -- faults --------------------------------------------------------------------


def test_failed_request_is_retried(kinesis: FakeKinesis, stream: str) -> None:
    before = kinesis.requests().get("PutRecords", 0)
    kinesis.fail_next(1, INTERNAL_FAILURE)
    with SyncProducer(kinesis.config(**FAST)) as producer:
        result = producer.put_record(stream=stream, partition_key="k", data=b"v").wait(timeout=10)
    assert result.success
    assert [a.error_code for a in result.attempts] == [INTERNAL_FAILURE, None]
    assert kinesis.requests()["PutRecords"] == before + 2
    assert [r.data for r in kinesis.records(stream)] == [b"v"]


def test_throttling_until_cleared_retries_entries(kinesis: FakeKinesis, stream: str) -> None:
    kinesis.throttle(0.5)
    with SyncProducer(kinesis.config(aggregation_enabled=False, **FAST)) as producer:
        outcomes = [producer.put_record(stream=stream, partition_key=f"k{i}", data=b"v") for i in range(10)]
        results = [o.wait(timeout=20) for o in outcomes]
    assert all(r.success for r in results)
    retried = [r for r in results if len(r.attempts) > 1]
    assert retried
    assert all(r.attempts[0].error_code == THROTTLED for r in retried)
    assert len(kinesis.records(stream)) == 10


def test_errors_that_retrying_cannot_fix_fail_the_record(kinesis: FakeKinesis, stream: str) -> None:
    kinesis.fail_next(1, "AccessDeniedException", message="no")
    with SyncProducer(kinesis.config(**FAST)) as producer:
        result = producer.put_record(stream=stream, partition_key="k", data=b"v").wait(timeout=10)
    assert not result.success
    assert result.error_code == "AccessDeniedException" and result.error_message == "no"
    assert len(result.attempts) == 1
    assert kinesis.records(stream) == []


def test_throttled_entries_fail_with_fail_if_throttled(kinesis: FakeKinesis, stream: str) -> None:
    kinesis.throttle(times=1)
    with SyncProducer(kinesis.config(fail_if_throttled=True, **FAST)) as producer:
        failed = producer.put_record(stream=stream, partition_key="k", data=b"v").wait(timeout=10)
        passed = producer.put_record(stream=stream, partition_key="k", data=b"w").wait(timeout=10)
    assert not failed.success and failed.error_code == THROTTLED
    assert passed.success
    assert [r.data for r in kinesis.records(stream)] == [b"w"]


def test_entry_failures_and_lost_responses(kinesis: FakeKinesis, stream: str) -> None:
    kinesis.fail_entries(1.0, INTERNAL_FAILURE, times=1)
    kinesis.inject_fault(error=INTERNAL_FAILURE, applied=True)
    with SyncProducer(kinesis.config(**FAST)) as producer:
        result = producer.put_record(stream=stream, partition_key="k", data=b"v").wait(timeout=10)
    assert result.success
    assert [a.error_code for a in result.attempts] == [INTERNAL_FAILURE, INTERNAL_FAILURE, None]
    # The second request was applied although it failed: the retry wrote the record again.
    assert [r.data for r in kinesis.records(stream)] == [b"v", b"v"]


def test_fault_arguments_are_checked(kinesis: FakeKinesis) -> None:
    with pytest.raises(ValueError, match="times"):
        kinesis.fail_next(0)
    with pytest.raises(ValueError, match="entry_failure_rate"):
        kinesis.throttle(1.5)
    # A fault that would never act as asked is refused, not kept to do nothing.
    with pytest.raises(ValueError, match="entry_error needs entry_failure_rate"):
        kinesis.inject_fault(entry_error="InternalFailure")
    with pytest.raises(ValueError, match="delay"):
        kinesis.inject_fault(delay=-1)
    for bad, needle in [
        ({"operation": "putrecords"}, "not one the server answers"),
        ({"status": 200}, "400 to 599"),
        ({"message": "why"}, "Message needs ErrorType or StatusCode"),
    ]:
        with pytest.raises(FakeKinesisError, match=needle):
            kinesis.inject_fault(**bad)  # type: ignore[arg-type]


# -- the process -----------------------------------------------------------------


def test_missing_binary_names_the_build(tmp_path: Path) -> None:
    fake = FakeKinesis({"s": 1}, binary=tmp_path / "kinesistest")
    with pytest.raises(FakeKinesisError, match="make build"):
        fake.start()
    with pytest.raises(FakeKinesisError, match="not running"):
        _ = fake.endpoint_url


def test_process_that_cannot_start_or_dies_is_reported() -> None:
    with pytest.raises(FakeKinesisError, match=r"exited with status 2 before it was ready: .*SHARDS >= 1"):
        FakeKinesis({"bad": 0}).start()
    with FakeKinesis({"s": 1}) as fake:
        assert fake.pid is not None
        os.kill(fake.pid, signal.SIGKILL)
        assert wait_gone(fake.pid)
        with pytest.raises(FakeKinesisError, match="exited with status -9 while serving"):
            fake.requests()
        assert not fake.running


def test_no_process_outlives_the_context_or_the_interpreter() -> None:
    with FakeKinesis({"s": 1}, discard=True) as fake:
        pid, url = fake.pid, fake.endpoint_url
        assert pid is not None and alive(pid)
        with SyncProducer(fake.config(**FAST)) as producer:
            assert producer.put_record(stream="s", partition_key="k", data=b"v").wait(timeout=10).success
        assert fake.stats("s").records == 1
        with pytest.raises(FakeKinesisError, match="discard=True"):
            fake.records("s")
    assert not alive(pid) and refused(url)
    fake.stop()  # a second stop is a no-op

    # Left running at exit, or with the test process killed outright.
    script = "from gokpl.testing import FakeKinesis; f = FakeKinesis().start(); print(f.pid, flush=True)"
    for ending in ("", "; import os, signal; os.kill(os.getpid(), signal.SIGKILL)"):
        child = subprocess.run([sys.executable, "-c", script + ending], capture_output=True, text=True, timeout=20)
        assert wait_gone(int(child.stdout)), f"kinesistest outlived {'a killed' if ending else 'an exiting'} process"


def serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    """python -m gokpl.testing serve ..., and the endpoint URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gokpl.testing", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), process.communicate(timeout=10)
    return process, url


def test_serve_works_with_boto3_and_stops_on_sigterm() -> None:
    process, url = serve("--stream", "clicks:2", "--stream", "audit:1")
    try:
        client = boto3_client(url)
        assert sorted(client.list_streams()["StreamNames"]) == ["audit", "clicks"]
        put = client.put_record(StreamName="clicks", PartitionKey="user-1", Data=b"hello")
        iterator = client.get_shard_iterator(
            StreamName="clicks", ShardId=put["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        assert [r["Data"] for r in client.get_records(ShardIterator=iterator)["Records"]] == [b"hello"]
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "AWS_ENDPOINT_URL_KINESIS" in err
    assert refused(url)


def test_serve_stops_on_ctrl_c_and_rejects_bad_streams() -> None:
    process, url = serve("--stream", "s:1", "--port", "0")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert process.returncode == 0 and refused(url)
    bad = subprocess.run(
        [sys.executable, "-m", "gokpl.testing", "serve", "--stream", "s:0"], capture_output=True, text=True, timeout=20
    )
    assert bad.returncode == 2 and "NAME:SHARDS" in bad.stderr
    twice = subprocess.run(
        [sys.executable, "-m", "gokpl.testing", "serve", "--stream", "s:1", "--stream", "s:3"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert twice.returncode == 2 and "named twice" in twice.stderr


def test_the_fakes_identity_stays_a_module_constant() -> None:
    """Region, account and credentials are read as gokpl.testing's constants (the wheel checks use them)."""
    import gokpl.testing as testing

    with testing.FakeKinesis({"identity": 1}) as fake:
        config = fake.config()
    assert (testing.REGION, testing.ACCOUNT_ID) == ("us-east-1", "123456789012")
    assert config.region == testing.REGION
    assert (config.aws_access_key_id, config.aws_secret_access_key) == (
        testing.ACCESS_KEY_ID,
        testing.SECRET_ACCESS_KEY,
    )
