"""Interpreter exit: a producer left open is flushed within its exit_timeout, and the process exits 0.

Each script buffers for a minute (record_max_buffered_time_ms=60000), so only
the exit-time flush can send its records; the test reads the stream back.
"""

from __future__ import annotations

import textwrap
import time

from conftest import FakeKinesis
from proc_support import child_env, lines_with, run_script
from support import read_back

PRELUDE = """
import os, sys, threading, time
from gokpl import Config, SyncProducer
URL, STREAM = os.environ["FAKE_URL"], os.environ["FAKE_STREAM"]
def producer(**kw):
    exit_timeout = kw.pop("exit_timeout", 5.0)
    options = dict(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=60_000)
    options.update(kw)
    p = SyncProducer(Config(**options), exit_timeout=exit_timeout)
    p.__enter__()
    return p
"""


def run(code: str, fake: FakeKinesis, stream: str, timeout: float = 30) -> tuple[object, float]:
    """Run PRELUDE + code; return the process and the seconds from its EXITING line to its end."""
    env = child_env(FAKE_URL=fake.endpoint_url, FAKE_STREAM=stream)
    proc = run_script(PRELUDE + textwrap.dedent(code), env, timeout=timeout)
    ended = time.monotonic()
    assert "Fatal Python error" not in proc.stderr and "panic" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    exiting = float(lines_with("EXITING", proc.stdout)[0])
    return proc, ended - exiting


def test_records_put_and_never_flushed_are_sent_at_exit(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    proc, took = run(
        """
        p = producer()
        outcomes = [p.put_record(stream=STREAM, partition_key=f"k{i}", data=b"exit-%d" % i) for i in range(200)]
        # A callback still due at exit runs on the callback thread during the exit flush.
        outcomes[-1].add_done_callback(lambda o: print("CALLBACK", o.wait().success, flush=True))
        print("EXITING", time.monotonic(), flush=True)
        """,
        fake_kinesis,
        fake_stream,
    )
    datas = {r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream)}
    assert datas == {b"exit-%d" % i for i in range(200)}
    assert lines_with("CALLBACK", proc.stdout) == ["True"]  # type: ignore[attr-defined]
    assert took < 3.0, f"exit took {took:.2f}s"
    print(f"exit flush of 200 records: {took * 1000:.0f} ms from the last line to the process end")


def test_a_daemon_thread_still_putting_does_not_hang_or_crash_the_exit(
    fake_kinesis: FakeKinesis, fake_stream: str
) -> None:
    _proc, took = run(
        """
        p = producer(max_outstanding_records=500)
        first = [p.put_record(stream=STREAM, partition_key="main", data=b"main-%d" % i) for i in range(50)]
        def pump():
            i = 0
            while True:
                try:
                    p.put_record(stream=STREAM, partition_key=f"d{i}", data=b"daemon")
                except Exception as exc:  # ProducerClosedError once the exit hook closed it
                    print("PUMP-STOPPED", type(exc).__name__, flush=True)
                    return
                i += 1
        threading.Thread(target=pump, daemon=True).start()
        time.sleep(0.3)  # the pump fills the producer and blocks on backpressure
        print("EXITING", time.monotonic(), flush=True)
        """,
        fake_kinesis,
        fake_stream,
    )
    datas = [r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream)]
    assert {b"main-%d" % i for i in range(50)} <= set(datas)
    assert took < 3.0, f"exit took {took:.2f}s"
    print(f"exit with a daemon thread putting: {took * 1000:.0f} ms, {len(datas)} records flushed")


def test_an_unreachable_endpoint_bounds_the_exit_by_exit_timeout(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    proc, took = run(
        """
        p = producer(endpoint_url="http://127.0.0.1:1", exit_timeout=1.0)
        o = p.put_record(stream=STREAM, partition_key="k", data=b"x")
        o.add_done_callback(lambda o: print("CALLBACK", o.wait().error_code, flush=True))
        print("EXITING", time.monotonic(), flush=True)
        """,
        fake_kinesis,
        fake_stream,
    )
    assert 0.9 < took < 3.0, f"exit took {took:.2f}s with exit_timeout=1.0"
    assert lines_with("CALLBACK", proc.stdout) == ["ProducerClosed"]  # type: ignore[attr-defined]
    print(f"exit with an unreachable endpoint and exit_timeout=1.0: {took * 1000:.0f} ms")


def test_an_atexit_close_registered_after_the_producer_was_made_runs_before_the_hook(
    fake_kinesis: FakeKinesis, fake_stream: str
) -> None:
    # The pattern of the Flask note: the application registers its own
    # close at exit, which flushes for up to 30 s, before the first put. The
    # exit hook must not close the producer first with its shorter
    # exit_timeout.
    fake_kinesis.inject_fault(delay=1.5, applied=True, times=None)
    try:
        proc, took = run(
            """
            import atexit
            p = producer(exit_timeout=0.3)
            atexit.register(p.__exit__, None, None, None)
            o = p.put_record(stream=STREAM, partition_key="k", data=b"x")
            o.add_done_callback(lambda o: print("CALLBACK", o.wait().success, flush=True))
            print("EXITING", time.monotonic(), flush=True)
            """,
            fake_kinesis,
            fake_stream,
        )
    finally:
        fake_kinesis.clear_faults()
    assert lines_with("CALLBACK", proc.stdout) == ["True"], proc.stdout  # type: ignore[attr-defined]
    assert took > 1.0, f"exit took {took:.2f}s: the close did not wait for the slow request"


def test_close_before_exit_makes_the_hook_a_no_op(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    _proc, took = run(
        """
        import gokpl._exit
        p = producer(endpoint_url="http://127.0.0.1:1", exit_timeout=30.0)
        p.put_record(stream=STREAM, partition_key="k", data=b"x")
        p.close(timeout=0.1)
        assert not gokpl._exit._open
        print("EXITING", time.monotonic(), flush=True)
        """,
        fake_kinesis,
        fake_stream,
    )
    assert took < 1.0, f"exit took {took:.2f}s after an explicit close"


def test_exit_timeout_none_leaves_the_producer_alone(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    _proc, took = run(
        """
        p = producer(endpoint_url="http://127.0.0.1:1", exit_timeout=None)
        p.put_record(stream=STREAM, partition_key="k", data=b"x")
        print("EXITING", time.monotonic(), flush=True)
        """,
        fake_kinesis,
        fake_stream,
    )
    assert took < 1.0, f"exit took {took:.2f}s with the exit flush off"


def test_the_default_exit_timeout_is_five_seconds() -> None:
    from gokpl import Config, SyncProducer

    assert SyncProducer(Config(region="us-east-1"))._exit_timeout == 5.0
