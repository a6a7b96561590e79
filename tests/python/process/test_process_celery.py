"""A real `celery worker` with the prefork pool, kombu's filesystem transport and no broker server.

Tasks put through module-level producers made at import in the worker's
main process; they succeed in every pool process, the main process never
loads the library, and a warm shutdown (SIGTERM) flushes at each pool
process's exit what its tasks put without waiting.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from conftest import fake_endpoint
from gokpl.testing import FakeKinesis
from proc_support import BIN, HERE, child_env, children_of, library_loaded, server, stop
from support import read_back

CONCURRENCY = 2
TASKS = 30


def test_celery_prefork_pool_publishes_and_flushes_at_shutdown(tmp_path: Path) -> None:
    fake = fake_endpoint({"events": 2})
    try:
        run_celery(tmp_path, fake)
    finally:
        fake.stop()


def run_celery(data: Path, fake: FakeKinesis) -> None:
    env = child_env(AWS_ENDPOINT_URL_KINESIS=fake.endpoint_url, CELERY_DATA=str(data))
    for folder in ("queue", "processed", "results", "control"):
        (data / folder).mkdir()
    args = [
        str(BIN / "celery"), "-A", "celery_tasks", "worker", "--pool", "prefork",
        "--concurrency", str(CONCURRENCY), "--loglevel", "INFO",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    client = client_app(env)
    with server(args, env, cwd=HERE / "apps") as proc:
        # Tasks are queued in files; the worker takes them once it is up.
        publish = [client.send_task("celery_tasks.publish", args=[i]) for i in range(TASKS)]
        results = [r.get(timeout=60, interval=0.05) for r in publish]
        main = proc.pid
        pool = children_of(main)
        assert len(pool) == CONCURRENCY, pool
        assert all(r["success"] and r["shard_id"].startswith("shardId-") for r in results), results
        assert {r["pid"] for r in results} == set(pool)
        assert not library_loaded(main)

        fire = [client.send_task("celery_tasks.fire", args=[i]) for i in range(8)]
        fired = {r.get(timeout=30, interval=0.05)["pid"] for r in fire}
        assert fired == set(pool), (fired, pool)
        assert not any(r.data.startswith(b"fire-") for r in read_back(fake.endpoint_url, "events"))

        took, output = stop(proc, signal.SIGTERM, timeout=60)
        assert proc.returncode == 0, output
        assert "Traceback" not in output and "Fatal Python error" not in output, output

    datas = [r.data for r in read_back(fake.endpoint_url, "events")]
    assert {f"task-{i}".encode() for i in range(TASKS)} <= set(datas)
    assert sorted(d for d in datas if d.startswith(b"fire-")) == sorted(f"fire-{i}".encode() for i in range(8))
    print(f"celery prefork: pool {sorted(pool)}, warm shutdown with exit flush in {took:.2f}s")


def client_app(env: dict[str, str]) -> Any:
    """A Celery app with the worker's configuration, to send tasks from this process.

    Made directly rather than by importing the tasks module, whose
    module-level producers this process does not need.
    """
    from celery import Celery

    data = env["CELERY_DATA"]
    app = Celery("client")
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": f"{data}/queue",
            "data_folder_out": f"{data}/queue",
            "control_folder": f"{data}/control",
        },
        result_backend=f"file://{data}/results",
    )
    return app
