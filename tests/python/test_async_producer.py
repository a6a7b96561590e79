"""gokpl.Producer: aiokpl's asyncio API on the engine, on asyncio and uvloop.

Each test runs its own loop (asyncio.run or uvloop.run) inside a plain test
function, against the fake endpoint. Records buffered for 60 s stay put until
a flush, which lets a test hold the producer full for as long as it needs.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio
import pytest
import uvloop
from gokpl import (
    Config,
    ForkedProcessError,
    InvalidRecordError,
    Metric,
    Outcome,
    Producer,
    ProducerClosedError,
    RecordResult,
    Tag,
)
from gokpl.testing import FakeKinesis
from support import inject_fault, read_back

ConfigFactory = Callable[..., Config]
BUFFERED = 60_000  # ms: records wait for a flush


def run(main: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(main)


def data_of(config: Config, stream: str) -> list[bytes]:
    return sorted(r.data for r in read_back(config.endpoint_url or "", stream))


async def within(seconds: float, awaitable: Awaitable[Any]) -> Any:
    return await asyncio.wait_for(awaitable, seconds)


class LoopLag:
    """A probe task measuring how late the loop runs a 5 ms sleep: the longest lag seen."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._probe())

    async def _probe(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.monotonic() - started - 0.005)

    async def stop(self) -> float:
        self._task.cancel()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        return self.worst


# Results


async def put_and_wait(config: Config, stream: str, count: int) -> tuple[list[Outcome], list[RecordResult]]:
    async with Producer(config) as producer:
        outcomes = [
            await producer.put_record(stream=stream, partition_key=str(i), data=b"%d" % i) for i in range(count)
        ]
        results = [await within(10, o.wait()) for o in outcomes]
        assert all(o.is_set() for o in outcomes)
        assert producer.outstanding_records == 0
    return outcomes, results


def check_results(results: list[RecordResult]) -> None:
    for result in results:
        assert isinstance(result, RecordResult)
        assert result.success, result
        assert result.shard_id and result.shard_id.startswith("shardId-")
        assert result.sequence_number
        assert len(result.attempts) == 1
        assert result.attempts[0].success
        assert result.attempts[0].started_at <= result.attempts[0].ended_at


def test_results_carry_shard_sequence_number_and_attempts(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config()
    outcomes, results = run(put_and_wait(config, fake_stream, 50))
    assert all(isinstance(o, Outcome) for o in outcomes)
    assert Outcome[RecordResult].__origin__ is Outcome  # type: ignore[attr-defined]  # aiokpl's annotation holds
    check_results(results)
    assert data_of(config, fake_stream) == sorted(b"%d" % i for i in range(50))


def test_end_to_end_on_kinesis_mock_under_anyio(mock_config: ConfigFactory, stream: str) -> None:
    config = mock_config(record_max_buffered_time_ms=50, max_outstanding_records=200)

    async def main() -> list[RecordResult]:
        async with Producer(config) as producer:
            outcomes = [
                await producer.put_record(stream=stream, partition_key=f"pk-{i}", data=b"payload-%d" % i)
                for i in range(100)
            ]
            await producer.flush()
            with anyio.fail_after(60):
                return [await o.wait() for o in outcomes]

    check_results(anyio.run(main, backend="asyncio"))
    assert data_of(config, stream) == sorted(b"payload-%d" % i for i in range(100))


def test_on_uvloop(fake_config: ConfigFactory, fake_stream: str) -> None:
    loop_types: list[type] = []

    async def main() -> list[RecordResult]:
        loop_types.append(type(asyncio.get_running_loop()))
        return (await put_and_wait(fake_config(), fake_stream, 50))[1]

    check_results(uvloop.run(main()))
    assert loop_types == [uvloop.Loop]


def test_a_failed_record_is_a_result_and_the_engine_logs_why(
    fake_config: ConfigFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="gokpl")

    async def main() -> RecordResult:
        async with Producer(fake_config()) as producer:
            outcome = await producer.put_record(stream="no-such-stream", partition_key="k", data=b"x")
            result: RecordResult = await within(10, outcome.wait())
            return result

    result = run(main())
    assert not result.success
    assert result.error_code == "ResourceNotFoundException"
    assert len(result.attempts) == 1
    deadline = time.monotonic() + 5  # the gokpl-logs thread passes engine records on within 0.2 s
    while "no-such-stream" not in caplog.text and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(r.name == "gokpl" and "no-such-stream" in r.getMessage() for r in caplog.records)


def test_many_tasks_may_await_one_outcome(fake_config: ConfigFactory, fake_stream: str) -> None:
    async def main() -> None:
        async with Producer(fake_config(record_max_buffered_time_ms=BUFFERED)) as producer:
            outcome = await producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
            waits = [asyncio.ensure_future(outcome.wait()) for _ in range(5)]
            await asyncio.sleep(0.05)
            assert not any(w.done() for w in waits)
            await producer.flush()
            results = await within(10, asyncio.gather(*waits))
            assert all(r.success and r == results[0] for r in results)

    run(main())


# Flush, close, outstanding_records


def test_flush_waits_until_every_record_put_before_it_is_resolved(fake_config: ConfigFactory, fake_stream: str) -> None:
    async def main() -> None:
        async with Producer(fake_config(record_max_buffered_time_ms=BUFFERED)) as producer:
            outcomes = [
                await producer.put_record(stream=fake_stream, partition_key=str(i), data=b"x") for i in range(20)
            ]
            assert producer.outstanding_records == 20
            assert not any(o.is_set() for o in outcomes)
            await within(10, producer.flush())
            assert producer.outstanding_records == 0
            assert all(o.is_set() for o in outcomes)
            assert all([(await o.wait()).success for o in outcomes])
            await within(10, producer.flush())  # nothing left

    run(main())


def test_exit_delivers_what_was_buffered_and_puts_after_it_raise(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED)

    async def main() -> None:
        async with Producer(config) as producer:
            outcomes = [
                await producer.put_record(stream=fake_stream, partition_key=str(i), data=b"%d" % i) for i in range(10)
            ]
        assert all(o.is_set() for o in outcomes)
        assert all([(await o.wait()).success for o in outcomes])
        assert producer.outstanding_records == 0
        for call in (
            lambda: producer.put_record(stream=fake_stream, partition_key="k", data=b"late"),
            lambda: producer.put_records(fake_stream, [("k", b"late")]),
            producer.flush,
        ):
            with pytest.raises(ProducerClosedError, match="not entered") as info:
                await call()
            assert isinstance(info.value, RuntimeError)
        with pytest.raises(ProducerClosedError):
            await producer.__aenter__()
        await producer.close()  # a second close is a no-op

    run(main())
    assert data_of(config, fake_stream) == sorted(b"%d" % i for i in range(10))


def test_put_before_aenter_raises_not_entered(fake_config: ConfigFactory, fake_stream: str) -> None:
    async def main() -> None:
        producer = Producer(fake_config())
        with pytest.raises(ProducerClosedError, match="not entered") as info:
            await producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        assert isinstance(info.value, RuntimeError)
        with pytest.raises(RuntimeError, match="not entered"):
            await producer.put_records(fake_stream, [("k", b"x")])
        with pytest.raises(RuntimeError, match="not entered"):
            await producer.flush()
        assert producer.outstanding_records == 0

    run(main())


async def holding_one_record(
    fake: FakeKinesis, config: ConfigFactory, stream: str, delay_ms: int
) -> tuple[Producer, Outcome]:
    """An entered Producer that buffers for long, holding one record put to stream, whose
    PutRecords request fake holds back for delay_ms."""
    inject_fault(fake.endpoint_url, Operation="PutRecords", DelayMillis=delay_ms)
    producer = Producer(config(record_max_buffered_time_ms=BUFFERED))
    await producer.__aenter__()
    return producer, await producer.put_record(stream=stream, partition_key="k", data=b"x")


def test_close_resolves_what_is_left_as_producer_closed(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    async def main() -> RecordResult:
        producer, outcome = await holding_one_record(fake_kinesis, fake_config, fake_stream, 5000)
        lag = LoopLag()
        started = time.monotonic()
        await producer.close(timeout=0.3)
        assert time.monotonic() - started < 3.0
        assert await lag.stop() < 0.2  # close waited on its thread, not on the loop
        result: RecordResult = await within(1, outcome.wait())
        return result

    result = run(main())
    assert not result.success
    assert result.error_code == "ProducerClosed"


def test_a_second_close_awaits_the_first(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    async def main() -> None:
        producer, outcome = await holding_one_record(fake_kinesis, fake_config, fake_stream, 1000)
        first = asyncio.ensure_future(producer.close(timeout=10))
        await asyncio.sleep(0.2)  # the first close is flushing, its request held back
        lag = LoopLag()
        started = time.monotonic()
        await producer.close()
        assert time.monotonic() - started > 0.5, "the second close returned while the first was flushing"
        assert outcome.is_set() and (await outcome.wait()).success
        assert await lag.stop() < 0.2  # it waited off the loop
        await within(5, first)

    run(main())


def test_close_does_not_wait_behind_a_flush_and_fails_puts_awaiting_room(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", DelayMillis=5000)

    async def main() -> None:
        producer = Producer(fake_config(record_max_buffered_time_ms=BUFFERED, max_outstanding_records=1))
        await producer.__aenter__()
        first = await producer.put_record(stream=fake_stream, partition_key="a", data=b"x")
        flushing = asyncio.ensure_future(producer.flush())
        blocked = asyncio.ensure_future(producer.put_record(stream=fake_stream, partition_key="b", data=b"y"))
        await asyncio.sleep(0.3)
        assert not flushing.done() and not blocked.done()
        started = time.monotonic()
        await producer.close(timeout=0.3)
        assert time.monotonic() - started < 3.0
        await within(3, flushing)  # close resolved every record: the flush is over, not failed
        with pytest.raises(ProducerClosedError, match="closed"):
            await within(3, blocked)
        result = await within(1, first.wait())
        assert result.error_code == "ProducerClosed"

    run(main())


def test_a_cancelled_close_still_delivers_and_closes(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED)

    async def main() -> None:
        producer = Producer(config)
        await producer.__aenter__()
        outcome = await producer.put_record(stream=fake_stream, partition_key="k", data=b"closing")
        closing = asyncio.ensure_future(producer.close())
        await asyncio.sleep(0)
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert (await within(10, outcome.wait())).success
        with pytest.raises(ProducerClosedError):
            await producer.put_record(stream=fake_stream, partition_key="k", data=b"late")

    run(main())
    assert data_of(config, fake_stream) == [b"closing"]


# Bad input


def test_bad_records_raise_like_sync_producer(fake_config: ConfigFactory, fake_stream: str) -> None:
    async def main() -> None:
        async with Producer(fake_config()) as producer:
            with pytest.raises(InvalidRecordError, match="partition_key"):
                await producer.put_record(stream=fake_stream, partition_key="", data=b"x")
            with pytest.raises(TypeError, match="data"):
                await producer.put_record(stream=fake_stream, partition_key="k", data=None)  # type: ignore[arg-type]
            with pytest.raises(InvalidRecordError, match="explicit_hash_key"):
                await producer.put_record(stream=fake_stream, partition_key="k", data=b"x", explicit_hash_key="-1")
            with pytest.raises(TypeError, match="tags"):
                await producer.put_record(stream=fake_stream, partition_key="k", data=b"x", tags=[42])  # type: ignore[list-item]
            outcome = await producer.put_record(
                stream=fake_stream, partition_key="k", data=memoryview(b"mv"), explicit_hash_key="0"
            )
            assert (await within(10, outcome.wait())).success
            assert producer.outstanding_records == 0

    run(main())


def test_tags_are_written_as_sync_producer_writes_them(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED, max_outstanding_records=2)

    async def main() -> None:
        async with Producer(config) as producer:

            async def put(data: bytes, tags: Any) -> Outcome:
                return await producer.put_record(stream=fake_stream, partition_key="tagged", data=data, tags=tags)

            outcomes = [await put(b"t1", [Tag("a", "1")]), await put(b"t2", {"b": None})]
            # The producer is full: this put waits for room, its tags a generator read once.
            third = asyncio.ensure_future(put(b"t3", (pair for pair in [("c", "3")])))
            await asyncio.sleep(0.3)
            assert not third.done()
            await within(10, producer.flush())
            outcomes += [await within(10, third), await put(b"t4", [("d", "4")])]
            await within(10, producer.flush())
            assert all([(await o.wait()).success for o in outcomes])

    run(main())
    stored = {r.data: r.tags for r in fake_kinesis.records(fake_stream)}
    assert stored == {
        b"t1": (Tag("a", "1"),),
        b"t2": (Tag("b", None),),
        b"t3": (Tag("c", "3"),),
        b"t4": (Tag("d", "4"),),
    }


# put_records


def test_put_records_gives_index_aligned_outcomes(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config()

    async def main() -> None:
        async with Producer(config) as producer:
            outcomes = await producer.put_records(fake_stream, [(str(i), b"b%d" % i) for i in range(30)])
            assert len(outcomes) == 30 and all(isinstance(o, Outcome) for o in outcomes)
            assert all([(await within(10, o.wait())).success for o in outcomes])
            with pytest.raises(InvalidRecordError, match=r"records\[2\]") as info:
                await producer.put_records(fake_stream, [("a", b"ok"), ("b", b"ok"), ("", b"bad")])
            assert info.value.index == 2  # type: ignore[attr-defined]
            assert len(info.value.outcomes) == 2  # type: ignore[attr-defined]
            with pytest.raises(TypeError, match="records must be an iterable"):
                await producer.put_records(fake_stream, None)  # type: ignore[arg-type]
            with pytest.raises(InvalidRecordError, match=r"^invalid record: stream") as info:
                await producer.put_records("bad name", [("a", b"1")])
            assert info.value.index is None  # type: ignore[attr-defined]
            await producer.flush()

    run(main())
    assert len(data_of(config, fake_stream)) == 32


def test_put_records_waits_for_room_then_puts_the_rest(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED, max_outstanding_records=3)

    async def main() -> None:
        async with Producer(config) as producer:
            batch = asyncio.ensure_future(producer.put_records(fake_stream, [(str(i), b"r%d" % i) for i in range(7)]))
            while not batch.done():  # each flush makes room for three more
                await asyncio.sleep(0.05)
                await within(10, producer.flush())
            outcomes = batch.result()
            await producer.flush()
            assert len(outcomes) == 7 and all([(await o.wait()).success for o in outcomes])

    run(main())
    assert data_of(config, fake_stream) == sorted(b"r%d" % i for i in range(7))


# Backpressure and cancellation


def test_a_full_producer_makes_put_await_room_without_stalling_the_loop(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED, max_outstanding_records=1)
    order: list[str] = []

    async def put(producer: Producer, name: str) -> Outcome:
        outcome = await producer.put_record(stream=fake_stream, partition_key=name, data=name.encode())
        order.append(name)
        return outcome

    async def main() -> None:
        async with Producer(config) as producer:
            first = await put(producer, "a")
            lag = LoopLag()
            second = asyncio.ensure_future(put(producer, "b"))
            await asyncio.sleep(0.01)
            third = asyncio.ensure_future(put(producer, "c"))
            await asyncio.sleep(0.5)
            assert not second.done() and not third.done()
            assert producer.outstanding_records == 1
            await within(10, producer.flush())  # a resolves: room for b, c still waits
            await within(10, asyncio.wait([second, third], return_when=asyncio.FIRST_COMPLETED))
            await asyncio.sleep(0.3)
            assert second.done() and not third.done()
            await within(10, producer.flush())
            await within(10, third)
            await producer.flush()
            for outcome in (first, second.result(), third.result()):
                assert (await outcome.wait()).success
            assert await lag.stop() < 0.2  # correctness, not speed: the loop kept running

    run(main())
    assert order == ["a", "b", "c"]
    assert data_of(config, fake_stream) == [b"a", b"b", b"c"]


def test_cancelling_a_put_that_awaits_room_puts_nothing(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED, max_outstanding_records=1)

    async def main() -> None:
        async with Producer(config) as producer:
            first = await producer.put_record(stream=fake_stream, partition_key="a", data=b"kept")
            blocked = asyncio.ensure_future(producer.put_record(stream=fake_stream, partition_key="b", data=b"dropped"))
            await asyncio.sleep(0.3)
            assert not blocked.done()
            blocked.cancel()
            with pytest.raises(asyncio.CancelledError):
                await blocked
            await asyncio.sleep(0.5)  # past the waiting thread's slice
            assert producer.outstanding_records == 1
            await within(10, producer.flush())
            assert (await first.wait()).success
            after = await producer.put_record(stream=fake_stream, partition_key="c", data=b"after")
            await within(10, producer.flush())
            assert (await after.wait()).success
            assert producer.outstanding_records == 0
            assert producer.stats().records_put == 2

    run(main())
    assert data_of(config, fake_stream) == [b"after", b"kept"]


def test_cancelling_a_wait_cancels_only_the_wait(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED)

    async def main() -> None:
        async with Producer(config) as producer:
            outcome = await producer.put_record(stream=fake_stream, partition_key="k", data=b"delivered")
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(outcome.wait(), 0.2)
            assert not outcome.is_set()
            assert producer.outstanding_records == 1
            await within(10, producer.flush())
            assert outcome.is_set()
            assert (await outcome.wait()).success

    run(main())
    assert data_of(config, fake_stream) == [b"delivered"]


# Several loops, fork, exit, Ctrl-C


def test_producers_on_loops_in_two_threads_and_one_shared_by_both(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config()
    errors: list[BaseException] = []

    async def own_and_shared(name: str, shared: Producer) -> None:
        async with Producer(config) as own:
            for producer in (own, shared):
                outcomes = [
                    await producer.put_record(
                        stream=fake_stream, partition_key=str(i), data=b"%s-%d" % (name.encode(), i)
                    )
                    for i in range(100)
                ]
                assert all([(await within(10, o.wait())).success for o in outcomes])

    def thread_main(name: str, shared: Producer) -> None:
        try:
            asyncio.run(own_and_shared(name, shared)) if name == "t1" else uvloop.run(own_and_shared(name, shared))
        except BaseException as exc:
            errors.append(exc)

    async def main() -> None:
        async with Producer(config) as shared:
            threads = [threading.Thread(target=thread_main, args=(name, shared)) for name in ("t1", "t2")]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                await asyncio.sleep(0.02)

    run(main())
    assert errors == []
    assert len(data_of(config, fake_stream)) == 400


def forked_child(config: Config, stream: str, parents: Producer, answer: Any) -> None:
    """In a child forked after the library loaded, while a put of the parent's awaited room:
    every use says ForkedProcessError, none hangs."""

    async def attempt(name: str, call: Callable[[], Awaitable[Any]]) -> str:
        try:
            await asyncio.wait_for(call(), 10)
        except ForkedProcessError as exc:
            return name if "fork" in str(exc) else repr(exc)
        except BaseException as exc:
            return f"{name}: {exc!r}"
        return f"{name}: no error"

    async def new_producer() -> None:
        async with Producer(config) as fresh:
            await fresh.put_record(stream=stream, partition_key="k", data=b"x")

    async def attempts() -> list[str]:
        return [
            await attempt("put", lambda: parents.put_record(stream=stream, partition_key="k", data=b"x")),
            await attempt("flush", parents.flush),
            await attempt("new", new_producer),
        ]

    try:
        answer.put(asyncio.run(attempts()))
    except BaseException as exc:
        answer.put([repr(exc)])


def test_a_forked_child_gets_forked_process_error(fake_config: ConfigFactory, fake_stream: str) -> None:
    config = fake_config(record_max_buffered_time_ms=BUFFERED, max_outstanding_records=1)
    context = multiprocessing.get_context("fork")

    async def main() -> list[str]:
        async with Producer(config) as producer:
            first = await producer.put_record(stream=fake_stream, partition_key="k", data=b"p1")
            blocked = asyncio.ensure_future(producer.put_record(stream=fake_stream, partition_key="k", data=b"p2"))
            await asyncio.sleep(0.2)
            assert not blocked.done()
            answer = context.Queue()
            child = context.Process(target=forked_child, args=(config, fake_stream, producer, answer))
            child.start()
            seen: list[str] = await asyncio.get_running_loop().run_in_executor(None, answer.get, True, 60)
            child.join(10)
            assert child.exitcode == 0
            # The parent is unaffected.
            await within(10, producer.flush())
            second = await within(10, blocked)
            await within(10, producer.flush())
            assert (await first.wait()).success and (await second.wait()).success
            return seen

    assert run(main()) == ["put", "flush", "new"]


CHILD_PRELUDE = """
import asyncio, os, sys, time
from gokpl import Config, Producer

URL, STREAM = os.environ["FAKE_URL"], os.environ["FAKE_STREAM"]
CONFIG = Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=60_000)
"""


def run_child(fake_kinesis: FakeKinesis, stream: str, body: str, interrupt: bool = False) -> str:
    env = dict(os.environ, FAKE_URL=fake_kinesis.endpoint_url, FAKE_STREAM=stream)
    script = CHILD_PRELUDE + textwrap.dedent(body)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        if interrupt:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "READY", line + (proc.stderr.read() if proc.stderr else "")
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    return out


def test_records_left_in_an_open_producer_are_flushed_at_exit(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    run_child(
        fake_kinesis,
        fake_stream,
        """
        async def main():
            producer = Producer(CONFIG)
            await producer.__aenter__()  # never closed
            for i in range(25):
                await producer.put_record(stream=STREAM, partition_key=str(i), data=b"exit-%d" % i)
            assert producer.outstanding_records == 25

        asyncio.run(main())
        """,
    )
    stored = sorted(r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream))
    assert stored == sorted(b"exit-%d" % i for i in range(25))


def test_ctrl_c_in_asyncio_run_flushes_on_the_way_out(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    out = run_child(
        fake_kinesis,
        fake_stream,
        """
        outcomes = []

        async def main():
            async with Producer(CONFIG) as producer:
                for i in range(25):
                    outcomes.append(await producer.put_record(stream=STREAM, partition_key=str(i), data=b"int-%d" % i))
                print("READY", flush=True)
                await outcomes[-1].wait()  # buffered for 60 s: pending until Ctrl-C

        try:
            asyncio.run(main())
        except KeyboardInterrupt:
            print("INTERRUPTED", sum(o.is_set() for o in outcomes), flush=True)
        """,
        interrupt=True,
    )
    assert "INTERRUPTED 25" in out
    stored = sorted(r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream))
    assert stored == sorted(b"int-%d" % i for i in range(25))


# Metrics


def test_metrics_and_stats_are_sync_producers(fake_config: ConfigFactory, fake_stream: str) -> None:
    async def main() -> tuple[list[Metric], int]:
        async with Producer(fake_config()) as producer:
            outcomes = await producer.put_records(fake_stream, [(str(i), b"m") for i in range(10)])
            for outcome in outcomes:
                await within(10, outcome.wait())
            return producer.metrics(), producer.stats().records_succeeded

    metrics, succeeded = run(main())
    assert succeeded == 10
    assert all(isinstance(m, Metric) for m in metrics)
    put = [m for m in metrics if m.name == "UserRecordsPut" and not m.dimensions]
    assert put and put[0].sum == 10
