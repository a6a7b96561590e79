"""flush() covers the records put before it, even while other threads keep
putting: it waits for one flush in slices instead of starting a new one each
slice, which would chase the newest records forever."""

from __future__ import annotations

import threading
import time

from conftest import FakeKinesis
from gokpl import Config, SyncProducer


def test_flush_returns_while_another_thread_keeps_putting(fake_kinesis: FakeKinesis) -> None:
    # Records wait up to 60 s in the buffers: only a flush sends them now,
    # and each new flush would also cover the putter's latest records.
    config = Config(region="us-east-1", endpoint_url=fake_kinesis.endpoint_url, record_max_buffered_time_ms=60_000)
    with SyncProducer(config) as producer:
        stop = threading.Event()

        def keep_putting() -> None:
            i = 0
            while not stop.is_set():
                producer.put_record(stream="fake-4", partition_key=f"bg-{i}", data=b"x")
                i += 1

        before = producer.put_record(stream="fake-4", partition_key="before", data=b"x")
        putter = threading.Thread(target=keep_putting)
        putter.start()
        try:
            time.sleep(0.1)
            started = time.monotonic()
            producer.flush(timeout=20)
            elapsed = time.monotonic() - started
        finally:
            stop.set()
            putter.join()
        assert before.done() and before.wait(timeout=0).success
        assert elapsed < 10, f"flush took {elapsed:.1f}s under continuous puts"
