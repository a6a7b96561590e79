"""put_record(timeout=...) bounds the wait for room in a full producer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from gokpl import BackpressureTimeoutError, Config, GokplError, SyncProducer
from gokpl.testing import FakeKinesis
from support import inject_fault

ConfigFactory = Callable[..., Config]


def test_a_full_producer_raises_backpressure_timeout_error_after_the_timeout(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000, max_outstanding_records=2)) as producer:
        first = [producer.put_record(stream=fake_stream, partition_key=str(i), data=b"x") for i in range(2)]
        started = time.monotonic()
        with pytest.raises(BackpressureTimeoutError, match="full") as info:
            producer.put_record(stream=fake_stream, partition_key="k", data=b"x", timeout=0.5)
        waited = time.monotonic() - started
        assert 0.45 <= waited < 2.0
        assert isinstance(info.value, TimeoutError) and isinstance(info.value, GokplError)
        with pytest.raises(BackpressureTimeoutError):
            producer.put_record(stream=fake_stream, partition_key="k", data=b"x", timeout=0)
        # The producer is fine: once the first records are sent there is room.
        producer.flush()
        assert all(o.wait(0).success for o in first)
        last = producer.put_record(stream=fake_stream, partition_key="k", data=b"x", timeout=0)
        producer.flush()
        assert last.wait(0).success


def test_a_blocked_put_goes_in_when_room_frees(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000, max_outstanding_records=1)) as producer:
        producer.put_record(stream=fake_stream, partition_key="a", data=b"x")
        threading.Timer(0.4, producer.flush).start()
        started = time.monotonic()
        outcome = producer.put_record(stream=fake_stream, partition_key="b", data=b"x", timeout=10)
        assert 0.3 <= time.monotonic() - started < 5
        producer.flush()
        assert outcome.wait(0).success


def test_the_byte_budget_blocks_too(fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str) -> None:
    # A record this large may leave at once; a slow endpoint keeps it outstanding.
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", DelayMillis=1000)
    config = fake_config(record_max_buffered_time_ms=60_000, max_outstanding_bytes=1024 * 1024)
    with SyncProducer(config) as producer:
        producer.put_record(stream=fake_stream, partition_key="a", data=b"x" * 600_000)
        with pytest.raises(BackpressureTimeoutError):
            producer.put_record(stream=fake_stream, partition_key="b", data=b"x" * 600_000, timeout=0.1)
        # The record's data, key and bookkeeping, and while its request is
        # in flight, the request's body (its data again, in base64).
        outstanding = producer.stats().outstanding_bytes
        assert 600_000 + 512 < outstanding <= 600_000 + 800_000 + 4096, outstanding
