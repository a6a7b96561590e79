"""multiprocessing with fork, spawn and forkserver, before and after the parent loaded the library.

A child that never had the library loaded before its start works, whatever
the start method. A child forked after the parent loaded it gets
ForkedProcessError (a GokplError) at once, naming the fix, and never hangs;
the parent keeps working. Each case is a script run as its own process.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from conftest import FakeKinesis
from proc_support import child_env, lines_with, run_script
from support import read_back

PRELUDE = """
import json, multiprocessing as mp, os, sys, time
from gokpl import Config, ForkedProcessError, GokplError, SyncProducer
URL, STREAM = os.environ["FAKE_URL"], os.environ["FAKE_STREAM"]

def config(**kw):
    options = dict(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=10)
    options.update(kw)
    return Config(**options)

def publish(producer, tag):
    '''Put one record and wait for it; report what happened and how long it took.'''
    start = time.monotonic()
    try:
        result = producer.put_record(stream=STREAM, partition_key=tag, data=tag.encode()).wait(timeout=10)
        return {"tag": tag, "ok": result.success, "seconds": time.monotonic() - start}
    except Exception as exc:
        return {"tag": tag, "error": type(exc).__name__, "gokpl": isinstance(exc, GokplError),
                "message": str(exc), "seconds": time.monotonic() - start}

def own_producer(queue, tag):
    with SyncProducer(config()) as producer:
        queue.put(publish(producer, tag))

def inherited_producer(queue, tag):
    queue.put(publish(PARENT, tag))

def unclosed_producer(tag):
    producer = SyncProducer(config(record_max_buffered_time_ms=60_000))
    producer.__enter__()
    producer.put_record(stream=STREAM, partition_key=tag, data=tag.encode())
    # returns without closing: the exit flush of the child sends the record

def run(method, target, tag, *extra):
    ctx = mp.get_context(method)
    queue = ctx.Queue()
    child = ctx.Process(target=target, args=(queue, tag, *extra))
    child.start()
    try:
        report = queue.get(timeout=20)
    except Exception:
        report = {"tag": tag, "error": "no report (hang?)"}
    child.join(20)
    if child.is_alive():
        child.kill()
        report["hung"] = True
    report["exitcode"] = child.exitcode
    print("REPORT", json.dumps(report), flush=True)

PARENT = SyncProducer(config())
PARENT.__enter__()
"""


def run(code: str, fake: FakeKinesis, stream: str, folder: Path) -> dict[str, dict[str, object]]:
    env = child_env(FAKE_URL=fake.endpoint_url, FAKE_STREAM=stream)
    script = PRELUDE + textwrap.dedent(code) + "\nif __name__ == '__main__':\n    main()\n"
    # Written to a file: spawn and forkserver children import the main module.
    path = str(folder / "mp_script.py")
    Path(path).write_text(script)
    proc = run_script(f"import runpy; runpy.run_path({path!r}, run_name='__main__')", env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Fatal Python error" not in proc.stderr, proc.stderr
    reports = [json.loads(line) for line in lines_with("REPORT", proc.stdout)]
    return {r["tag"]: r for r in reports}


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_a_child_started_before_the_parent_loaded_the_library_works(
    method: str, fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path
) -> None:
    reports = run(
        f"""
        def main():
            # The parent imported gokpl and entered a producer: nothing is loaded yet.
            import gokpl._native
            assert not gokpl._native.is_loaded()
            run({method!r}, own_producer, "own")
            if {method!r} == "fork":
                run("fork", inherited_producer, "inherited")  # the parent's producer, first used in the child
            print("REPORT", json.dumps(publish(PARENT, "parent")), flush=True)
        """,
        fake_kinesis,
        fake_stream,
        tmp_path,
    )
    for report in reports.values():
        assert report.get("ok") is True, report
        assert report.get("exitcode", 0) == 0, report
    assert set(reports) == ({"own", "inherited", "parent"} if method == "fork" else {"own", "parent"})


def test_a_child_forked_after_the_parent_loaded_the_library_gets_forked_process_error(
    fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path
) -> None:
    reports = run(
        """
        def main():
            print("REPORT", json.dumps(publish(PARENT, "before")), flush=True)  # loads the library
            run("fork", own_producer, "own")
            run("fork", inherited_producer, "inherited")
            # A bare os.fork() child that exits normally runs the inherited atexit hooks: they must do nothing.
            pid = os.fork()
            if pid == 0:
                report = publish(PARENT, "bare")
                print("REPORT", json.dumps(report), flush=True)
                sys.exit(0)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                os.kill(pid, 9)
                raise SystemExit("the bare fork child hung at exit")
            assert os.waitstatus_to_exitcode(status) == 0
            print("REPORT", json.dumps(publish(PARENT, "after")), flush=True)
        """,
        fake_kinesis,
        fake_stream,
        tmp_path,
    )
    assert reports["before"]["ok"] is True and reports["after"]["ok"] is True, reports
    for tag in ("own", "inherited", "bare"):
        report = reports[tag]
        assert report["error"] == "ForkedProcessError" and report["gokpl"] is True, report
        assert float(report["seconds"]) < 1.0, report  # type: ignore[arg-type]
        message = str(report["message"])
        assert "Create the SyncProducer in the child" in message and "'spawn'" in message, message
        assert not report.get("hung"), report
    print(
        "ForkedProcessError after",
        {t: f"{float(reports[t]['seconds']) * 1000:.2f} ms" for t in ("own", "inherited", "bare")},
    )  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_children_work_after_the_parent_loaded_the_library(
    method: str, fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path
) -> None:
    reports = run(
        f"""
        def main():
            print("REPORT", json.dumps(publish(PARENT, "before")), flush=True)
            run({method!r}, own_producer, "own")
            print("REPORT", json.dumps(publish(PARENT, "after")), flush=True)
        """,
        fake_kinesis,
        fake_stream,
        tmp_path,
    )
    assert all(r.get("ok") is True for r in reports.values()), reports
    assert reports["own"]["exitcode"] == 0


def test_a_multiprocessing_child_flushes_its_unclosed_producer_when_it_ends(
    fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path
) -> None:
    run(
        """
        def main():
            child = mp.get_context("spawn").Process(target=unclosed_producer, args=("from-child",))
            child.start()
            child.join(30)
            assert child.exitcode == 0, child.exitcode
        """,
        fake_kinesis,
        fake_stream,
        tmp_path,
    )
    assert [r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream)] == [b"from-child"]
