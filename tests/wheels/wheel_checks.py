#!/usr/bin/env python3
"""Run-test an installed gokpl: the checks a built wheel must pass on its platform.

    python wheel_checks.py [--sigint-bound SECONDS] [--only NAME ...]

Runs against whatever ``import gokpl`` finds (a wheel installed in a
virtualenv, or a development install), with gokpl.testing.FakeKinesis, the
fake endpoint the package ships, on 127.0.0.1: no other network. Needs
nothing beyond gokpl and its dependencies. Each check runs in a child
process of its own (this script, re-run with ``--child NAME``), so a crash
or a hang fails that check alone, within a time limit. Prints one line per
check and a PASS/FAIL summary with timings; exits 1 if any check failed.

The checks: the README's quick start; put, wait, cancel and flush; done
callbacks; a forked child touching gokpl gets ForkedProcessError and the
parent keeps working; a multiprocessing 'spawn' child produces records;
SIGINT to a process blocked in wait() raises KeyboardInterrupt within
``--sigint-bound`` seconds and leaves the producer usable; records still
buffered at interpreter exit are delivered by the exit flush.

Under emulation (qemu user mode) everything is slower: the harness that
runs this under qemu passes a larger ``--sigint-bound`` and CHECK_TIMEOUT
scales the per-check limit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
import traceback
from typing import Callable

CHECK_TIMEOUT = float(os.environ.get("GOKPL_CHECK_TIMEOUT", "120"))


def fail(message: str) -> None:
    raise AssertionError(message)


# -- checks that run inside one child process each -------------------------


def check_quick_start() -> str:
    from gokpl import SyncProducer
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"orders": 2}) as kinesis:
        with SyncProducer(kinesis.config()) as producer:
            result = producer.put_record(stream="orders", partition_key="user-1", data=b"hello").wait(timeout=30)
        assert result.success, result
        [record] = kinesis.records("orders")
        assert (record.partition_key, record.data, record.shard_id) == ("user-1", b"hello", result.shard_id), record
        assert result.shard_id == kinesis.shard_for("orders", "user-1"), result
    return f"shard {result.shard_id}, sequence {result.sequence_number}"


def check_put_wait_cancel_flush() -> str:
    from gokpl import SyncOutcomeCancelled, SyncProducer
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"s": 4}) as kinesis:
        # A long buffering time: nothing is sent until flush, so cancel withdraws a record.
        with SyncProducer(kinesis.config(record_max_buffered_time_ms=60_000)) as producer:
            outcomes = [producer.put_record(stream="s", partition_key=f"k{i}", data=b"r-%d" % i) for i in range(1000)]
            doomed = producer.put_record(stream="s", partition_key="gone", data=b"cancelled")
            assert not doomed.done()
            assert doomed.cancel() is True
            assert doomed.cancel() is False  # already resolved
            try:
                doomed.wait(timeout=5)
            except SyncOutcomeCancelled:
                pass
            else:
                fail("wait() on a cancelled outcome returned")
            try:
                outcomes[0].wait(timeout=0.05)
            except TimeoutError:
                pass
            else:
                fail("a record buffered for 60 s resolved before flush")
            started = time.monotonic()
            producer.flush(timeout=60)
            flushed = time.monotonic() - started
            assert all(o.done() for o in outcomes)
            results = [o.wait(timeout=1) for o in outcomes]
            assert all(r.success for r in results), [r for r in results if not r.success][:3]
            # The producer goes on after a flush.
            late = producer.put_record(stream="s", partition_key="late", data=b"late")
            producer.flush(timeout=60)
            assert late.wait(timeout=1).success
        stored = {r.data for r in kinesis.records("s")}
    expected = {b"r-%d" % i for i in range(1000)} | {b"late"}
    assert stored == expected, (len(stored), sorted(stored - expected)[:3], sorted(expected - stored)[:3])
    return f"1000 records flushed in {flushed * 1000:.0f} ms, the cancelled one never sent"


def check_done_callbacks() -> str:
    import threading

    from gokpl import SyncProducer
    from gokpl.testing import FakeKinesis

    calls: list[tuple[str, bool, str]] = []
    lock = threading.Lock()
    all_done = threading.Event()
    n = 200

    def callback(outcome: object) -> None:
        result = outcome.wait()  # type: ignore[attr-defined]
        with lock:
            calls.append((threading.current_thread().name, result.success, result.shard_id))
            if len(calls) == n:
                all_done.set()

    with FakeKinesis({"s": 2}) as kinesis:
        with SyncProducer(kinesis.config(record_max_buffered_time_ms=20)) as producer:
            outcomes = [producer.put_record(stream="s", partition_key=f"k{i}", data=b"x") for i in range(n)]
            for outcome in outcomes:
                outcome.add_done_callback(callback)
            assert all_done.wait(60), f"{len(calls)} of {n} callbacks ran"
            # On a done outcome, the callback runs at once in the calling thread.
            ran_here: list[str] = []
            outcomes[0].add_done_callback(lambda o: ran_here.append(threading.current_thread().name))
            assert ran_here == [threading.current_thread().name], ran_here
    assert all(ok for _, ok, _ in calls), calls[:3]
    threads = sorted({name for name, _, _ in calls})
    assert threading.main_thread().name not in threads, threads
    return f"{n} callbacks on {', '.join(threads)}"


def check_fork() -> str:
    from gokpl import ForkedProcessError, SyncProducer
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"s": 1}) as kinesis:
        with SyncProducer(kinesis.config(record_max_buffered_time_ms=10)) as producer:
            assert producer.put_record(stream="s", partition_key="k", data=b"before").wait(timeout=30).success
            read, write = os.pipe()
            pid = os.fork()
            if pid == 0:  # the child: the library was loaded before the fork
                os.close(read)
                started = time.monotonic()
                try:
                    producer.put_record(stream="s", partition_key="k", data=b"child").wait(timeout=10)
                    report = {"error": None}
                except ForkedProcessError as exc:
                    report = {"error": "ForkedProcessError", "message": str(exc)}
                except BaseException as exc:  # reported to the parent
                    report = {"error": type(exc).__name__, "message": str(exc)}
                report["seconds"] = time.monotonic() - started
                os.write(write, json.dumps(report).encode())
                os.close(write)
                os._exit(0)
            os.close(write)
            chunks = []
            while True:
                chunk = os.read(read, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(read)
            deadline = time.monotonic() + 30
            while True:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    fail("the forked child did not exit")
                time.sleep(0.02)
            assert os.waitstatus_to_exitcode(status) == 0, status
            report = json.loads(b"".join(chunks) or b"{}")
            assert report.get("error") == "ForkedProcessError", report
            assert "spawn" in report["message"], report
            # The parent keeps working.
            assert producer.put_record(stream="s", partition_key="k", data=b"after").wait(timeout=30).success
        stored = sorted(r.data for r in kinesis.records("s"))
    assert stored == [b"after", b"before"], stored
    return f"child got ForkedProcessError after {report['seconds'] * 1000:.1f} ms; parent still puts"


def spawn_child(url: str, stream: str, count: int, queue: object) -> None:
    from gokpl import Config, SyncProducer

    config = Config(region="us-east-1", endpoint_url=url, record_max_buffered_time_ms=10)
    with SyncProducer(config) as producer:
        outcomes = [
            producer.put_record(stream=stream, partition_key=f"c{i}", data=b"spawned-%d" % i) for i in range(count)
        ]
        ok = sum(o.wait(timeout=30).success for o in outcomes)
    queue.put(ok)  # type: ignore[attr-defined]


def check_spawn() -> str:
    import multiprocessing as mp

    from gokpl import SyncProducer
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"s": 2}) as kinesis:
        with SyncProducer(kinesis.config(record_max_buffered_time_ms=10)) as producer:
            # The parent has loaded the library: spawn starts a fresh interpreter.
            assert producer.put_record(stream="s", partition_key="p", data=b"parent").wait(timeout=30).success
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            started = time.monotonic()
            child = ctx.Process(target=spawn_child, args=(kinesis.endpoint_url, "s", 100, queue))
            child.start()
            ok = queue.get(timeout=CHECK_TIMEOUT / 2)
            child.join(30)
            took = time.monotonic() - started
            assert child.exitcode == 0, child.exitcode
            assert ok == 100, ok
            assert producer.put_record(stream="s", partition_key="p", data=b"parent-after").wait(timeout=30).success
        stored = {r.data for r in kinesis.records("s")}
    assert stored == {b"spawned-%d" % i for i in range(100)} | {b"parent", b"parent-after"}, len(stored)
    return f"spawn child put 100 records in {took:.2f} s (start included)"


SIGINT_SCRIPT = """
import os, sys, time
from gokpl import Config, SyncProducer
producer = SyncProducer(Config(region="us-east-1", endpoint_url=os.environ["FAKE_URL"],
                               record_max_buffered_time_ms=60_000))
producer.__enter__()
outcome = producer.put_record(stream="s", partition_key="k", data=b"x")
print("BLOCKING", flush=True)
try:
    outcome.wait()
except KeyboardInterrupt:
    print("INTERRUPTED", time.monotonic(), flush=True)
else:
    print("RETURNED", flush=True)
    sys.exit(3)
producer.flush(timeout=30)
assert outcome.wait(timeout=5).success
again = producer.put_record(stream="s", partition_key="k", data=b"y")
producer.flush(timeout=30)
assert again.wait(timeout=5).success
producer.close()
print("USABLE", flush=True)
"""


def check_sigint(bound: float) -> str:
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"s": 1}) as kinesis:
        env = dict(os.environ, FAKE_URL=kinesis.endpoint_url)
        proc = subprocess.Popen(
            [sys.executable, "-c", SIGINT_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        try:
            assert proc.stdout is not None and proc.stderr is not None
            line = proc.stdout.readline().strip()
            assert line == "BLOCKING", (line, proc.stderr.read())
            time.sleep(0.5)  # well inside wait()
            sent = time.monotonic()
            proc.send_signal(signal.SIGINT)
            line = proc.stdout.readline().strip()
            word, _, caught = line.partition(" ")
            assert word == "INTERRUPTED", (line, proc.stderr.read())
            latency = float(caught) - sent
            out = proc.stdout.read()
            err = proc.stderr.read()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert out.split() == ["USABLE"], (out, err)
        assert latency < bound, f"KeyboardInterrupt took {latency * 1000:.0f} ms (bound {bound * 1000:.0f} ms)"
        stored = sorted(r.data for r in kinesis.records("s"))
    assert stored == [b"x", b"y"], stored
    return f"KeyboardInterrupt after {latency * 1000:.1f} ms (bound {bound * 1000:.0f}); producer usable after"


EXIT_SCRIPT = """
import os, time
from gokpl import Config, SyncProducer
p = SyncProducer(Config(region="us-east-1", endpoint_url=os.environ["FAKE_URL"],
                        record_max_buffered_time_ms=60_000), exit_timeout=30.0)
p.__enter__()
outcomes = [p.put_record(stream="s", partition_key=f"k{i}", data=b"exit-%d" % i) for i in range(200)]
outcomes[-1].add_done_callback(lambda o: print("CALLBACK", o.wait().success, flush=True))
print("EXITING", time.monotonic(), flush=True)
"""


def check_exit_flush() -> str:
    from gokpl.testing import FakeKinesis

    with FakeKinesis({"s": 2}) as kinesis:
        env = dict(os.environ, FAKE_URL=kinesis.endpoint_url)
        proc = subprocess.run(
            [sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, env=env, timeout=CHECK_TIMEOUT / 2
        )
        ended = time.monotonic()
        assert proc.returncode == 0, proc.stderr
        assert "Fatal Python error" not in proc.stderr and "panic" not in proc.stderr, proc.stderr
        lines = proc.stdout.split("\n")
        exiting = float(next(line for line in lines if line.startswith("EXITING")).split()[1])
        assert "CALLBACK True" in lines, proc.stdout
        stored = {r.data for r in kinesis.records("s")}
    assert stored == {b"exit-%d" % i for i in range(200)}, len(stored)
    return f"200 buffered records delivered at exit; {(ended - exiting) * 1000:.0f} ms from last line to process end"


CHECKS: dict[str, Callable[[argparse.Namespace], str]] = {
    "quick-start": lambda a: check_quick_start(),
    "put-wait-cancel-flush": lambda a: check_put_wait_cancel_flush(),
    "done-callbacks": lambda a: check_done_callbacks(),
    "fork": lambda a: check_fork(),
    "spawn": lambda a: check_spawn(),
    "sigint": lambda a: check_sigint(a.sigint_bound),
    "exit-flush": lambda a: check_exit_flush(),
}


# -- the driver -------------------------------------------------------------


def run_child(args: argparse.Namespace) -> int:
    try:
        detail = CHECKS[args.child](args)
    except BaseException:  # every failure is reported, not raised
        traceback.print_exc()
        return 1
    print("DETAIL " + detail, flush=True)
    return 0


def describe() -> str:
    """Where gokpl, its engine and its fake endpoint were found (nothing is loaded)."""
    import gokpl
    from gokpl import _native
    from gokpl.testing._fake import _default_binary

    return (
        f"python {platform.python_version()} on {platform.machine()} ({platform.system()}); "
        f"gokpl {_native.__version__} from {os.path.dirname(gokpl.__file__)}; "
        f"engine {_native.library_path()}; fake endpoint {_default_binary()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sigint-bound", type=float, default=0.3, help="seconds (default 0.3)")
    parser.add_argument("--only", nargs="*", choices=sorted(CHECKS), help="run only these checks")
    parser.add_argument("--child", choices=sorted(CHECKS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(args)

    # The children that build their own Config (the spawn child, the SIGINT
    # and exit scripts) take the fake endpoint's dummy credentials from the
    # environment, and never ask an instance metadata service.
    from gokpl import testing

    os.environ.update(
        AWS_ACCESS_KEY_ID=testing.ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=testing.SECRET_ACCESS_KEY,
        AWS_EC2_METADATA_DISABLED="true",
    )
    print(describe(), flush=True)
    names = args.only or list(CHECKS)
    results: list[tuple[str, bool, float, str]] = []
    total_start = time.monotonic()
    for name in names:
        command = [sys.executable, os.path.abspath(__file__), "--child", name, "--sigint-bound", str(args.sigint_bound)]
        started = time.monotonic()
        try:
            proc = subprocess.run(command, capture_output=True, text=True, timeout=CHECK_TIMEOUT)
            ok = proc.returncode == 0
            output = proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as exc:
            ok = False
            output = f"timed out after {CHECK_TIMEOUT:.0f} s\n" + str(exc.stdout or "") + str(exc.stderr or "")
        took = time.monotonic() - started
        details = [line[len("DETAIL ") :] for line in output.splitlines() if line.startswith("DETAIL ")]
        detail = details[-1] if ok and details else output.strip()
        results.append((name, ok, took, detail))
        print(f"{'PASS' if ok else 'FAIL'}  {name:<22} {took:7.2f} s  {detail if ok else ''}", flush=True)
        if not ok:
            print("      " + detail.replace("\n", "\n      "), flush=True)
    total = time.monotonic() - total_start
    failed = [name for name, ok, _, _ in results if not ok]
    print()
    print(
        f"{'FAIL' if failed else 'PASS'}: {len(results) - len(failed)} of {len(results)} checks passed "
        f"in {total:.1f} s on {platform.machine()}" + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
