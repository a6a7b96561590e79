"""A Celery app whose tasks publish through module-level producers.

The broker is kombu's filesystem transport and results go to files, so no
server is needed: CELERY_DATA names the folder. The worker imports this
module (making and entering the producers) in its main process before it
forks the prefork pool; the library loads in each pool process on its
first put. ``fire`` puts through a producer that buffers for a minute, so
its records reach the stream only through the flush when the pool process
ends.
"""

from __future__ import annotations

import os
import time
from typing import Any

import gokpl._native
from celery import Celery
from gokpl import Config, SyncProducer


def make_app(name: str) -> Celery:
    data = os.environ["CELERY_DATA"]
    app = Celery(name)
    app.conf.update(
        broker_url="filesystem://",
        broker_transport_options={
            "data_folder_in": f"{data}/queue",
            "data_folder_out": f"{data}/queue",
            "processed_folder": f"{data}/processed",
            "control_folder": f"{data}/control",
            "store_processed": False,
            "polling_interval": 0.05,
        },
        result_backend=f"file://{data}/results",
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_app("celery_tasks")
producer = SyncProducer(Config(region="us-east-1", record_max_buffered_time_ms=20))
producer.__enter__()
lazy = SyncProducer(Config(region="us-east-1", record_max_buffered_time_ms=60_000))
lazy.__enter__()


@app.task
def publish(i: int) -> dict[str, Any]:
    result = producer.put_record(stream="events", partition_key=f"k{i}", data=f"task-{i}".encode()).wait(timeout=10)
    time.sleep(0.05)  # long enough that both pool processes get tasks
    return {"pid": os.getpid(), "success": result.success, "shard_id": result.shard_id}


@app.task
def fire(i: int) -> dict[str, Any]:
    lazy.put_record(stream="events", partition_key="fire", data=f"fire-{i}".encode())
    time.sleep(0.2)
    return {"pid": os.getpid()}


@app.task
def loaded() -> dict[str, Any]:
    return {"pid": os.getpid(), "loaded": gokpl._native.is_loaded()}
