"""Timeouts follow one rule in put_record, put_records, flush, close and wait.

None and math.inf wait without limit, a negative number as 0, a non-number
(bool included) is a TypeError and NaN a ValueError, both naming
``timeout`` and raised before the call changes anything.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import pytest
from gokpl import Config, SyncProducer
from gokpl.testing import FakeKinesis

ConfigFactory = Callable[..., Config]

#: (timeout, the exception it must raise)
BAD_TIMEOUTS = [
    ("soon", TypeError),
    (b"1", TypeError),
    ([0.5], TypeError),
    (True, TypeError),
    (math.nan, ValueError),
]
BAD_IDS = ["str", "bytes", "list", "bool", "nan"]


@pytest.fixture
def buffering(fake_config: ConfigFactory) -> Iterator[SyncProducer]:
    """An open producer that keeps records buffered for a minute unless flushed."""
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000)) as producer:
        yield producer


def put(producer: SyncProducer, stream: str, **kwargs: Any) -> Any:
    return producer.put_record(stream=stream, partition_key="k", data=b"x", **kwargs)


def test_close_without_a_timeout_flushes_every_record(fake_config: ConfigFactory, fake_stream: str) -> None:
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000)).__enter__()
    outcomes = [put(producer, fake_stream) for _ in range(100)]
    producer.close(timeout=None)
    assert all(o.done() for o in outcomes)
    assert all(o.wait(0).success for o in outcomes)


def test_close_with_an_infinite_timeout_is_close_without_limit(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000)).__enter__()
    outcomes = [put(producer, fake_stream) for _ in range(10)]
    producer.close(math.inf)
    assert all(o.wait(0).success for o in outcomes)
    assert len(fake_kinesis.records(fake_stream)) == 10


@pytest.mark.parametrize("timeout", [1e300, 2.0**63], ids=["1e300", "2^63"])
def test_a_timeout_past_what_python_can_wait_is_no_limit(
    fake_config: ConfigFactory, fake_stream: str, timeout: float
) -> None:
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000)).__enter__()
    outcome = put(producer, fake_stream, timeout=timeout)
    with pytest.raises(TimeoutError):
        outcome.wait(0)
    producer.flush(timeout)
    assert outcome.wait(timeout).success
    outcome = put(producer, fake_stream)
    outcome.add_done_callback(lambda o: None)  # close then waits for the callback thread
    producer.close(timeout)
    assert outcome.wait(0).success


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS, ids=BAD_IDS)
def test_a_bad_close_timeout_leaves_the_producer_open(
    buffering: SyncProducer, fake_stream: str, timeout: Any, error: type[Exception]
) -> None:
    outcome = put(buffering, fake_stream)
    with pytest.raises(error, match="timeout"):
        buffering.close(timeout)
    assert not outcome.done()
    later = put(buffering, fake_stream)
    buffering.flush(10)
    assert outcome.wait(0).success and later.wait(0).success


def test_a_negative_close_timeout_is_zero(buffering: SyncProducer, fake_stream: str) -> None:
    outcomes = [put(buffering, fake_stream) for _ in range(10)]
    started = time.monotonic()
    buffering.close(-5)
    assert time.monotonic() - started < 5
    assert all(o.done() for o in outcomes)
    for o in outcomes:
        result = o.wait(0)
        assert result.success or result.error_code == "ProducerClosed"


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS, ids=BAD_IDS)
@pytest.mark.parametrize(
    "record",
    [
        {"partition_key": "k", "data": b"x"},
        {"partition_key": "k", "data": bytearray(b"x")},
        {"partition_key": "k", "data": b"x", "explicit_hash_key": "7"},
    ],
    ids=["fast-path", "bytearray", "hash-key"],
)
def test_a_bad_put_timeout_puts_nothing(
    buffering: SyncProducer, fake_stream: str, record: dict[str, Any], timeout: Any, error: type[Exception]
) -> None:
    put(buffering, fake_stream)  # the engine runs: the fast path is open
    with pytest.raises(error, match="timeout"):
        buffering.put_record(stream=fake_stream, timeout=timeout, **record)
    with pytest.raises(error, match="timeout"):
        buffering.put_records(fake_stream, [record], timeout=timeout)
    assert buffering.stats().records_put == 1


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS, ids=BAD_IDS)
def test_a_bad_timeout_on_the_first_put_does_not_start_the_engine(
    buffering: SyncProducer, fake_stream: str, timeout: Any, error: type[Exception]
) -> None:
    with pytest.raises(error, match="timeout"):
        put(buffering, fake_stream, timeout=timeout)
    with pytest.raises(error, match="timeout"):
        buffering.put_records(fake_stream, [("k", b"x")], timeout=timeout)
    with pytest.raises(error, match="timeout"):
        buffering.flush(timeout)
    assert buffering._handle == 0


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS, ids=BAD_IDS)
def test_a_bad_flush_timeout_raises_naming_it(
    buffering: SyncProducer, fake_stream: str, timeout: Any, error: type[Exception]
) -> None:
    outcome = put(buffering, fake_stream)
    with pytest.raises(error, match="timeout"):
        buffering.flush(timeout)
    assert not outcome.done()


@pytest.mark.parametrize(("timeout", "error"), BAD_TIMEOUTS, ids=BAD_IDS)
def test_a_bad_wait_timeout_raises_naming_it_pending_or_done(
    buffering: SyncProducer, fake_stream: str, timeout: Any, error: type[Exception]
) -> None:
    outcome = put(buffering, fake_stream)
    with pytest.raises(error, match="timeout"):
        outcome.wait(timeout)
    buffering.flush(10)
    assert outcome.done()
    with pytest.raises(error, match="timeout"):
        outcome.wait(timeout)
    with pytest.raises(error, match="timeout"):
        outcome.wait(timeout=timeout)


def test_infinite_timeouts_wait_without_limit(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        outcome = put(producer, fake_stream, timeout=math.inf)
        assert outcome.wait(math.inf).success
        assert producer.put_records(fake_stream, [("k", b"x")], timeout=math.inf)[0].wait(1e300).success
        producer.flush(math.inf)


def test_negative_timeouts_do_not_wait(buffering: SyncProducer, fake_stream: str) -> None:
    outcome = put(buffering, fake_stream, timeout=-1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        outcome.wait(-1)
    with pytest.raises(TimeoutError):
        outcome.wait(-math.inf)
    assert time.monotonic() - started < 1


def test_any_real_number_is_a_timeout(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        outcome = put(producer, fake_stream, timeout=Fraction(1, 2))
        assert outcome.wait(Fraction(10)).success
        assert outcome.wait(0).success
        producer.flush(Fraction(5, 2))


def test_an_integer_beyond_every_float_is_a_timeout_without_limit(fake_config: ConfigFactory, fake_stream: str) -> None:
    huge = 10**400
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000), exit_timeout=huge).__enter__()
    assert producer._exit_timeout == math.inf
    outcome = put(producer, fake_stream, timeout=huge)
    producer.flush(huge)
    assert outcome.wait(huge).success
    assert producer.put_records(fake_stream, [("k", b"x")], timeout=huge)[0].wait(huge).success
    producer.close(huge)
    assert outcome.wait(-huge).success  # and a negative one is 0
