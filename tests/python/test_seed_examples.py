"""Every example of aiokpl's SyncProducer design note runs unchanged except for the import line.

The complete programs live in examples/seed/; the fragments (SyncOutcome
semantics, flush, backend) are run here line for line inside the context they
assume. The examples name no endpoint, so the AWS SDK is pointed at
kinesis-mock through AWS_ENDPOINT_URL_KINESIS, as it would be at any
Kinesis-compatible endpoint.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from emulator import KinesisApiError, KinesisMock
from gokpl import Config, SyncOutcomeCancelled, SyncProducer
from support import read_back

SEED = Path(__file__).resolve().parents[2] / "examples" / "seed"


def ensure_stream(mock: KinesisMock, name: str) -> None:
    try:
        mock.create_stream(name, 2)
    except KinesisApiError as exc:
        if exc.code != "ResourceInUseException":
            raise


@pytest.fixture
def seed_endpoint(kinesis_mock: KinesisMock, monkeypatch: pytest.MonkeyPatch) -> Iterator[KinesisMock]:
    """The examples' streams exist and the SDK's endpoint is kinesis-mock."""
    for name in ("my-stream", "events"):
        ensure_stream(kinesis_mock, name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_KINESIS", kinesis_mock.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", kinesis_mock.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", kinesis_mock.secret_access_key)
    yield kinesis_mock


def test_the_lifecycle_example(seed_endpoint: KinesisMock) -> None:
    run = subprocess.run(
        [sys.executable, str(SEED / "lifecycle.py")], capture_output=True, text=True, timeout=60, env=dict(os.environ)
    )
    assert run.returncode == 0, run.stderr
    shard_id, sequence_number = run.stdout.split()
    stored = [r for r in read_back(seed_endpoint.endpoint_url, "my-stream") if r.sequence_number == sequence_number]
    assert [(r.shard_id, r.partition_key, r.data) for r in stored] == [(shard_id, "user-123", b"hello")]


def test_the_sync_outcome_semantics_example(seed_endpoint: KinesisMock) -> None:
    with SyncProducer(Config(region="us-east-1", record_max_buffered_time_ms=100)) as producer:
        outcome = producer.put_record(stream="my-stream", partition_key="user-123", data=b"hello")

        outcome.done()  # True iff resolved
        outcome.wait()  # block forever
        outcome.wait(timeout=5.0)  # block up to 5 s, raise TimeoutError
        outcome.cancel()  # resolve locally with SyncOutcomeCancelled

        assert outcome.done() and outcome.wait().success and outcome.cancel() is False
        pending = producer.put_record(stream="my-stream", partition_key="user-123", data=b"later")
        assert pending.done() is False
        assert pending.cancel() is True
        with pytest.raises(SyncOutcomeCancelled):
            pending.wait()


def test_the_flush_example(seed_endpoint: KinesisMock) -> None:
    with SyncProducer(Config(region="us-east-1", record_max_buffered_time_ms=60_000)) as producer:
        outcomes = [producer.put_record(stream="my-stream", partition_key="k", data=b"%d" % i) for i in range(10)]

        producer.flush()  # block until in-flight reaches 0, forever
        producer.flush(timeout=10.0)  # bounded; raise TimeoutError on expiry

        assert producer.outstanding_records == 0
        assert all(o.wait(0).success for o in outcomes)


def test_the_backend_example(seed_endpoint: KinesisMock) -> None:
    config = Config(region="us-east-1")

    SyncProducer(config, backend="asyncio")  # default
    SyncProducer(config, backend="trio")  # accepted but will fail at __enter__

    # Unlike aiokpl, trio does not fail: the engine runs in Go, not on an event loop.
    with SyncProducer(config, backend="trio") as producer:
        assert producer.put_record(stream="events", partition_key="k", data=b"x").wait(timeout=10).success


def load_flask_app() -> Any:
    spec = importlib.util.spec_from_file_location("seed_flask_app", SEED / "flask_app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_flask_handler_example(seed_endpoint: KinesisMock) -> None:
    module = load_flask_app()  # module level: SyncProducer(...) and producer.__enter__()
    client = module.app.test_client()
    try:
        responses = [
            client.post("/event", data=b'{"clicked": "buy"}', headers={"X-User": "user-42"}),
            client.post("/event", data=b"anonymous event"),
        ]
    finally:
        module.producer.__exit__(None, None, None)  # what the app's teardown hook would do
    for response in responses:
        assert response.status_code == 200
        body = response.get_json()
        assert body["success"] is True
        assert body["shard_id"].startswith("shardId-") and body["sequence_number"]
        assert body["attempts"] == 1
    stored = {r.sequence_number: r for r in read_back(seed_endpoint.endpoint_url, "events")}
    first, second = (stored[r.get_json()["sequence_number"]] for r in responses)
    assert (first.partition_key, first.data) == ("user-42", b'{"clicked": "buy"}')
    assert (second.partition_key, second.data) == ("anon", b"anonymous event")
