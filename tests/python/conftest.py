"""Fixtures shared by the pytest suites.

Two endpoints are available: ``kinesis_mock`` is the real emulator
(kinesis-mock, started once per session over plain HTTP and TLS), and
``fake_kinesis`` is gokpl's own fake endpoint (core/kinesistest) run as a
process, fast and scriptable. Under CI=true a missing emulator or binary fails
the run; elsewhere it skips with a loud reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from emulator import EmulatorNotInstalled, KinesisMock

REPO = Path(__file__).resolve().parents[2]
IN_CI = os.environ.get("CI") == "true"

# Static credentials for every test: no test ever talks to AWS.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_REGION", "us-east-1")


def missing(reason: str) -> None:
    """Fail under CI, skip loudly elsewhere."""
    if IN_CI:
        pytest.fail(f"required test dependency missing under CI: {reason}")
    pytest.skip(f"!!! SKIPPED: {reason} (run 'make emulator') !!!")


@pytest.fixture(scope="session")
def kinesis_mock() -> Iterator[KinesisMock]:
    """kinesis-mock on free loopback ports, shared by the session."""
    try:
        mock = KinesisMock()
    except EmulatorNotInstalled as exc:
        missing(str(exc))
    with mock:
        yield mock


class FakeKinesis:
    """The kinesistest fake endpoint as a child process."""

    def __init__(self, streams: dict[str, int]) -> None:
        binary = Path(os.environ.get("GOKPL_KINESISTEST_BIN", REPO / "build" / "kinesistest"))
        if not binary.exists():
            missing(f"{binary} not built")
        args = [str(binary), "--addr", "127.0.0.1:0"]
        for name, shards in streams.items():
            args += ["--stream", f"{name}:{shards}"]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.close()
            raise RuntimeError("kinesistest exited before reporting its address")
        self.endpoint_url: str = json.loads(line)["endpoint_url"]

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def fake_kinesis() -> Iterator[FakeKinesis]:
    """The fake endpoint with streams 'fake-1' (1 shard) and 'fake-4' (4 shards)."""
    fake = FakeKinesis({"fake-1": 1, "fake-4": 4})
    yield fake
    fake.close()


@pytest.fixture
def stream(kinesis_mock: KinesisMock) -> str:
    """A fresh 2-shard stream on the emulator."""
    name = f"s-{uuid.uuid4().hex[:10]}"
    kinesis_mock.create_stream(name, 2)
    return name


def boto3_client(endpoint_url: str, verify: bool = True) -> Any:
    """A boto3 Kinesis client for reading back what was written."""
    import boto3

    return boto3.client("kinesis", endpoint_url=endpoint_url, region_name="us-east-1", verify=verify)
