"""Fixtures shared by the pytest suites.

Two endpoints are available: ``kinesis_mock`` is the real emulator
(kinesis-mock, started once per session over plain HTTP and TLS), and
``fake_kinesis`` is gokpl's own fake endpoint (core/kinesistest) run as a
process through ``gokpl.testing.FakeKinesis``, fast and scriptable. Under CI=true a missing emulator or binary fails
the run; elsewhere it skips with a loud reason.

A third, independent backend is ``moto_kinesis``: moto's server (moto[server]
from PyPI, pinned in pyproject.toml's test extra), started once per session on a
free loopback port by ``emulator.MotoKinesis``.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from emulator import EmulatorNotInstalled, KinesisApiError, KinesisMock, MotoKinesis
from gokpl import Config
from gokpl.testing import FakeKinesis

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"

# Static credentials for every test: no test ever talks to AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_REGION", "us-east-1")


def missing(reason: str, hint: str = "run 'make emulator'") -> None:
    """Fail under CI, skip loudly elsewhere (also at module level)."""
    if IN_CI:
        pytest.fail(f"required test dependency missing under CI: {reason}")
    pytest.skip(f"!!! SKIPPED: {reason} ({hint}) !!!", allow_module_level=True)


@pytest.fixture(scope="session")
def kinesis_mock() -> Iterator[KinesisMock]:
    """kinesis-mock on free loopback ports, shared by the session."""
    try:
        mock = KinesisMock()
    except EmulatorNotInstalled as exc:
        missing(str(exc))
    with mock:
        yield mock


def fake_endpoint(streams: dict[str, int], discard: bool = False) -> FakeKinesis:
    """gokpl.testing.FakeKinesis, started, on the fake endpoint `make tools` builds
    (build/kinesistest; GOKPL_KINESISTEST_BIN names another)."""
    binary = Path(os.environ.get("GOKPL_KINESISTEST_BIN", REPO / "build" / "kinesistest"))
    if not binary.exists():
        missing(f"{binary} not built")
    return FakeKinesis(streams, discard=discard, binary=binary).start()


@pytest.fixture(scope="session")
def fake_kinesis() -> Iterator[FakeKinesis]:
    """The fake endpoint with streams 'fake-1' (1 shard) and 'fake-4' (4 shards)."""
    fake = fake_endpoint({"fake-1": 1, "fake-4": 4})
    yield fake
    fake.stop()


@pytest.fixture
def stream(kinesis_mock: KinesisMock) -> Iterator[str]:
    """A fresh 2-shard stream on the emulator, deleted after the test (the
    emulator allows 50 shards in all)."""
    name = f"s-{uuid.uuid4().hex[:10]}"
    kinesis_mock.create_stream(name, 2)
    yield name
    delete_stream(kinesis_mock, name)


def delete_stream(mock: KinesisMock, name: str) -> None:
    """Delete a stream on the emulator; one already gone is fine."""
    try:
        mock.call("DeleteStream", {"StreamName": name, "EnforceConsumerDeletion": True})
    except KinesisApiError:
        pass


def boto3_client(endpoint_url: str, verify: bool = True) -> Any:
    """A boto3 Kinesis client for reading back what was written."""
    import boto3

    return boto3.client("kinesis", endpoint_url=endpoint_url, region_name="us-east-1", verify=verify)


@pytest.fixture
def fake_stream(fake_kinesis: FakeKinesis) -> Iterator[str]:
    """A fresh 2-shard stream on the fake endpoint; faults left behind are cleared after the test."""
    from support import clear_faults

    name = f"f-{uuid.uuid4().hex[:10]}"
    boto3_client(fake_kinesis.endpoint_url).create_stream(StreamName=name, ShardCount=2)
    yield name
    clear_faults(fake_kinesis.endpoint_url)


@pytest.fixture
def fake_config(fake_kinesis: FakeKinesis) -> Callable[..., Config]:
    """Config(**overrides) for the fake endpoint, buffering 10 ms unless told otherwise."""

    def make(**overrides: Any) -> Config:
        options: dict[str, Any] = {"region": "us-east-1", "endpoint_url": fake_kinesis.endpoint_url}
        options["record_max_buffered_time_ms"] = 10
        options.update(overrides)
        return Config(**options)

    return make


@pytest.fixture
def mock_config(kinesis_mock: KinesisMock) -> Callable[..., Config]:
    """Config(**overrides) for kinesis-mock over plain HTTP, buffering 10 ms unless told otherwise."""

    def make(**overrides: Any) -> Config:
        options: dict[str, Any] = {"region": "us-east-1", "endpoint_url": kinesis_mock.endpoint_url}
        options["record_max_buffered_time_ms"] = 10
        options.update(overrides)
        return Config(**options)

    return make


@pytest.fixture(scope="session")
def moto_kinesis() -> Iterator[MotoKinesis]:
    """moto's server on a free loopback port, shared by the session; stopped at
    the session's end, whatever happened (and by itself if this process dies)."""
    try:
        server = MotoKinesis()
    except EmulatorNotInstalled as exc:
        missing(str(exc), hint="run 'make venv'")
    with server:
        yield server


@pytest.fixture
def moto_stream(moto_kinesis: MotoKinesis) -> Iterator[str]:
    """A fresh 2-shard stream on moto, deleted after the test."""
    name = f"m-{uuid.uuid4().hex[:10]}"
    moto_kinesis.create_stream(name, 2)
    yield name
    delete_stream(moto_kinesis, name)


@pytest.fixture
def moto_config(moto_kinesis: MotoKinesis) -> Callable[..., Config]:
    """Config(**overrides) for moto: one request at a time, buffering 10 ms,
    no client-side rate limit, unless told otherwise.

    One request at a time because moto numbers a shard's records without a
    lock (moto/kinesis/models.py, Shard.put_record: the next sequence number
    is the shard's highest plus one, and the record is stored under it) while
    its server runs each request on a thread of its own: two PutRecords
    writing to one shard at once can be given the same sequence number, and
    the second record then replaces the first. That would lose records no
    real Kinesis loses, so exact read-back needs max_connections=1. moto does
    not throttle, so gokpl's per-shard rate limit would only slow the tests;
    a long request timeout keeps a slow moto on a loaded machine from causing
    retries, and with them duplicates.
    """

    def make(**overrides: Any) -> Config:
        options: dict[str, Any] = {"region": moto_kinesis.region, "endpoint_url": moto_kinesis.endpoint_url}
        options["max_connections"] = 1
        options["record_max_buffered_time_ms"] = 10
        options["rate_limit_records_per_sec_per_shard"] = 1e9
        options["rate_limit_bytes_per_sec_per_shard"] = 1e12
        options["request_timeout_ms"] = 60_000
        options.update(overrides)
        return Config(**options)

    return make
