"""Ctrl-C reaches a process blocked in wait, flush, close or a backpressured put.

Each case runs a script in a child process against the fake endpoint, sends
SIGINT once the script says it is about to block, and checks that
KeyboardInterrupt arrived within 300 ms and that the producer was still
usable afterwards (or, for close, closed cleanly). The latency is measured
from the parent's kill() to the child's except clause, both read from
CLOCK_MONOTONIC, which is one clock for every process on the machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import FakeKinesis

PRELUDE = """
import json, os, sys, time, urllib.request
from gokpl import Config, ProducerClosedError, SyncProducer

URL = os.environ["FAKE_URL"]
STREAM = os.environ["FAKE_STREAM"]

def slow_next_request(ms):
    body = json.dumps({"Operation": "PutRecords", "DelayMillis": ms}).encode()
    request = urllib.request.Request(URL + "/_kinesistest/faults", data=body, method="POST")
    urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request).read()

def blocking(call):
    print("BLOCKING", flush=True)
    try:
        call()
    except KeyboardInterrupt:
        print("INTERRUPTED", time.monotonic(), flush=True)
    else:
        print("RETURNED", flush=True)
        sys.exit(3)
"""

CASES = {
    "wait": """
        producer = SyncProducer(Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=60_000))
        producer.__enter__()
        outcome = producer.put_record(stream=STREAM, partition_key="k", data=b"x")
        blocking(outcome.wait)
        producer.flush(timeout=10)
        assert outcome.wait(timeout=5).success
        again = producer.put_record(stream=STREAM, partition_key="k", data=b"y")
        producer.flush(timeout=10)
        assert again.wait(timeout=5).success
        producer.close()
        print("USABLE", flush=True)
    """,
    "flush": """
        producer = SyncProducer(Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=10))
        producer.__enter__()
        producer.put_record(stream=STREAM, partition_key="warm", data=b"x").wait(timeout=10)
        slow_next_request(1500)
        outcome = producer.put_record(stream=STREAM, partition_key="k", data=b"x")
        blocking(producer.flush)
        producer.flush(timeout=20)
        assert outcome.wait(timeout=5).success
        assert producer.put_record(stream=STREAM, partition_key="k", data=b"y").wait(timeout=10).success
        producer.close()
        print("USABLE", flush=True)
    """,
    "close": """
        producer = SyncProducer(Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=10))
        producer.__enter__()
        producer.put_record(stream=STREAM, partition_key="warm", data=b"x").wait(timeout=10)
        slow_next_request(10_000)
        outcome = producer.put_record(stream=STREAM, partition_key="k", data=b"x")
        time.sleep(0.1)
        blocking(producer.close)
        result = outcome.wait(timeout=5)  # resolved by the close that was interrupted
        assert result.success or result.error_code == "ProducerClosed", result
        try:
            producer.put_record(stream=STREAM, partition_key="k", data=b"y")
        except ProducerClosedError:
            pass
        producer.close()  # a no-op now
        print("USABLE", flush=True)
    """,
    "put": """
        config = Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=60_000,
                        max_outstanding_records=1)
        producer = SyncProducer(config)
        producer.__enter__()
        first = producer.put_record(stream=STREAM, partition_key="a", data=b"x")
        blocking(lambda: producer.put_record(stream=STREAM, partition_key="b", data=b"x"))
        producer.flush(timeout=10)
        assert first.wait(timeout=5).success
        second = producer.put_record(stream=STREAM, partition_key="c", data=b"y", timeout=5)
        producer.flush(timeout=10)
        assert second.wait(timeout=5).success
        producer.close()
        print("USABLE", flush=True)
    """,
}


# The native waits are sliced at 200 ms at most; a signal is handled when the
# slice ends, so the bound is the slice plus scheduling margin.
MAX_LATENCY_S = 0.3


def read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line and time.monotonic() > deadline:
        raise AssertionError("child said nothing in time")
    return line


# When SIGINT arrives after the call started: in the middle of the third
# 200 ms slice, and just after the third began (the worst case: almost a
# whole slice to wait).
PHASES = {"mid-slice": 0.5, "slice-start": 0.41}


@pytest.mark.parametrize("phase", sorted(PHASES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_sigint_interrupts_a_blocking_call_promptly(
    case: str, phase: str, fake_kinesis: FakeKinesis, fake_stream: str
) -> None:
    script = PRELUDE + textwrap.dedent(CASES[case])
    env = dict(os.environ, FAKE_URL=fake_kinesis.endpoint_url, FAKE_STREAM=fake_stream)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert read_line(proc, time.monotonic() + 30) == "BLOCKING"
        time.sleep(PHASES[phase])  # well inside the blocking call
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        line = read_line(proc, sent + 10)
        word, _, caught = line.partition(" ")
        assert word == "INTERRUPTED", (line, proc.stderr.read() if proc.stderr else "")
        latency = float(caught) - sent
        assert latency < MAX_LATENCY_S, f"KeyboardInterrupt took {latency * 1000:.0f} ms"
        print(f"SIGINT during {case} ({phase}): KeyboardInterrupt after {latency * 1000:.1f} ms")
        # Read on through the same buffered pipe: communicate() would miss
        # what readline has already buffered.
        assert proc.stdout is not None and proc.stderr is not None
        out = proc.stdout.read()
        err = proc.stderr.read()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.split() == ["USABLE"], (out, err)
