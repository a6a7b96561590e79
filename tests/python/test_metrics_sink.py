"""Config(metrics_sink=...): periodic snapshots on a gokpl thread, a last one at close, errors only logged."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

import pytest
from gokpl import Config, ConfigError, Metric, SyncProducer
from gokpl._options import option_specs

ConfigFactory = Callable[..., Config]


class Sink:
    """Records each call: (thread name, monotonic time, snapshot)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, list[Metric]]] = []
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def __call__(self, snapshot: list[Metric]) -> None:
        with self.changed:
            self.calls.append((threading.current_thread().name, time.monotonic(), snapshot))
            self.changed.notify_all()

    def wait_for(self, calls: int, timeout: float = 10) -> list[tuple[str, float, list[Metric]]]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.calls) >= calls, timeout), f"{len(self.calls)} calls"
            return list(self.calls)


def total(snapshot: list[Metric], name: str) -> int:
    return sum(m.count for m in snapshot if m.name == name and not m.dimensions)


def test_metrics_sink_is_python_only() -> None:
    spec = option_specs()["metrics_sink"]
    assert spec["python_only"] is True and spec["type"] == "callable"
    config = Config(metrics_sink=print)
    assert config.metrics_sink is print
    assert "metrics_sink" not in json.loads(config.to_json())
    with pytest.raises(ConfigError, match="metrics_sink"):
        Config(metrics_sink="not callable")  # type: ignore[arg-type]


def test_sink_gets_periodic_snapshots_on_a_gokpl_thread(fake_config: ConfigFactory, fake_stream: str) -> None:
    sink = Sink()
    n = 20
    with SyncProducer(fake_config(metrics_sink=sink, metrics_upload_interval_ms=300)) as producer:
        assert producer.config.metrics_level == "none"  # the sink does not depend on it
        for i in range(n):
            producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"x")
        producer.flush(timeout=10)
        sink.wait_for(4)
        for i in range(n):
            producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"yy")
        producer.flush(timeout=10)
        sink.wait_for(len(sink.calls) + 2)
        cumulative = producer.metrics()
    calls = sink.calls  # the last one is close's
    assert {name for name, _, _ in calls} == {"gokpl-metrics"}
    times = [t for _, t, _ in calls]
    gaps = [b - a for a, b in zip(times, times[1:-1])]
    assert all(0.2 < gap < 1.0 for gap in gaps), gaps
    assert all(isinstance(m, Metric) for _, _, snapshot in calls for m in snapshot)

    # Each call holds the samples since the previous one: together they are the cumulative snapshot.
    put = [total(snapshot, "UserRecordsPut") for _, _, snapshot in calls]
    assert sum(put) == 2 * n, put
    data = [m for _, _, snapshot in calls for m in snapshot if m.name == "UserRecordsDataPut" and not m.dimensions]
    assert sum(m.sum for m in data) == n * 3
    cumulative_put = next(m for m in cumulative if m.name == "UserRecordsPut" and not m.dimensions)
    assert cumulative_put.count == 2 * n
    for m in data:
        assert 1 <= m.min <= m.mean <= m.max <= 2


def test_last_snapshot_at_close(fake_config: ConfigFactory, fake_stream: str) -> None:
    sink = Sink()
    with SyncProducer(fake_config(metrics_sink=sink, metrics_upload_interval_ms=60_000)) as producer:
        for i in range(5):
            producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"x")
    # No interval passed: the only call is the one close made, joined before close returned.
    assert len(sink.calls) == 1
    name, _, snapshot = sink.calls[0]
    assert name == "gokpl-metrics"
    assert total(snapshot, "UserRecordsPut") == 5


def test_sink_not_started_without_a_put(fake_config: ConfigFactory) -> None:
    sink = Sink()
    before = set(threading.enumerate())
    with SyncProducer(fake_config(metrics_sink=sink, metrics_upload_interval_ms=50)):
        time.sleep(0.2)
        assert not [t for t in set(threading.enumerate()) - before if t.name == "gokpl-metrics"]
    assert sink.calls == []


def test_raising_sink_is_logged_and_the_producer_goes_on(
    fake_config: ConfigFactory, fake_stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken(snapshot: list[Metric]) -> None:
        calls.append(len(snapshot))
        raise RuntimeError("sink is broken")

    with caplog.at_level(logging.ERROR, logger="gokpl"):
        with SyncProducer(fake_config(metrics_sink=broken, metrics_upload_interval_ms=100)) as producer:
            first = producer.put_record(stream=fake_stream, partition_key="a", data=b"x").wait(timeout=5)
            deadline = time.monotonic() + 5
            while len(calls) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            later = producer.put_record(stream=fake_stream, partition_key="b", data=b"y").wait(timeout=5)
            assert first.success and later.success
            assert len(calls) >= 3  # kept calling after the first exception
    errors = [r for r in caplog.records if "exception calling metrics_sink" in r.getMessage()]
    assert len(errors) >= 3
    assert errors[0].exc_info is not None and "sink is broken" in str(errors[0].exc_info[1])
    assert all(r.threadName == "gokpl-metrics" for r in errors)


def test_thread_ends_at_close(fake_config: ConfigFactory, fake_stream: str) -> None:
    slow_started = threading.Event()

    def slow(snapshot: list[Metric]) -> None:
        slow_started.set()
        time.sleep(0.3)

    producer = SyncProducer(fake_config(metrics_sink=slow, metrics_upload_interval_ms=50)).__enter__()
    producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=5)
    assert slow_started.wait(5)
    threads = [t for t in threading.enumerate() if t.name == "gokpl-metrics"]
    assert len(threads) == 1
    producer.close()
    threads[0].join(5)
    assert not threads[0].is_alive()
