"""SyncOutcome.add_done_callback: once, on the producer's callback thread, or at once if done."""

from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from collections.abc import Callable

import pytest
from gokpl import Config, SyncOutcome, SyncOutcomeCancelled, SyncProducer

ConfigFactory = Callable[..., Config]


class Recorder:
    """Collects (thread name, outcome) per call and signals when enough arrived."""

    def __init__(self, expected: int = 1) -> None:
        self.calls: list[tuple[str, SyncOutcome]] = []
        self.expected = expected
        self.lock = threading.Lock()
        self.done = threading.Event()

    def __call__(self, outcome: SyncOutcome) -> None:
        with self.lock:
            self.calls.append((threading.current_thread().name, outcome))
            if len(self.calls) >= self.expected:
                self.done.set()

    def wait(self) -> list[tuple[str, SyncOutcome]]:
        assert self.done.wait(10), f"{len(self.calls)} of {self.expected} callbacks ran"
        return self.calls


def test_callback_runs_once_on_the_callback_thread(fake_config: ConfigFactory, fake_stream: str) -> None:
    recorder = Recorder()
    with SyncProducer(fake_config(record_max_buffered_time_ms=200)) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        outcome.add_done_callback(recorder)
        assert recorder.calls == []  # not done yet: nothing ran in this thread
        calls = recorder.wait()
        producer.flush()
    assert len(calls) == 1
    thread, seen = calls[0]
    assert thread == "gokpl-callbacks"
    assert seen is outcome and seen.done() and seen.wait(0).success


def test_callback_on_a_done_outcome_runs_at_once_in_the_caller(fake_config: ConfigFactory, fake_stream: str) -> None:
    recorder = Recorder()
    with SyncProducer(fake_config()) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        outcome.wait(timeout=10)
        outcome.add_done_callback(recorder)
        assert recorder.calls == [(threading.current_thread().name, outcome)]


def test_callbacks_run_in_order_each_once(fake_config: ConfigFactory, fake_stream: str) -> None:
    order: list[int] = []
    finished = threading.Event()
    with SyncProducer(fake_config(record_max_buffered_time_ms=200)) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        for i in range(5):
            outcome.add_done_callback(lambda _o, i=i: order.append(i))
        outcome.add_done_callback(lambda _o: finished.set())
        assert finished.wait(10)
        outcome.add_done_callback(lambda _o: order.append(99))  # done now: runs here
    assert order == [0, 1, 2, 3, 4, 99]


def test_many_outcomes_each_get_their_callback(fake_config: ConfigFactory, fake_stream: str) -> None:
    recorder = Recorder(expected=300)
    with SyncProducer(fake_config()) as producer:
        outcomes = [producer.put_record(stream=fake_stream, partition_key=str(i), data=b"x") for i in range(300)]
        for o in outcomes:
            o.add_done_callback(recorder)
        calls = recorder.wait()
    assert sorted(id(o) for _, o in calls) == sorted(id(o) for o in outcomes)


def test_cancel_runs_the_callbacks(fake_config: ConfigFactory, fake_stream: str) -> None:
    recorder = Recorder()
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        outcome.add_done_callback(recorder)
        assert outcome.cancel()
        _, seen = recorder.wait()[0]
    with pytest.raises(SyncOutcomeCancelled):
        seen.wait(0)


def test_close_runs_the_callbacks_of_the_records_it_resolves_before_returning(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    recorder = Recorder(expected=10)
    producer = SyncProducer(fake_config(record_max_buffered_time_ms=60_000))
    with producer:
        for i in range(10):
            producer.put_record(stream=fake_stream, partition_key=str(i), data=b"x").add_done_callback(recorder)
    # Flushed by close; by the time close returned, every callback had run.
    assert len(recorder.calls) == 10
    assert all(o.wait(0).success for _, o in recorder.calls)


def test_a_failing_callback_is_logged_and_the_others_still_run(
    fake_config: ConfigFactory, fake_stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()

    def broken(_outcome: SyncOutcome) -> None:
        raise RuntimeError("callback bug")

    with (
        caplog.at_level(logging.ERROR, logger="gokpl"),
        SyncProducer(fake_config(record_max_buffered_time_ms=100)) as producer,
    ):
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        outcome.add_done_callback(broken)
        outcome.add_done_callback(recorder)
        recorder.wait()
        outcome.add_done_callback(broken)  # done: runs here, logged the same way
    errors = [r for r in caplog.records if "exception calling callback" in r.getMessage()]
    assert len(errors) == 2
    assert errors[0].exc_info is not None and "callback bug" in str(errors[0].exc_info[1])


def test_a_callback_may_put_more_records(fake_config: ConfigFactory, fake_stream: str) -> None:
    followed = threading.Event()
    follow_ups: list[SyncOutcome] = []
    with SyncProducer(fake_config()) as producer:

        def chain(outcome: SyncOutcome) -> None:
            follow_ups.append(producer.put_record(stream=fake_stream, partition_key="next", data=b"y"))
            followed.set()

        producer.put_record(stream=fake_stream, partition_key="k", data=b"x").add_done_callback(chain)
        assert followed.wait(10)
    assert follow_ups[0].wait(0).success


def test_callback_threads_end_with_their_producer(fake_config: ConfigFactory, fake_stream: str) -> None:
    def callback_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "gokpl-callbacks"]

    before = len(callback_threads())
    with SyncProducer(fake_config()) as producer:
        producer.put_record(stream=fake_stream, partition_key="k", data=b"x").add_done_callback(lambda _o: None)
        producer.flush()
    assert len(callback_threads()) == before


def test_an_outcome_in_a_reference_cycle_is_collected(fake_config: ConfigFactory, fake_stream: str) -> None:
    # The outcome refers to its callbacks, a callback to the outcome: only the
    # cycle collector can free them, so the C half must take part in it.
    with SyncProducer(fake_config(record_max_buffered_time_ms=5000)) as producer:
        cyclic = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        # Without callbacks an outcome cannot be in a cycle, and the collector skips it.
        assert not gc.is_tracked(cyclic)
        cyclic._callbacks = [lambda _o, me=[cyclic]: me]  # as a callback not fired yet
        assert gc.is_tracked(cyclic)
        collected = weakref.ref(cyclic)
        del cyclic
        gc.collect()
        assert collected() is None

        # A registered callback that refers to its outcome: once it has run
        # (on the callback thread) and the thread let go of the outcome,
        # nothing keeps it.
        ran = threading.Event()
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        outcome.add_done_callback(lambda _o, me=[outcome]: ran.set())
        alive = weakref.ref(outcome)
        outcome.cancel()
        del outcome
        assert ran.wait(10)
        deadline = time.monotonic() + 10
        while alive() is not None and time.monotonic() < deadline:
            gc.collect()
            time.sleep(0.01)
        assert alive() is None


@pytest.mark.parametrize("fn", [None, 5, "print"], ids=["none", "int", "str"])
def test_a_callback_that_is_not_callable_is_a_type_error(
    fake_config: ConfigFactory, fake_stream: str, fn: object
) -> None:
    with SyncProducer(fake_config()) as producer:
        pending = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        with pytest.raises(TypeError, match="fn must be callable"):
            pending.add_done_callback(fn)  # type: ignore[arg-type]
        recorder = Recorder()
        pending.add_done_callback(recorder)
        assert recorder.done.wait(10)
        with pytest.raises(TypeError, match="fn must be callable"):
            pending.add_done_callback(fn)  # type: ignore[arg-type]
        assert len(recorder.calls) == 1
