"""The native door of SyncProducer and SyncOutcome: the C quick put, the outcome state, the one sliced wait."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from gokpl import Config, InvalidRecordError, SyncOutcomeCancelled, SyncProducer, _fastpath, _status
from gokpl._outcome import SyncOutcome
from gokpl._timeout import WAIT_SLICE_MS, deadline_of, wait_in_slices

ConfigFactory = Callable[..., Config]


@pytest.fixture
def buffering(fake_config: ConfigFactory, fake_stream: str) -> Iterator[SyncProducer]:
    """An open, started producer that keeps records buffered for a minute unless flushed."""
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000)) as producer:
        producer.put_record(stream=fake_stream, partition_key="start", data=b"x")
        yield producer


def quick_put(producer: SyncProducer, stream: str, key: object, data: object) -> object:
    return _fastpath.quick_put(producer._handle, stream.encode(), key, data, producer._completions)


def test_quick_put_takes_a_str_key_with_bytes_or_bytearray_data(buffering: SyncProducer, fake_stream: str) -> None:
    for data in (b"bytes", bytearray(b"bytearray")):
        outcome = quick_put(buffering, fake_stream, "k", data)
        assert type(outcome) is SyncOutcome
        buffering.flush(10)
        assert outcome.wait(0).success


def test_quick_put_leaves_other_types_to_the_python_route(buffering: SyncProducer, fake_stream: str) -> None:
    for key, data in (("k", memoryview(b"x")), ("k", "text"), (b"k", b"x"), ("\ud800", b"x"), (None, b"x")):
        assert quick_put(buffering, fake_stream, key, data) is None, (key, data)
    assert buffering.outstanding_records == 1  # the start record alone


def test_a_record_the_library_declines_is_left_to_the_python_route_which_says_why(
    buffering: SyncProducer, fake_stream: str
) -> None:
    long_key = "ключ" * 100  # over 256 characters
    for key in ("", long_key):
        assert quick_put(buffering, fake_stream, key, b"x") is None
        with pytest.raises(InvalidRecordError, match="partition_key"):
            buffering.put_record(stream=fake_stream, partition_key=key, data=b"x")
    assert buffering.outstanding_records == 1  # the start record alone


def test_the_state_is_the_library_encoding_pending_resolved_or_cancelled(
    buffering: SyncProducer, fake_stream: str
) -> None:
    pending = buffering.put_record(stream=fake_stream, partition_key="a", data=b"x")
    cancelled = buffering.put_record(stream=fake_stream, partition_key="b", data=b"x")
    assert pending._state == -_status.ERR_PENDING and not pending.done()
    assert cancelled.cancel() and not cancelled.cancel()
    assert cancelled.done() and cancelled._state == -_status.ERR_CANCELLED
    with pytest.raises(SyncOutcomeCancelled, match=r"^the outcome was cancelled \(SyncOutcome.cancel\)$"):
        cancelled.wait()
    buffering.flush(10)
    result = pending.wait(0)
    assert result.success and pending._state == len(result.attempts) << 1 | 1
    assert not pending.cancel()


def test_waiting_for_a_pending_outcome_blocks_in_the_sliced_wait_until_it_resolves(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    with SyncProducer(fake_config(record_max_buffered_time_ms=300)) as producer:
        producer.put_record(stream=fake_stream, partition_key="start", data=b"x").wait(10)
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        with pytest.raises(TimeoutError, match=r"^SyncOutcome.wait timed out after 0.01s$"):
            outcome.wait(0.01)
        started = time.monotonic()
        assert outcome.wait(10).success
        assert time.monotonic() - started < 5


def test_the_sliced_wait_waits_in_slices_until_the_status_changes() -> None:
    calls: list[int] = []

    def native_wait(ms: int) -> int:
        calls.append(ms)
        return _status.TIMEOUT if len(calls) < 4 else _status.OK

    assert wait_in_slices(native_wait, None) == _status.OK
    assert calls == [WAIT_SLICE_MS] * 4


def test_the_sliced_wait_ends_at_the_deadline_with_the_last_status() -> None:
    calls: list[int] = []

    def native_wait(ms: int) -> int:
        calls.append(ms)
        time.sleep(ms / 1000)
        return _status.ERR_BACKPRESSURE

    started = time.monotonic()
    status = wait_in_slices(native_wait, deadline_of(0.45), again=_status.ERR_BACKPRESSURE)
    assert status == _status.ERR_BACKPRESSURE
    assert 0.45 <= time.monotonic() - started < 1.5
    assert all(0 <= ms <= WAIT_SLICE_MS for ms in calls) and len(calls) >= 3


def test_the_sliced_wait_calls_once_without_waiting_when_the_deadline_passed() -> None:
    calls: list[int] = []
    assert wait_in_slices(lambda ms: calls.append(ms) or _status.TIMEOUT, deadline_of(0)) == _status.TIMEOUT
    assert calls == [0]
