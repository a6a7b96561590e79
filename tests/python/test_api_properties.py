"""Random sequences of API calls, from several threads at once, against the fake endpoint.

Each example makes a stream and a producer, runs a few threads, each a
random program of put_record, put_records, flush, wait, cancel, done,
add_done_callback, outstanding_records, stats and close calls with random
arguments (wrong types and out-of-range values included), then closes the
producer and reads the stream back. It checks that

- only documented exceptions come out, and a TypeError or ValueError names
  its argument; a bad timeout is always refused, naming ``timeout``;
- a call whose arguments are all valid is refused only for a documented
  state (closed, full), and one with a bad argument never puts anything;
- every outcome resolves, once: each done-callback runs exactly once,
  cancel() returns True at most once, done() never goes back to False;
- every record accepted and not cancelled is read back from the stream
  exactly once and succeeded, or failed with ProducerClosed after a close
  began; nothing refused is read back.

The examples are fixed (derandomized, no example database), so a run is
repeatable.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import math
import threading
import time
import uuid
from typing import Any

from gokpl import (
    BackpressureTimeoutError,
    ProducerClosedError,
    ProducerStats,
    SyncOutcome,
    SyncOutcomeCancelled,
    SyncProducer,
)
from gokpl.testing import FakeKinesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID_TIMEOUTS: list[Any] = [None, 0, 0.02, -1.0, math.inf, 1e300, 5]
BAD_TIMEOUTS: list[Any] = [math.nan, "soon", True, [1]]
KEYS: list[Any] = ["k", "clé-é", "", "k" * 257, "\ud800", b"k", None]
VALID_KEYS = {"k", "clé-é"}
DATA_KINDS = ["bytes", "bytearray", "memoryview", "str", "none", "strided"]
VALID_DATA = {"bytes", "bytearray", "memoryview"}
HASH_KEYS: list[Any] = [None, "0", str(2**128 - 1), "-1", "", 5, "\udfff"]
VALID_HASH_KEYS = {None, "0", str(2**128 - 1)}
STREAMS: list[Any] = ["ok", "", None, "bad\ud800"]
RECORD_ARGUMENTS = ("stream", "partition_key", "data", "explicit_hash_key", "record")
THREAD_TIMEOUT_S = 60.0


def mostly(valid: st.SearchStrategy[Any], anything: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """valid four times in five, anything otherwise."""
    return st.sampled_from([True, True, True, True, False]).flatmap(lambda v: valid if v else anything)


# Mostly valid arguments, so that most examples put records; any argument
# otherwise. A record is (partition key, data kind, explicit hash key,
# whether put_records gets it as a tuple rather than a mapping).
timeouts = mostly(st.sampled_from(VALID_TIMEOUTS), st.sampled_from(VALID_TIMEOUTS + BAD_TIMEOUTS))
streams = mostly(st.just("ok"), st.sampled_from(STREAMS))
valid_records = st.tuples(
    st.sampled_from(sorted(VALID_KEYS)),
    st.sampled_from(sorted(VALID_DATA)),
    st.sampled_from([None, None, "0", str(2**128 - 1)]),
    st.booleans(),
)
any_records = st.tuples(st.sampled_from(KEYS), st.sampled_from(DATA_KINDS), st.sampled_from(HASH_KEYS), st.booleans())
records = mostly(valid_records, any_records)
index = st.integers(0, 1000)
OPERATIONS = {
    "put": st.tuples(st.just("put"), streams, records, timeouts),
    "put_records": st.tuples(st.just("put_records"), streams, st.lists(records, max_size=5), timeouts),
    "flush": st.tuples(st.just("flush"), timeouts),
    "wait": st.tuples(st.just("wait"), index, timeouts),
    "cancel": st.tuples(st.just("cancel"), index),
    "done": st.tuples(st.just("done"), index),
    "callback": st.tuples(st.just("callback"), index, st.sampled_from(["fn", "fn", None, 5])),
    "outstanding": st.tuples(st.just("outstanding")),
    "stats": st.tuples(st.just("stats")),
    "close": st.tuples(st.just("close"), st.sampled_from(BAD_TIMEOUTS)),  # refused: the producer stays open
}
# Puts most of the time, every other call now and then.
WEIGHTS = {"put": 8, "put_records": 3, "wait": 2, "cancel": 1, "done": 1, "callback": 1, "flush": 1}
operations = st.sampled_from([name for name in OPERATIONS for _ in range(WEIGHTS.get(name, 1))]).flatmap(
    OPERATIONS.__getitem__
)
programs = st.lists(st.lists(operations, min_size=4, max_size=16), min_size=2, max_size=3)
# One close that may go through, at a random place in one program, or none.
closers = st.one_of(st.none(), st.tuples(st.integers(0, 2), st.integers(0, 16), timeouts))
configs = st.fixed_dictionaries(
    {
        "record_max_buffered_time_ms": st.sampled_from([1, 20]),
        "aggregation_enabled": st.booleans(),
        "max_outstanding_records": st.sampled_from([3, 100_000]),
    }
)


def is_one_of(value: Any, choices: list[Any]) -> bool:
    """Identity, not equality: True == 1 and 0 == False must not count."""
    return any(value is choice for choice in choices)


def unbounded(timeout: Any) -> bool:
    return timeout is None or timeout >= 1e300


def valid_record(key: Any, kind: str, hash_key: Any) -> bool:
    return key in VALID_KEYS and kind in VALID_DATA and hash_key in VALID_HASH_KEYS


def data_of(kind: str, uid: bytes) -> Any:
    return {
        "bytes": lambda: uid,
        "bytearray": lambda: bytearray(uid),
        "memoryview": lambda: memoryview(uid),
        "str": lambda: uid.decode(),
        "none": lambda: None,
        "strided": lambda: memoryview(uid + uid)[::2],
    }[kind]()


class CallCounter:
    """A done-callback that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, outcome: SyncOutcome) -> None:
        with self.lock:
            self.calls += 1


@dataclasses.dataclass
class Tracked:
    """An outcome a put returned, with what the threads saw of it."""

    outcome: SyncOutcome
    uid: bytes
    counters: list[CallCounter] = dataclasses.field(default_factory=list)
    cancel_wins: int = 0
    saw_cancelled: bool = False
    saw_done: bool = False
    results: list[Any] = dataclasses.field(default_factory=list)


class Run:
    """One example: a producer, its stream, and what every thread saw."""

    def __init__(self, producer: SyncProducer, stream: str) -> None:
        self.producer = producer
        self.stream = stream
        self.lock = threading.Lock()
        self.tracked: list[Tracked] = []
        self.refused: set[bytes] = set()
        self.violations: list[str] = []
        self.close_started: float | None = None
        self.uids = itertools.count()

    # Bookkeeping

    def uid(self) -> bytes:
        return f"{self.stream}:{next(self.uids)}".encode()

    def track(self, outcome: SyncOutcome, uid: bytes) -> None:
        counter = CallCounter()
        entry = Tracked(outcome, uid, [counter])
        with self.lock:
            self.tracked.append(entry)
        outcome.add_done_callback(counter)

    def pick(self, i: int) -> Tracked | None:
        with self.lock:
            return self.tracked[i % len(self.tracked)] if self.tracked else None

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def expect_refusal(self, what: str, exc: Exception, names: tuple[str, ...]) -> None:
        """exc must be a TypeError or ValueError whose message names one of names."""
        if not isinstance(exc, (TypeError, ValueError)) or not any(n in str(exc) for n in names):
            self.violation(f"{what}: {type(exc).__name__}({exc}) does not name one of {names}")

    def expect_types(self, what: str, exc: Exception, allowed: tuple[type[Exception], ...]) -> None:
        if not isinstance(exc, allowed):
            self.violation(f"{what}: undocumented {type(exc).__name__}({exc})")

    # The operations

    def run(self, program: list[tuple[Any, ...]]) -> None:
        for op in program:
            try:
                getattr(self, "op_" + op[0])(*op[1:])
            except Exception as exc:  # a bug in this harness, or an exception nothing expected
                self.violation(f"{op}: escaped {type(exc).__name__}({exc})")

    def op_put(self, stream: Any, record: tuple[Any, ...], timeout: Any) -> None:
        key, kind, hash_key, _ = record
        uid = self.uid()
        what = f"put_record(stream={stream!r}, key={key!r}, data={kind}, hash={hash_key!r}, timeout={timeout!r})"
        try:
            outcome = self.producer.put_record(
                stream=self.stream if stream == "ok" else stream,
                partition_key=key,
                data=data_of(kind, uid),
                explicit_hash_key=hash_key,
                timeout=timeout,
            )
        except Exception as exc:
            self.refused.add(uid)
            self.check_put_refusal(what, exc, stream == "ok" and valid_record(key, kind, hash_key), timeout)
            return
        if not (is_one_of(timeout, VALID_TIMEOUTS) and stream == "ok" and valid_record(key, kind, hash_key)):
            self.violation(f"{what} returned an outcome")
        self.track(outcome, uid)

    def check_put_refusal(self, what: str, exc: Exception, valid: bool, timeout: Any) -> None:
        self.expect_types(what, exc, (TypeError, ValueError, ProducerClosedError, BackpressureTimeoutError))
        if not is_one_of(timeout, VALID_TIMEOUTS):
            self.expect_refusal(what, exc, ("timeout",))
        elif valid:
            if not isinstance(exc, (ProducerClosedError, BackpressureTimeoutError)) or (
                unbounded(timeout) and isinstance(exc, BackpressureTimeoutError)
            ):
                self.violation(f"{what}: valid, refused with {type(exc).__name__}({exc})")
        elif not isinstance(exc, ProducerClosedError):
            self.expect_refusal(what, exc, RECORD_ARGUMENTS)

    def op_put_records(self, stream: Any, batch: list[tuple[Any, ...]], timeout: Any) -> None:
        uids = [self.uid() for _ in batch]
        entries: list[Any] = []
        for (key, kind, hash_key, as_tuple), uid in zip(batch, uids):
            data = data_of(kind, uid)
            if as_tuple:
                entries.append((key, data) if hash_key is None else (key, data, hash_key))
            else:
                entries.append({"partition_key": key, "data": data, "explicit_hash_key": hash_key})
        first_bad = next((i for i, (k, d, h, _) in enumerate(batch) if not valid_record(k, d, h)), len(batch))
        what = f"put_records(stream={stream!r}, {batch!r}, timeout={timeout!r})"
        try:
            outcomes = self.producer.put_records(self.stream if stream == "ok" else stream, entries, timeout=timeout)
        except Exception as exc:
            put = list(getattr(exc, "outcomes", []))
            for outcome, uid in zip(put, uids):
                self.track(outcome, uid)
            self.refused.update(uids[len(put) :])
            self.check_batch_refusal(what, exc, stream, timeout, first_bad, len(put))
            return
        if first_bad < len(batch) or (batch and stream != "ok") or not is_one_of(timeout, VALID_TIMEOUTS):
            self.violation(f"{what} returned outcomes")
        for outcome, uid in zip(outcomes, uids):
            self.track(outcome, uid)

    def check_batch_refusal(
        self, what: str, exc: Exception, stream: Any, timeout: Any, first_bad: int, put: int
    ) -> None:
        self.expect_types(what, exc, (TypeError, ValueError, ProducerClosedError, BackpressureTimeoutError))
        if not is_one_of(timeout, VALID_TIMEOUTS):
            self.expect_refusal(what, exc, ("timeout",))
            if put:
                self.violation(f"{what}: {put} records put before a bad timeout was refused")
        elif isinstance(exc, (TypeError, ValueError)):
            self.expect_refusal(what, exc, RECORD_ARGUMENTS)
            if stream == "ok" and (getattr(exc, "index", None) != first_bad or put != first_bad):
                self.violation(
                    f"{what}: refused at {getattr(exc, 'index', None)} with {put} put, first bad {first_bad}"
                )

    def op_flush(self, timeout: Any) -> None:
        try:
            self.producer.flush(timeout)
        except Exception as exc:
            self.check_wait_refusal(f"flush({timeout!r})", exc, timeout, (TimeoutError, ProducerClosedError))
        else:
            if not is_one_of(timeout, VALID_TIMEOUTS):
                self.violation(f"flush({timeout!r}) returned")

    def check_wait_refusal(self, what: str, exc: Exception, timeout: Any, allowed: tuple[type[Exception], ...]) -> None:
        if not is_one_of(timeout, VALID_TIMEOUTS):
            self.expect_refusal(what, exc, ("timeout",))
            return
        self.expect_types(what, exc, allowed)
        if isinstance(exc, TimeoutError) and unbounded(timeout):
            self.violation(f"{what}: TimeoutError without a limit")

    def op_wait(self, i: int, timeout: Any) -> None:
        entry = self.pick(i)
        if entry is None:
            return
        try:
            result = entry.outcome.wait(timeout)
        except SyncOutcomeCancelled:
            entry.saw_cancelled = True
            if not is_one_of(timeout, VALID_TIMEOUTS):
                self.violation(f"wait({timeout!r}) on a cancelled outcome: SyncOutcomeCancelled before the timeout")
        except Exception as exc:
            self.check_wait_refusal(f"wait({timeout!r})", exc, timeout, (TimeoutError,))
        else:
            if not is_one_of(timeout, VALID_TIMEOUTS):
                self.violation(f"wait({timeout!r}) returned")
            entry.results.append(result)

    def op_cancel(self, i: int) -> None:
        entry = self.pick(i)
        if entry is not None and entry.outcome.cancel():
            with self.lock:
                entry.cancel_wins += 1

    def op_done(self, i: int) -> None:
        entry = self.pick(i)
        if entry is None:
            return
        done = entry.outcome.done()
        if entry.saw_done and not done:
            self.violation("done() went back to False")
        entry.saw_done = entry.saw_done or done

    def op_callback(self, i: int, fn: Any) -> None:
        entry = self.pick(i)
        if entry is None:
            return
        if fn != "fn":
            try:
                entry.outcome.add_done_callback(fn)
            except Exception as exc:
                self.expect_refusal(f"add_done_callback({fn!r})", exc, ("fn",))
            else:
                self.violation(f"add_done_callback({fn!r}) accepted")
            return
        counter = CallCounter()
        with self.lock:
            entry.counters.append(counter)
        entry.outcome.add_done_callback(counter)

    def op_outstanding(self) -> None:
        if self.producer.outstanding_records < 0:
            self.violation("outstanding_records < 0")

    def op_stats(self) -> None:
        try:
            stats = self.producer.stats()
        except ProducerClosedError:
            return
        if not isinstance(stats, ProducerStats):
            self.violation(f"stats() returned {stats!r}")

    def op_close(self, timeout: Any) -> None:
        if is_one_of(timeout, VALID_TIMEOUTS):
            with self.lock:
                self.close_started = self.close_started or time.time()
        try:
            self.producer.close(timeout)
        except Exception as exc:
            if is_one_of(timeout, VALID_TIMEOUTS):
                self.violation(f"close({timeout!r}): {type(exc).__name__}({exc})")
            else:
                self.expect_refusal(f"close({timeout!r})", exc, ("timeout",))
        else:
            if not is_one_of(timeout, VALID_TIMEOUTS):
                self.violation(f"close({timeout!r}) returned")

    # After the threads

    def check_outcomes(self, stored: collections.Counter[bytes]) -> None:
        for entry in self.tracked:
            self.check_outcome(entry, stored[entry.uid])
        tracked = {e.uid for e in self.tracked}
        for uid, n in stored.items():
            if uid not in tracked:
                self.violation(f"{uid!r} read back {n} times but never accepted (refused: {uid in self.refused})")

    def check_outcome(self, entry: Tracked, stored: int) -> None:
        calls = [c.calls for c in entry.counters]
        if any(n != 1 for n in calls):
            self.violation(f"{entry.uid!r}: callbacks ran {calls} times")
        if entry.cancel_wins > 1 or (entry.saw_cancelled and entry.cancel_wins != 1):
            self.violation(
                f"{entry.uid!r}: cancel() won {entry.cancel_wins} times, saw cancelled {entry.saw_cancelled}"
            )
        if not entry.outcome.done():
            self.violation(f"{entry.uid!r}: not done after close")
            return
        try:
            result = entry.outcome.wait(0)
        except SyncOutcomeCancelled:
            if entry.cancel_wins != 1 or stored > 1:
                self.violation(f"{entry.uid!r}: cancelled, cancel() won {entry.cancel_wins}, read back {stored}")
            return
        if entry.cancel_wins or any(r.success != result.success for r in entry.results):
            self.violation(f"{entry.uid!r}: {result!r} after cancel wins {entry.cancel_wins}, waits {entry.results}")
        if result.success:
            if stored != 1:
                self.violation(f"{entry.uid!r}: succeeded, read back {stored} times")
            return
        ended = result.attempts[-1].ended_at if result.attempts else 0.0
        if result.error_code != "ProducerClosed" or self.close_started is None or ended < self.close_started - 0.05:
            self.violation(f"{entry.uid!r}: failed {result!r} (close began at {self.close_started})")
        elif stored > 1:
            self.violation(f"{entry.uid!r}: failed as closed, read back {stored} times")


def wait_for_callbacks(run: Run, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(c.calls for e in run.tracked for c in e.counters):
            return
        time.sleep(0.01)


def play(fake: FakeKinesis, config: dict[str, Any], threads: list[list[tuple[Any, ...]]]) -> list[str]:
    """Run the programs at once on a fresh stream and producer; return the violations."""
    stream = f"p-{uuid.uuid4().hex[:10]}"
    fake.create_stream(stream, 2)
    producer = SyncProducer(fake.config(**config)).__enter__()
    run = Run(producer, stream)
    workers = [threading.Thread(target=run.run, args=(program,), daemon=True) for program in threads]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(THREAD_TIMEOUT_S)
        if worker.is_alive():
            run.violation(f"a thread was still running after {THREAD_TIMEOUT_S} s")
    with run.lock:
        run.close_started = run.close_started or time.time()
    producer.close(timeout=30)
    wait_for_callbacks(run, 10)
    stored = collections.Counter(r.data for r in fake.records(stream))
    run.check_outcomes(stored)
    fake.delete_stream(stream)
    return run.violations


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config=configs, threads=programs, closer=closers)
def test_random_calls_from_threads_keep_the_promises(
    fake_kinesis: FakeKinesis,
    config: dict[str, Any],
    threads: list[list[tuple[Any, ...]]],
    closer: tuple[int, int, Any] | None,
) -> None:
    threads = [list(program) for program in threads]
    if closer is not None:
        thread, position, timeout = closer
        program = threads[thread % len(threads)]
        program.insert(min(position, len(program)), ("close", timeout))
    violations = play(fake_kinesis, config, threads)
    assert not violations, "\n".join(violations[:20])
