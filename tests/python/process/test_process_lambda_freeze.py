"""What Lambda's freeze and thaw do to the engine: SIGSTOP and SIGCONT on a producer's process.

Between invocations Lambda freezes the execution environment (as SIGSTOP
does) and thaws it for the next one (SIGCONT), maybe minutes later. A child
process (scripts/lambda_freeze.py) plays the function: invocation 1 puts
and flushes; then records are put and not flushed, and the test stops the
child's process alone (the fake endpoint is this process's child, not the
producer's, and keeps running):

- a short freeze (1 s) with records buffered (record_max_buffered_time_ms
  is 500 ms), then invocation 2 puts and flushes;
- a long freeze (3 s, longer than the buffering time and than
  request_timeout_ms, 2 s) with one request in flight (the endpoint stores it
  and holds its answer back 5 s, as a request the service wrote whose answer
  the freeze outlives) and records buffered, then invocation 3 puts and
  flushes.

Every record resolves exactly once (one done callback), succeeds, and is in
the stream; each flush returns within a bound. A record stored twice must
have a RequestTimeout or ResponseLost among its attempts: that is the
at-least-once case (the request was written, its answer never came back, the
retry wrote it again), and the in-flight request is expected to take it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import fake_endpoint
from proc_support import HERE, child_env

STREAM = "frozen"
PER_PHASE = 20
FLUSH_BOUND = 5.0  # seconds; a flush here takes milliseconds, and one after a thaw a request timeout at most
LOST_ANSWER = {"RequestTimeout", "ResponseLost"}


class Function:
    """The child process, driven one command at a time."""

    def __init__(self, endpoint: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "scripts" / "lambda_freeze.py"), endpoint, STREAM],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.read() == "READY"

    def read(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"the child exited: {self.proc.wait(timeout=30)}, {self.proc.stderr and self.proc.stderr.read()}"
        return line.strip()

    def command(self, text: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        return self.read()

    def put(self, phase: str) -> None:
        assert self.command(f"put {phase} {PER_PHASE}") == f"PUT {phase}"

    def flush(self, phase: str) -> float:
        answer = self.command(f"flush {phase}").split()
        assert answer[:2] == ["FLUSHED", phase], answer
        return float(answer[2])

    def state(self) -> str:
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        return stat[stat.rindex(")") + 2]

    def freeze(self, seconds: float) -> float:
        """SIGSTOP the child (only it), keep it stopped for seconds, SIGCONT it; when it was thawed."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while self.state() != "T":
            assert time.monotonic() < deadline, "the child did not stop"
            time.sleep(0.005)
        time.sleep(seconds)
        thawed = time.monotonic()
        os.kill(self.proc.pid, signal.SIGCONT)
        return thawed


def put_requests(fake: Any) -> int:
    return int(fake.requests().get("PutRecords", 0))


def test_frozen_and_thawed_producer_resolves_every_record_once_and_keeps_working() -> None:
    fake = fake_endpoint({STREAM: 2})
    function: Function | None = None
    try:
        function = Function(fake.endpoint_url)
        flushes = {}
        function.put("inv1")
        flushes["inv1"] = function.flush("inv1")

        # Short freeze, records buffered.
        function.put("short")
        short_thawed = function.freeze(1.0)
        function.put("inv2")
        flushes["inv2"] = function.flush("inv2")

        # Long freeze, one request in flight (stored, its answer held back 5 s) and records buffered.
        fake.inject_fault(delay=5.0, applied=True, times=1)
        before = put_requests(fake)
        function.put("inflight")
        deadline = time.monotonic() + 10
        while put_requests(fake) == before:  # the request left after the 500 ms buffering time
            assert time.monotonic() < deadline, "the in-flight request never reached the endpoint"
            time.sleep(0.01)
        function.put("buffered")
        long_thawed = function.freeze(3.0)
        function.put("inv3")
        flushes["inv3"] = function.flush("inv3")

        report = json.loads(function.command("report"))
        assert function.proc.wait(timeout=30) == 0
        stored = Counter(r.data for r in fake.records(STREAM))
        placed = {(r.data, r.shard_id, r.sequence_number) for r in fake.records(STREAM)}
    finally:
        if function is not None and function.proc.poll() is None:
            function.proc.kill()
            function.proc.wait(timeout=10)
        fake.stop()

    records = report["records"]
    assert len(records) == 6 * PER_PHASE
    for r in records:
        data = r["data"].encode()
        assert r["callbacks"] == 1, r  # resolved exactly once
        assert r["success"], r
        retried = set(r["codes"][:-1])
        assert r["codes"][-1] is None and retried <= LOST_ANSWER | {"NetworkError"}, r
        assert (data, r["shard_id"], r["sequence_number"]) in placed, r  # where its result said
        copies = stored[data]
        if retried & LOST_ANSWER:
            assert 1 <= copies <= len(r["codes"]), r  # at least once: the lost answer's request was written
        else:
            assert copies == 1, r
    assert set(stored) == {r["data"].encode() for r in records}, "the stream holds only what was put"
    for phase, seconds in flushes.items():
        assert seconds < FLUSH_BOUND, (phase, flushes)

    by_phase: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_phase.setdefault(r["phase"], []).append(r)
    inflight = by_phase["inflight"]
    # The in-flight request outlived its 2 s timeout in the freeze: timed out at the thaw and sent again.
    assert all(r["codes"] == ["RequestTimeout", None] for r in inflight), [r["codes"] for r in inflight]
    assert all(stored[r["data"].encode()] == 2 for r in inflight)
    for phase in ("short", "buffered"):
        assert all(r["codes"] == [None] for r in by_phase[phase]), [r["codes"] for r in by_phase[phase]]
    after_short = max(r["done_at"] for r in by_phase["short"]) - short_thawed
    after_long = max(r["done_at"] for r in by_phase["buffered"] + inflight) - long_thawed
    print(
        f"flushes {flushes} s; buffered records resolved {after_short:.3f} s after the short thaw; "
        f"in-flight and buffered {after_long:.3f} s after the long thaw; "
        f"in-flight attempts {Counter(tuple(r['codes']) for r in inflight)}; "
        f"duplicates {sum(c - 1 for c in stored.values())}"
    )
