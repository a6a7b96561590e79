"""Every program in examples/ runs as its users would run it, as a real process.

The examples read their endpoint and stream from the environment
(GOKPL_ENDPOINT_URL, GOKPL_STREAM, AWS_REGION), so here they talk to the
fake endpoint with nothing changed; what they wrote is read back with boto3
and de-aggregated. ``make demo`` runs against kinesis-mock, as it does for
a newcomer, including a Ctrl-C that must leave no emulator behind.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import nbformat
from conftest import FakeKinesis, missing
from nbclient import NotebookClient
from support import StoredRecord, read_back

sys.path.insert(0, str(Path(__file__).resolve().parent / "process"))

from proc_support import BIN, REPO, child_env, free_port, http, lines_with, run_script, server, stop, wait_http

EXAMPLES = REPO / "examples"
DEMO = EXAMPLES / "demo.py"


def example_env(fake: FakeKinesis, stream: str, **extra: str) -> dict[str, str]:
    """The environment a user would set to point an example at an endpoint and a stream."""
    return child_env(GOKPL_ENDPOINT_URL=fake.endpoint_url, GOKPL_STREAM=stream, **extra)


def stored_by_data(fake: FakeKinesis, stream: str) -> dict[bytes, StoredRecord]:
    """What the stream holds, keyed by data (which every example here makes unique)."""
    records = read_back(fake.endpoint_url, stream)
    by_data = {r.data: r for r in records}
    assert len(by_data) == len(records), "a record was stored twice"
    return by_data


def assert_landed_as_answered(
    answers: list[dict[str, object]], datas: list[bytes], stored: dict[bytes, StoredRecord]
) -> None:
    """Each record is in the stream, in the shard and under the sequence number its answer named."""
    for answer, data in zip(answers, datas):
        assert answer["success"] is True, answer
        record = stored[data]
        assert (record.shard_id, record.sequence_number) == (answer["shard_id"], answer["sequence_number"])


# make demo


def run_demo(*args: str) -> subprocess.CompletedProcess[str]:
    if not (REPO / "build" / "kinesismock").exists():
        missing("build/kinesismock not built")
    run = subprocess.run(
        [sys.executable, str(DEMO), *args], capture_output=True, text=True, timeout=120, env=child_env()
    )
    if run.returncode == 2 and "not installed" in run.stderr:
        missing(run.stderr.strip())
    return run


def test_the_demo_publishes_reads_everything_back_and_reports() -> None:
    run = run_demo("--records", "3000", "--shards", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "OK: all 3,000 records confirmed and read back exactly once" in out, out
    progress = [line for line in out.splitlines() if line.startswith("[")]
    assert progress and "\r" not in out, "without a terminal the progress comes as plain lines"
    assert progress[-1].startswith("[####################] 100%  3,000/3,000"), progress
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.startswith(("shardId-", "total"))}
    assert sorted(rows) == ["shardId-000000000000", "shardId-000000000001", "total"], out
    assert rows["total"][1] == "3,000"
    assert re.search(r"put-to-result latency: p50 [\d,]+ ms, p99 [\d,]+ ms", out), out
    ratio = re.search(r"aggregation: ([\d,.]+) user records per Kinesis record", out)
    assert ratio and float(ratio.group(1).replace(",", "")) > 10, out
    assert "stopping kinesis-mock ... done" in out


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_the_demo_reports_lost_duplicated_and_misplaced_records() -> None:
    demo = load_demo()
    tally = demo.Tally(total=4)
    for i in range(4):
        tally.put_at.append(0.0)
        tally.latencies.append(0.0)
        tally.placed[i] = ("shardId-000000000000", f"seq-{i}")
    tally.succeeded = 4
    shard = demo.ShardContents(kinesis_records=3)
    key, data = demo.record(0)
    shard.user_records.append((key, data, "seq-0"))  # as its result said
    key, data = demo.record(2)
    shard.user_records += [(key, data, "seq-2"), (key, data, "seq-2")]  # twice
    key, data = demo.record(3)
    other = demo.ShardContents(kinesis_records=1, user_records=[(key, data, "seq-3")])  # in another shard
    problems = demo.verify(tally, {"shardId-000000000000": shard, "shardId-000000000001": other})
    assert problems == [
        "confirmed but not in the stream: 1",
        "read more than once: 1",
        "not in the shard or under the sequence number their result named: 1",
    ]
    assert demo.verify(tally, {"shardId-000000000000": shard}) != []
    whole = demo.ShardContents(user_records=[(*demo.record(i), f"seq-{i}") for i in range(4)])
    assert demo.verify(tally, {"shardId-000000000000": whole}) == []


def descendants(pid: int) -> list[int]:
    """Every process below pid."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found += [int(entry.name), *descendants(int(entry.name))]
    return found


def running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_ctrl_c_stops_the_demo_and_its_emulator() -> None:
    if not (REPO / "build" / "kinesismock").exists():
        missing("build/kinesismock not built")
    proc = subprocess.Popen(
        [sys.executable, str(DEMO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=child_env(),
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        seen = []
        for line in proc.stdout:  # the first progress line: publishing has begun
            seen.append(line)
            if line.startswith("["):
                break
        else:
            proc.wait(timeout=10)
            if proc.returncode == 2:
                missing("".join(seen))
            raise AssertionError("".join(seen))
        emulator = descendants(proc.pid)
        assert len(emulator) >= 2, emulator  # the kinesismock harness and node
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        out = proc.communicate(timeout=30)[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, out
    assert "interrupted" in out and "stopping kinesis-mock ... done" in out, out
    assert "Traceback" not in out, out
    deadline = time.monotonic() + 10
    while any(running(pid) for pid in emulator) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in emulator if running(pid)], "the emulator outlived the demo"


# Flask


def test_the_flask_app_with_flask_s_test_client(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    proc = run_script(
        f"""
        import json, sys
        sys.path.insert(0, {str(EXAMPLES)!r})
        import flask_app
        client = flask_app.app.test_client()
        for i in range(5):
            response = client.post("/event", data=b"flask-%d" % i, headers={{"X-User": f"user-{{i}}"}})
            print("RESPONSE", response.status_code, json.dumps(response.get_json()), flush=True)
        print("GET", client.get("/event").status_code)
        """,
        example_env(fake_kinesis, fake_stream),
    )
    assert proc.returncode == 0, proc.stderr
    answers = [line.split(" ", 1) for line in lines_with("RESPONSE", proc.stdout)]
    assert [status for status, _ in answers] == ["200"] * 5, proc.stdout
    assert lines_with("GET", proc.stdout) == ["405"]
    datas = [b"flask-%d" % i for i in range(5)]
    stored = stored_by_data(fake_kinesis, fake_stream)
    assert_landed_as_answered([json.loads(body) for _, body in answers], datas, stored)
    assert [stored[d].partition_key for d in datas] == [f"user-{i}" for i in range(5)]


def serve_and_post(args: list[str], env: dict[str, str], url: str, count: int) -> tuple[list[dict[str, object]], str]:
    """Start a server, POST count events to url, stop it with SIGTERM; the answers and its output."""
    with server(args, env) as proc:
        wait_http(url, proc)
        answers = []
        for i in range(count):
            status, _, body = http("POST", url, b"served-%d" % i, {"X-User": f"user-{i}"})
            assert status == 200, body
            answers.append(body)
        took, output = stop(proc, signal.SIGTERM, timeout=30)
        assert proc.returncode == 0, output
    assert "Traceback" not in output, output
    assert took < 10, f"the server took {took:.1f}s to stop"
    return answers, output


def test_the_flask_app_under_gunicorn(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    port = free_port()
    args = [str(BIN / "gunicorn"), "--preload", "--workers", "2", "--chdir", str(EXAMPLES)]
    args += ["--bind", f"127.0.0.1:{port}", "flask_app:app"]
    answers, _ = serve_and_post(args, example_env(fake_kinesis, fake_stream), f"http://127.0.0.1:{port}/event", 10)
    datas = [b"served-%d" % i for i in range(10)]
    assert_landed_as_answered(answers, datas, stored_by_data(fake_kinesis, fake_stream))


# Django


def test_the_django_app_under_gunicorn(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    port = free_port()
    args = [str(BIN / "gunicorn"), "--workers", "2", "--chdir", str(EXAMPLES / "django_app")]
    args += ["--bind", f"127.0.0.1:{port}", "kplsite.wsgi"]
    answers, _ = serve_and_post(args, example_env(fake_kinesis, fake_stream), f"http://127.0.0.1:{port}/events/", 10)
    datas = [b"served-%d" % i for i in range(10)]
    assert_landed_as_answered(answers, datas, stored_by_data(fake_kinesis, fake_stream))


# Celery


def test_the_celery_app_publishes_and_flushes_at_worker_shutdown(
    fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path
) -> None:
    env = example_env(fake_kinesis, fake_stream, CELERY_DATA=str(tmp_path))
    args = [str(BIN / "celery"), "--workdir", str(EXAMPLES), "-A", "celery_app", "worker"]
    args += ["--pool", "prefork", "--concurrency", "2", "--loglevel", "INFO", "--without-heartbeat"]
    args += ["--without-gossip", "--without-mingle"]
    with server(args, env) as worker:
        client = subprocess.run(
            [sys.executable, str(EXAMPLES / "celery_app.py"), "10"], env=env, capture_output=True, text=True, timeout=60
        )
        assert client.returncode == 0, client.stderr
        later = run_script(
            f"""
            import sys
            sys.path.insert(0, {str(EXAMPLES)!r})
            import celery_app
            tasks = [celery_app.publish_later.delay("later", {{"later": i}}) for i in range(6)]
            print("PIDS", sorted({{t.get(timeout=30, interval=0.05) for t in tasks}}))
            """,
            env,
        )
        assert later.returncode == 0, later.stderr
        _, output = stop(worker, signal.SIGTERM, timeout=30)
        assert worker.returncode == 0, output
    assert "Traceback" not in output, output
    answers = [json.loads(line) for line in client.stdout.splitlines()]
    assert len(answers) == 10
    closed = re.findall(r"gokpl: closing the producer of process (\d+) \(records put: (\d+),", output)
    assert {int(pid) for pid, _ in closed} >= {a["pid"] for a in answers}, output
    assert sum(int(n) for _, n in closed) == 16, output
    stored = stored_by_data(fake_kinesis, fake_stream)
    datas = [json.dumps({"n": i, "kind": "click"}).encode() for i in range(10)]
    assert_landed_as_answered(answers, datas, stored)
    assert {json.dumps({"later": i}).encode() for i in range(6)} <= set(stored)


# Jupyter


def cell_text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
    return "\n".join(parts)


def test_the_notebook_runs_top_to_bottom(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    nb = nbformat.read(EXAMPLES / "notebook.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    client = NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}})
    client.execute(env=example_env(fake_kinesis, fake_stream))
    text = [cell_text(cell) for cell in nb.cells if cell.cell_type == "code"]
    assert not any("Error" in t for t in text), text
    assert text[0].startswith("<SyncProducer open"), text
    assert text[1].startswith("<RecordResult ok shard_id='shardId-"), text
    assert text[2].startswith("(<Attempt ok shardId-"), text
    assert text[3].startswith("1000 of 1000 succeeded"), text
    assert "records_put=1001, records_succeeded=1001" in text[4], text
    assert text[5].startswith("<SyncProducer closed"), text
    stored = stored_by_data(fake_kinesis, fake_stream)
    assert len(stored) == 1001
    assert stored[b'{"hello": "kinesis"}'].partition_key == "notebook"


# Backpressure


def test_the_backpressure_script_slows_down_and_loses_nothing(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "backpressure.py"), "--records", "1500", "--max-outstanding", "100"],
        env=example_env(fake_kinesis, fake_stream),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    refused = re.search(r"refused puts: ([\d,]+) \(BackpressureTimeoutError\)", out)
    assert refused and int(refused.group(1).replace(",", "")) > 0, out
    peak = re.search(r"peak in flight: ([\d,]+)", out)
    assert peak and 0 < int(peak.group(1)) <= 100, out
    assert "succeeded: 1,500" in out and "failed: 0" in out, out
    stored = stored_by_data(fake_kinesis, fake_stream)
    assert set(stored) == {b"reading %d" % i for i in range(1500)}


# AWS Lambda


def test_the_lambda_handler_over_two_warm_invocations(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    proc = run_script(
        f"""
        import json, os, sys, time
        sys.path.insert(0, {str(EXAMPLES)!r})
        import lambda_handler

        class Context:  # the one method of Lambda's context object the handler uses
            def __init__(self, millis):
                self.deadline = time.monotonic() + millis / 1000
            def get_remaining_time_in_millis(self):
                return int((self.deadline - time.monotonic()) * 1000)

        # Buffered for a minute: only the handler's flush can send them in time.
        for n in range(2):
            event = {{"records": [{{"partition_key": f"user-{{i}}", "data": {{"n": n, "i": i}}}} for i in range(20)]}}
            event["records"].append({{"partition_key": "text", "data": f"text-{{n}}"}})
            started = time.monotonic()
            answer = lambda_handler.handler(event, Context(10_000))
            print("ANSWER", json.dumps(answer), round(time.monotonic() - started, 3), os.getpid(), flush=True)
        """,
        example_env(fake_kinesis, fake_stream, GOKPL_RECORD_MAX_BUFFERED_TIME_MS="60000"),
    )
    assert proc.returncode == 0, proc.stderr
    answers = [line.rsplit(" ", 2) for line in lines_with("ANSWER", proc.stdout)]
    assert len(answers) == 2, proc.stdout
    for body, seconds, _ in answers:
        assert json.loads(body) == {"records": 21, "succeeded": 21, "failed": 0, "pending": 0, "errors": {}}
        assert float(seconds) < 9.5, "the flush ended within the invocation's time"
    assert answers[0][2] == answers[1][2], "one process, one module-level producer, for both invocations"
    stored = stored_by_data(fake_kinesis, fake_stream)
    datas = [b'{"n":%d,"i":%d}' % (n, i) for n in range(2) for i in range(20)] + [b"text-0", b"text-1"]
    assert sorted(stored) == sorted(datas)
    assert stored[b'{"n":1,"i":7}'].partition_key == "user-7"
