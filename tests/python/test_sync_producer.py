"""The seed's SyncProducer semantics, one behaviour per test, against kinesis-mock
(and the fake endpoint where a fault is needed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from conftest import FakeKinesis
from gokpl import (
    Config,
    ConfigError,
    ProducerClosedError,
    RecordResult,
    SyncOutcome,
    SyncOutcomeCancelled,
    SyncProducer,
)
from support import inject_fault, read_back

ConfigFactory = Callable[..., Config]


def test_enter_and_exit_cleanly(mock_config: ConfigFactory) -> None:
    producer = SyncProducer(mock_config())
    with producer as entered:
        assert entered is producer
    assert "closed" in repr(producer)


def test_put_record_returns_a_sync_outcome(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config()) as producer:
        outcome = producer.put_record(stream=stream, partition_key="user-123", data=b"hello")
        assert isinstance(outcome, SyncOutcome)
        result = outcome.wait(timeout=10)
    assert isinstance(result, RecordResult)
    assert result.success and result.shard_id and result.sequence_number


def test_wait_with_a_timeout_raises_timeout_error(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=stream, partition_key="k", data=b"x")
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            outcome.wait(timeout=0.3)
        assert 0.25 <= time.monotonic() - started < 2.0
        with pytest.raises(TimeoutError):
            outcome.wait(timeout=0)
        producer.flush()
        assert outcome.wait(timeout=5).success


def test_cancel_returns_true_then_false_and_wait_raises(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=stream, partition_key="k", data=b"cancelled")
        assert outcome.cancel() is True
        assert outcome.cancel() is False
        assert outcome.done()
        with pytest.raises(SyncOutcomeCancelled):
            outcome.wait()
        with pytest.raises(SyncOutcomeCancelled):
            outcome.wait(timeout=1)
        kept = producer.put_record(stream=stream, partition_key="k", data=b"kept")
    assert kept.wait().success
    # Withdrawn before it was sent: it never reached the stream.
    assert [r.data for r in read_back(producer.config.endpoint_url or "", stream)] == [b"kept"]


def test_cancel_unblocks_a_thread_waiting_in_wait(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=stream, partition_key="k", data=b"x")
        raised: list[BaseException] = []
        unblocked = threading.Event()

        def waiter() -> None:
            try:
                outcome.wait()
            except BaseException as exc:
                raised.append(exc)
            unblocked.set()

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.3)
        assert not unblocked.is_set()
        cancelled_at = time.monotonic()
        assert outcome.cancel()
        assert unblocked.wait(5)
        assert time.monotonic() - cancelled_at < 1.0
        thread.join()
    assert len(raised) == 1 and isinstance(raised[0], SyncOutcomeCancelled)


def test_cancel_after_resolution_returns_false(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config()) as producer:
        outcome = producer.put_record(stream=stream, partition_key="k", data=b"x")
        result = outcome.wait(timeout=10)
        assert outcome.cancel() is False
        assert outcome.wait() == result


def test_done_goes_from_false_to_true(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=stream, partition_key="k", data=b"x")
        assert outcome.done() is False
        producer.flush()
        assert outcome.done() is True


def test_flush_waits_for_every_record_put_before_it(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=60_000)) as producer:
        outcomes = [producer.put_record(stream=stream, partition_key=str(i), data=b"x") for i in range(50)]
        assert producer.outstanding_records == 50
        producer.flush()
        assert producer.outstanding_records == 0
        assert all(o.done() and o.wait(0).success for o in outcomes)
        producer.flush(timeout=5)  # nothing left: returns at once


def test_flush_with_a_timeout_raises_timeout_error(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", DelayMillis=1500)
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"slow")
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="flush"):
            producer.flush(timeout=0.3)
        assert time.monotonic() - started < 1.2
        producer.flush(timeout=10)  # the request completes after its delay
        assert outcome.wait(0).success


def test_put_before_enter_raises_runtime_error(mock_config: ConfigFactory) -> None:
    producer = SyncProducer(mock_config())
    with pytest.raises(RuntimeError, match="not entered"):
        producer.put_record(stream="s", partition_key="k", data=b"x")
    with pytest.raises(RuntimeError, match="not entered"):
        producer.put_records("s", [("k", b"x")])
    with pytest.raises(RuntimeError, match="not entered"):
        producer.flush()


def test_put_after_exit_raises_producer_closed_error(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config()) as producer:
        producer.put_record(stream=stream, partition_key="k", data=b"x").wait(timeout=10)
    for call in (
        lambda: producer.put_record(stream=stream, partition_key="k", data=b"x"),
        lambda: producer.put_records(stream, [("k", b"x")]),
        producer.flush,
    ):
        with pytest.raises(ProducerClosedError) as info:
            call()
        assert isinstance(info.value, RuntimeError)
    with pytest.raises(ProducerClosedError):
        producer.__enter__()


def test_exit_drains_buffered_records(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config(record_max_buffered_time_ms=60_000)) as producer:
        outcomes = [producer.put_record(stream=stream, partition_key=str(i), data=b"%d" % i) for i in range(20)]
        assert not any(o.done() for o in outcomes)
    assert all(o.done() for o in outcomes)
    assert all(o.wait(0).success for o in outcomes)
    assert producer.outstanding_records == 0


def test_close_is_idempotent(mock_config: ConfigFactory, stream: str) -> None:
    producer = SyncProducer(mock_config())
    producer.__enter__()
    producer.put_record(stream=stream, partition_key="k", data=b"x")
    producer.close()
    producer.close()
    producer.__exit__(None, None, None)


def test_a_second_close_returns_once_the_first_has(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", DelayMillis=1000)
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000)).__enter__()
    outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
    first = threading.Thread(target=producer.close, kwargs={"timeout": 10})
    first.start()
    time.sleep(0.2)  # the first close is flushing, its request held back
    started = time.monotonic()
    producer.close()
    assert time.monotonic() - started > 0.5, "the second close returned while the first was flushing"
    assert outcome.done() and outcome.wait(0).success
    first.join(5)
    # A second close with a timeout shorter than the first's wait gives up at it.
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", DelayMillis=2000)
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000)).__enter__()
    producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
    first = threading.Thread(target=producer.close, kwargs={"timeout": 10})
    first.start()
    time.sleep(0.2)
    started = time.monotonic()
    producer.close(timeout=0.3)
    assert 0.25 < time.monotonic() - started < 1.5
    first.join(5)


def test_close_timeout_fails_what_is_left_as_producer_closed(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", DelayMillis=5000)
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000))
    with producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        started = time.monotonic()
        producer.close(timeout=0.3)
        assert time.monotonic() - started < 3.0
    result = outcome.wait(0)
    assert not result.success
    assert result.error_code == "ProducerClosed"


def test_sixteen_threads_put_and_wait_concurrently(mock_config: ConfigFactory, stream: str) -> None:
    per_thread = 40
    failures: list[object] = []
    barrier = threading.Barrier(16)

    with SyncProducer(mock_config()) as producer:

        def work(t: int) -> None:
            barrier.wait()
            outcomes = [
                producer.put_record(stream=stream, partition_key=f"{t}-{i}", data=b"%d-%d" % (t, i))
                for i in range(per_thread)
            ]
            for o in outcomes:
                result = o.wait(timeout=30)
                if not result.success:
                    failures.append(result)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    stored = read_back(producer.config.endpoint_url or "", stream)
    assert sorted(r.data for r in stored) == sorted(b"%d-%d" % (t, i) for t in range(16) for i in range(per_thread))


def test_a_failed_record_is_a_result_with_the_error_code(mock_config: ConfigFactory) -> None:
    with SyncProducer(mock_config()) as producer:
        result = producer.put_record(stream="no-such-stream", partition_key="k", data=b"x").wait(timeout=10)
    assert result.success is False
    assert result.shard_id is None and result.sequence_number is None
    assert result.error_code == "ResourceNotFoundException"
    assert result.error_message and "no-such-stream" in result.error_message
    assert result.attempts and result.attempts[-1].success is False


def test_a_record_failure_in_a_response_comes_back_as_a_result(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(
        fake_kinesis.endpoint_url,
        Operation="PutRecords",
        RecordFailures=[{"Index": 0, "ErrorCode": "KMSAccessDeniedException", "ErrorMessage": "no key for you"}],
    )
    with SyncProducer(fake_config()) as producer:
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
    assert not result.success
    assert result.error_code == "KMSAccessDeniedException"
    assert result.error_message == "no key for you"


def test_throttled_records_are_retried_and_attempts_recorded(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", RecordFailures=[{"Index": 0}])
    with SyncProducer(fake_config()) as producer:
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
    assert result.success
    assert [a.success for a in result.attempts] == [False, True]
    assert result.attempts[0].error_code == "ProvisionedThroughputExceededException"
    assert result.error_code is None


def test_backend_is_accepted_and_not_needed(mock_config: ConfigFactory, stream: str) -> None:
    for backend in ("asyncio", "trio"):
        with SyncProducer(mock_config(), backend=backend) as producer:
            assert producer.put_record(stream=stream, partition_key="k", data=b"x").wait(timeout=10).success
    with pytest.raises(ConfigError, match="backend"):
        SyncProducer(mock_config(), backend="curio")


def test_config_must_be_a_config() -> None:
    with pytest.raises(TypeError, match=r"gokpl\.Config"):
        SyncProducer({"region": "us-east-1"})  # type: ignore[arg-type]


def test_outstanding_records_counts_unresolved(mock_config: ConfigFactory, stream: str) -> None:
    producer = SyncProducer(mock_config(record_max_buffered_time_ms=60_000))
    assert producer.outstanding_records == 0
    with producer:
        assert producer.outstanding_records == 0
        for i in range(3):
            producer.put_record(stream=stream, partition_key=str(i), data=b"x")
        assert producer.outstanding_records == 3
    assert producer.outstanding_records == 0


def test_stats_count_what_happened(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config()) as producer:
        assert producer.stats().records_put == 0
        outcomes = [producer.put_record(stream=stream, partition_key=str(i), data=b"12345") for i in range(10)]
        producer.put_record(stream=stream, partition_key="c", data=b"x").cancel()
        producer.flush()
        stats = producer.stats()
        assert all(o.wait(0).success for o in outcomes)
    assert stats.records_put == 11
    assert stats.records_succeeded == 10
    assert stats.records_cancelled == 1
    assert stats.requests >= 1 and stats.kinesis_records_sent >= 1
    assert stats.outstanding_records == 0 and stats.outstanding_bytes == 0
    with pytest.raises(ProducerClosedError):
        producer.stats()


def test_stats_count_throttled_requests() -> None:
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"s": 1}) as kinesis, SyncProducer(kinesis.config(aggregation_enabled=False)) as producer:
        producer.put_record(stream="s", partition_key="warm", data=b"x").wait(timeout=10)
        assert producer.stats().requests_throttled == 0
        kinesis.throttle(1.0, times=1)
        result = producer.put_record(stream="s", partition_key="k", data=b"x").wait(timeout=10)
        stats = producer.stats()
    assert result.success and result.attempts[0].error_code == "ProvisionedThroughputExceededException"
    assert stats.requests_throttled == 1 and stats.records_retried == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"stream": None}, TypeError),
        ({"partition_key": b"bytes"}, TypeError),
        ({"partition_key": "\ud800"}, ValueError),
        ({"data": "text"}, TypeError),
        ({"data": memoryview(b"abcdef")[::2]}, TypeError),
        ({"explicit_hash_key": 5}, TypeError),
        ({"explicit_hash_key": "\udfff"}, ValueError),
    ],
    ids=["stream-none", "key-bytes", "key-surrogate", "data-str", "data-strided", "hash-int", "hash-surrogate"],
)
def test_a_rejected_first_put_does_not_start_the_engine(
    mock_config: ConfigFactory, kwargs: dict[str, object], error: type[Exception]
) -> None:
    with SyncProducer(mock_config()) as producer:
        record: dict[str, object] = {"partition_key": "k", "data": b"x", **kwargs}
        stream = record.pop("stream", "s")
        with pytest.raises(error):
            producer.put_record(stream=stream, **record)  # type: ignore[arg-type]
        with pytest.raises(error):
            producer.put_records(stream, [record])  # type: ignore[arg-type,list-item]
        with pytest.raises(TypeError):
            producer.put_record(stream="s", partition_key="k", data=b"x", tags=("a",))
        assert producer._handle == 0


def test_an_empty_batch_does_not_start_the_engine(mock_config: ConfigFactory) -> None:
    with SyncProducer(mock_config()) as producer:
        assert producer.put_records("s", []) == []
        assert producer._handle == 0
