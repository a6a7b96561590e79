"""gunicorn --preload with the seed's Flask app: sync and gthread workers.

The app's module-level producer is made and entered in the master (--preload
imports the app there) and the library loads in each worker on its first
put. Every request's record succeeds, in every worker; SIGTERM to the master
stops the workers gracefully and each flushes, at exit, what it put.
"""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import fake_endpoint
from gokpl.testing import FakeKinesis
from proc_support import BIN, HERE, child_env, children_of, free_port, http, library_loaded, server, stop, wait_http
from support import read_back

WORKERS = 2
REQUESTS = 40


@pytest.mark.parametrize("worker_class", ["sync", "gthread"])
def test_gunicorn_preload_workers_publish_and_flush_at_shutdown(worker_class: str) -> None:
    fake = fake_endpoint({"events": 2})
    try:
        run_gunicorn(worker_class, fake)
    finally:
        fake.stop()


def run_gunicorn(worker_class: str, fake: FakeKinesis) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env(AWS_ENDPOINT_URL_KINESIS=fake.endpoint_url)
    args = [str(BIN / "gunicorn"), "--preload", "--workers", str(WORKERS), "--worker-class", worker_class]
    if worker_class == "gthread":
        args += ["--threads", "4"]
    args += [
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "20",
        "--chdir",
        str(HERE / "apps"),
        "gunicorn_app:app",
    ]
    with server(args, env) as proc:
        wait_http(base + "/loaded", proc)
        master = proc.pid
        deadline = time.monotonic() + 20
        while len(workers := children_of(master)) < WORKERS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == WORKERS, workers
        # The master imported the app and entered its producers, and never loaded the library.
        assert not library_loaded(master)

        def post(i: int) -> Any:
            return http("POST", base + "/event", f"event-{i}".encode(), {"X-User": f"user-{i}"})

        # Concurrent requests until both workers have served some (the
        # kernel, not gunicorn, picks which worker accepts a connection).
        answers: list[Any] = []
        pids: set[int] = set()
        with ThreadPoolExecutor(8) as pool:
            while len(answers) < REQUESTS or (pids != set(workers) and len(answers) < 20 * REQUESTS):
                batch = list(pool.map(post, range(len(answers), len(answers) + 8)))
                answers += batch
                pids |= {int(headers["X-Worker-Pid"]) for _, headers, _ in batch}
        for status, _, body in answers:
            assert status == 200 and body["success"] is True, body
            assert body["shard_id"].startswith("shardId-") and body["attempts"] == 1
        assert pids == set(workers), (pids, workers)
        assert not library_loaded(master)
        assert all(library_loaded(w) for w in workers)

        # A record each worker puts and never waits for: it sits in a buffer
        # of a minute until the worker's exit-time flush sends it.
        fired: set[int] = set()
        for i in range(200):
            if fired == set(workers):
                break
            _, _, body = http("POST", base + "/fire", f"fire-{i}".encode())
            fired.add(body["pid"])
        assert fired == set(workers)
        sent_before = {r.data for r in read_back(fake.endpoint_url, "events")}
        assert not any(d.startswith(b"fire-") for d in sent_before)

        took, output = stop(proc, signal.SIGTERM, timeout=30)
        assert proc.returncode == 0, output
        assert "Traceback" not in output and "Fatal Python error" not in output, output

    datas = [r.data for r in read_back(fake.endpoint_url, "events")]
    assert {f"event-{i}".encode() for i in range(len(answers))} <= set(datas)
    fires = [d for d in datas if d.startswith(b"fire-")]
    assert len(fires) >= WORKERS and len(fires) == len(set(fires)), fires
    assert took < 20, f"graceful shutdown took {took:.1f}s"
    print(f"gunicorn {worker_class}: workers {sorted(pids)}, shutdown with exit flush in {took:.2f}s")
