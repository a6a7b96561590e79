"""Celery tasks that publish to Kinesis, one producer per worker process.

Run a worker (from the repository root; the default broker is kombu's
filesystem transport, so no broker server is needed):

    GOKPL_STREAM=events celery --workdir examples -A celery_app worker --concurrency 2 --loglevel INFO

and send it tasks from another shell:

    GOKPL_STREAM=events python examples/celery_app.py 10

Settings come from the environment: GOKPL_STREAM (default "events"),
AWS_REGION, GOKPL_ENDPOINT_URL (unset for Kinesis itself; set for an
emulator), any other option as GOKPL_<OPTION>, the AWS SDK's usual
credentials,
CELERY_BROKER_URL (e.g. redis://localhost:6379/0; default: the filesystem
transport in the folder CELERY_DATA, default gokpl-celery in the temporary
folder) and
CELERY_RESULT_BACKEND.

Each pool process makes its producer on its first task, so the library
loads in the process that uses it (a Go runtime does not survive fork).
A prefork pool process ends with os._exit, skipping atexit, so the
producer is flushed and closed on ``worker_process_shutdown``: a warm
shutdown (Ctrl-C or SIGTERM to the worker) sends what the tasks put,
including records they did not wait for.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown, worker_shutdown
from gokpl import Config, SyncProducer

STREAM = os.environ.get("GOKPL_STREAM", "events")
CLOSE_TIMEOUT = 10.0  # seconds the shutdown flush may take; keep it below the worker's own shutdown timeout

log = logging.getLogger(__name__)


def make_app() -> Celery:
    """The Celery app: the broker from CELERY_BROKER_URL, else folders under CELERY_DATA."""
    app = Celery("celery_app")
    broker = os.environ.get("CELERY_BROKER_URL")
    if broker:
        app.conf.update(broker_url=broker, result_backend=os.environ.get("CELERY_RESULT_BACKEND"))
        return app
    data = Path(os.environ.get("CELERY_DATA") or Path(tempfile.gettempdir()) / "gokpl-celery").resolve()
    for folder in ("queue", "processed", "results", "control"):
        (data / folder).mkdir(parents=True, exist_ok=True)
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": str(data / "queue"),
            "data_folder_out": str(data / "queue"),
            "processed_folder": str(data / "processed"),
            "control_folder": str(data / "control"),
            "store_processed": False,
            "polling_interval": 0.1,
        },
        result_backend=f"file://{data / 'results'}",
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_app()

_producer: SyncProducer | None = None
_producer_lock = threading.Lock()


def producer() -> SyncProducer:
    """This process's producer, made on first use."""
    global _producer
    with _producer_lock:
        if _producer is None:
            _producer = SyncProducer(Config.from_env()).__enter__()
        return _producer


@worker_process_shutdown.connect  # a prefork pool process is about to end
@worker_shutdown.connect  # the worker itself (the solo and threads pools run tasks in it)
def close_producer(**kwargs: Any) -> None:
    """Flush what this process's tasks put, then close its producer."""
    global _producer
    with _producer_lock:
        closing, _producer = _producer, None
    if closing is None:
        return
    stats = closing.stats()
    log.info(
        "gokpl: closing the producer of process %d (records put: %d, still to send: %d)",
        os.getpid(),
        stats.records_put,
        stats.outstanding_records,
    )
    closing.close(timeout=CLOSE_TIMEOUT)


@app.task(name="celery_app.publish")  # named, so that the same name is sent when this file runs as __main__
def publish(user: str, event: dict[str, Any]) -> dict[str, Any]:
    """Publish one event and wait for its result, which becomes the task's result."""
    data = json.dumps(event).encode()
    result = producer().put_record(stream=STREAM, partition_key=user, data=data).wait(timeout=30)
    return {
        "success": result.success,
        "shard_id": result.shard_id,
        "sequence_number": result.sequence_number,
        "error_code": result.error_code,
        "pid": os.getpid(),
    }


@app.task(name="celery_app.publish_later")
def publish_later(user: str, event: dict[str, Any]) -> int:
    """Publish one event without waiting: the producer sends it, at the latest when the process shuts down."""
    producer().put_record(stream=STREAM, partition_key=user, data=json.dumps(event).encode())
    return os.getpid()


def main(count: int) -> None:
    """Send ``count`` publish tasks and print each result as a line of JSON."""
    pending = [publish.delay(f"user-{i % 10}", {"n": i, "kind": "click"}) for i in range(count)]
    for task in pending:
        print(json.dumps(task.get(timeout=60, interval=0.1)), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
