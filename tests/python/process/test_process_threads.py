"""32 threads racing put, put_records, wait, cancel, add_done_callback, flush and close on one producer.

Runs in a child process, bounded in time: no crash, no deadlock, and every
outcome any thread got resolves (a result, or SyncOutcomeCancelled), and
every done-callback runs once per registration.
"""

from __future__ import annotations

import json

from conftest import FakeKinesis
from proc_support import child_env, lines_with, run_script

SCRIPT = """
import json, os, random, sys, threading, time
from gokpl import (Config, GokplError, ProducerClosedError, SyncOutcomeCancelled, SyncProducer)
URL, STREAM = os.environ["FAKE_URL"], os.environ["FAKE_STREAM"]

THREADS, SECONDS = 32, 2.0
producer = SyncProducer(Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=10,
                               max_outstanding_records=2000))
producer.__enter__()
outcomes, lock = [], threading.Lock()
calls, registered = {}, {}
errors, closed_errors = [], []
start = time.monotonic()

def called(outcome):
    with lock:
        calls[id(outcome)] = calls.get(id(outcome), 0) + 1

def worker(n):
    rng = random.Random(n)
    mine = []
    try:
        while time.monotonic() - start < SECONDS:
            op = rng.random()
            try:
                if op < 0.45:
                    data = b"x" * rng.randrange(1, 200)
                    mine.append(producer.put_record(stream=STREAM, partition_key=f"t{n}", data=data, timeout=0.5))
                elif op < 0.55:
                    mine += producer.put_records(STREAM, [(f"b{n}-{i}", b"y") for i in range(rng.randrange(1, 20))],
                                                 timeout=0.5)
                elif op < 0.7 and mine:
                    try:
                        rng.choice(mine).wait(timeout=0.05)
                    except (TimeoutError, SyncOutcomeCancelled):
                        pass
                elif op < 0.8 and mine:
                    rng.choice(mine).cancel()
                elif op < 0.88 and mine:
                    o = rng.choice(mine)
                    with lock:
                        registered[id(o)] = registered.get(id(o), 0) + 1
                    o.add_done_callback(called)
                elif op < 0.97:
                    try:
                        producer.flush(timeout=0.2)
                    except TimeoutError:
                        pass
                elif n == 0 and time.monotonic() - start > SECONDS / 2:
                    producer.close(timeout=0.5)  # everyone else now races a closed producer
                else:
                    producer.outstanding_records
            except ProducerClosedError:
                closed_errors.append(1)
    except BaseException as exc:
        errors.append(repr(exc))
    with lock:
        outcomes.extend(mine)

threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join(SECONDS + 20)
if any(t.is_alive() for t in threads):
    print("HUNG", sum(t.is_alive() for t in threads), flush=True)
    os._exit(3)
producer.close(timeout=10)
unresolved = succeeded = failed = cancelled = 0
for o in outcomes:
    if not o.done():
        unresolved += 1
        continue
    try:
        r = o.wait(timeout=0)
        succeeded += r.success
        failed += not r.success
    except SyncOutcomeCancelled:
        cancelled += 1
deadline = time.monotonic() + 5
while time.monotonic() < deadline and calls != registered:
    time.sleep(0.05)
wrong = sum(calls.get(k, 0) != n for k, n in registered.items())
print("REPORT", json.dumps({"outcomes": len(outcomes), "unresolved": unresolved, "succeeded": succeeded,
      "failed": failed, "cancelled": cancelled, "errors": errors, "callbacks": sum(registered.values()),
      "callbacks_miscounted": wrong, "closed_errors": len(closed_errors)}), flush=True)
"""


def test_thirty_two_threads_race_on_one_producer(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    env = child_env(FAKE_URL=fake_kinesis.endpoint_url, FAKE_STREAM=fake_stream)
    proc = run_script(SCRIPT, env, timeout=90)
    assert "HUNG" not in proc.stdout, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Fatal Python error" not in proc.stderr and "panic" not in proc.stderr, proc.stderr
    report = json.loads(lines_with("REPORT", proc.stdout)[0])
    assert report["errors"] == [], report
    assert report["unresolved"] == 0, report
    assert report["outcomes"] == report["succeeded"] + report["failed"] + report["cancelled"], report
    assert report["succeeded"] > 1000 and report["cancelled"] > 0, report
    assert report["callbacks"] > 0 and report["callbacks_miscounted"] == 0, report
    assert report["closed_errors"] > 0, report  # the close happened while the others raced on
    print("32 threads:", report)
