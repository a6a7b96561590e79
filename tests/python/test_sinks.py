"""gokpl.sinks: aiokpl's sink protocol fed by a real producer putting to the fake endpoint.

Each sink is given as Config(metrics_sink=...) and checked against what the
producer counted (producer.metrics()), the protocol's calls (enter, export
awaited on one loop, events, exit) and its failures (logged, never fatal).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from conftest import FakeKinesis
from gokpl import Config, ConfigError, Metric, SyncProducer
from gokpl.sinks import (
    AIOKPL_NAMES,
    CloudWatchSink,
    EventfulMetricsSink,
    InMemorySink,
    MetricEvent,
    MetricSnapshot,
    MetricsSink,
    NullSink,
)
from gokpl.sinks._exporter import SinkExporter
from gokpl.sinks._mapping import DISTRIBUTIONS, GAUGES, select_granularity, to_events, to_snapshots
from test_cloudwatch_upload import cloudwatch, moto_endpoint  # noqa: F401 (a fixture)

ConfigFactory = Callable[..., Config]
KPL_ONLY_NAMES = set(AIOKPL_NAMES)  # BufferingTime, UserRecordExpired: renamed for aiokpl's sinks


def put_and_close(config: Config, stream: str, n: int, data: bytes = b"xyz", prefix: str = "k") -> list[Metric]:
    """Put n records, wait for them, close; the cumulative metrics just before close."""
    with SyncProducer(config) as producer:
        outcomes = [producer.put_record(stream=stream, partition_key=f"{prefix}{i}", data=data) for i in range(n)]
        assert all(o.wait(timeout=10).success for o in outcomes)
        producer.flush(timeout=10)
        return producer.metrics()


def series(metrics: list[Metric], name: str, **dimensions: str) -> Metric:
    return next(m for m in metrics if m.name == name and m.dimensions == dimensions)


def totals(snapshots: Sequence[MetricSnapshot], name: str) -> tuple[int, float]:
    chosen = [s for s in snapshots if s.name == name]
    return sum(s.count for s in chosen), sum(s.sum for s in chosen)


# -- InMemorySink and the snapshots' shape ---------------------------------------------------------


def test_in_memory_sink_gets_aiokpl_snapshots_adding_up_to_the_producers_counts(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    sink = InMemorySink()
    n = 40
    cumulative = put_and_close(fake_config(metrics_sink=sink, metrics_upload_interval_ms=200), fake_stream, n)

    snapshots = sink.all_snapshots
    assert snapshots and all(isinstance(s, MetricSnapshot) for s in snapshots)
    names = {s.name for s in snapshots}
    assert {"UserRecordsPut", "UserRecordsDataPut", "KinesisRecordsPut", "BufferedTime", "RequestTime"} <= names
    assert not names & KPL_ONLY_NAMES
    # Granularity stream (the default): one series per stream, none global, none per shard.
    assert {s.dimensions for s in snapshots} == {(("stream", fake_stream),)}
    # The exports partition the samples: their counts and sums are the cumulative ones.
    stream_put = series(cumulative, "UserRecordsPut", StreamName=fake_stream)
    assert totals(snapshots, "UserRecordsPut") == (stream_put.count, stream_put.sum) == (n, n)
    assert totals(snapshots, "UserRecordsDataPut")[1] == 3 * n
    buffering = series(cumulative, "BufferingTime", StreamName=fake_stream)
    assert totals(snapshots, "BufferedTime") == (buffering.count, pytest.approx(buffering.sum))
    for s in sink.by_name("BufferedTime"):
        assert s.min <= s.sum / s.count <= s.max
    # Windows follow each other without overlap.
    windows = sorted({(s.window_start, s.window_end) for s in snapshots})
    assert all(start < end for start, end in windows)
    assert all(a[1] <= b[0] for a, b in zip(windows, windows[1:]))


def test_granularity_shard_keeps_what_only_the_stream_counted(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    # A failed request is an error of its stream, not of a shard.
    fake_kinesis.fail_next(1, "InternalFailure")
    sink = InMemorySink()
    config = fake_config(metrics_sink=sink, metrics_granularity="shard", metrics_upload_interval_ms=60_000)
    n = 20
    cumulative = put_and_close(config, fake_stream, n)

    snapshots = sink.all_snapshots
    put = sink.by_name("UserRecordsPut")
    assert {tuple(key for key, _ in s.dimensions) for s in put} == {("stream", "shard")}
    assert totals(snapshots, "UserRecordsPut") == (n, n)
    stream_errors = series(cumulative, "AllErrors", StreamName=fake_stream)
    assert totals(snapshots, "AllErrors") == (stream_errors.count, stream_errors.sum)
    failed_request = [s for s in sink.by_name("AllErrors") if s.dimensions == (("stream", fake_stream),)]
    assert [(s.count, s.sum) for s in failed_request] == [(1, 1.0)]
    by_code = sink.by_name("ErrorsByCode")
    assert [(s.dimensions, s.sum) for s in by_code] == [
        ((("stream", fake_stream), ("error_code", "InternalFailure")), 1.0)
    ]


def test_granularity_global(fake_config: ConfigFactory, fake_stream: str) -> None:
    sink = InMemorySink()
    put_and_close(fake_config(metrics_sink=sink, metrics_granularity="global"), fake_stream, 10)
    assert {s.dimensions for s in sink.all_snapshots} == {()}
    assert totals(sink.all_snapshots, "UserRecordsPut") == (10, 10)


# -- the protocol: a user's sink -------------------------------------------------------------------


class RecordingSink:
    """A user's sink: async enter, export and exit, noting the thread and loop of each call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []  # (call, thread, id of the running loop)
        self.batches: list[tuple[MetricSnapshot, ...]] = []
        self.exported = threading.Event()

    def _note(self, call: str) -> None:
        self.calls.append((call, threading.current_thread().name, id(asyncio.get_running_loop())))

    async def __aenter__(self) -> RecordingSink:
        self._note("enter")
        return self

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
        await asyncio.sleep(0)  # only an awaited export gets past this
        self._note("export")
        self.batches.append(tuple(snapshots))
        self.exported.set()

    async def __aexit__(self, *exc: object) -> None:
        self._note("exit")


def test_a_users_async_sink_is_entered_awaited_and_exited_on_one_loop(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    sink = RecordingSink()
    assert isinstance(sink, MetricsSink)
    with SyncProducer(fake_config(metrics_sink=sink, metrics_upload_interval_ms=100)) as producer:
        producer.put_record(stream=fake_stream, partition_key="a", data=b"x").wait(timeout=5)
        assert sink.exported.wait(5)
    kinds = [call for call, _, _ in sink.calls]
    assert kinds[0] == "enter" and kinds[-1] == "exit" and set(kinds[1:-1]) == {"export"}
    assert {thread for _, thread, _ in sink.calls} == {"gokpl-metrics"}
    assert len({loop for _, _, loop in sink.calls}) == 1
    assert totals([s for b in sink.batches for s in b], "UserRecordsPut") == (1, 1)


def test_an_export_only_sink_works(fake_config: ConfigFactory, fake_stream: str) -> None:
    got: list[MetricSnapshot] = []

    class ExportOnly:
        async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
            got.extend(snapshots)

    put_and_close(fake_config(metrics_sink=ExportOnly()), fake_stream, 3)
    assert totals(got, "UserRecordsPut") == (3, 3)


class EventfulSink(InMemorySink):
    """An InMemorySink that also takes events, noting whether each came before its export."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[MetricEvent, int]] = []  # (event, exports so far)

    def record(self, event: MetricEvent) -> None:
        self.events.append((event, len(self.exports)))


def test_eventful_sink_gets_one_event_per_snapshot_before_each_export(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    sink = EventfulSink()
    assert isinstance(sink, EventfulMetricsSink) and not isinstance(InMemorySink(), EventfulMetricsSink)
    put_and_close(fake_config(metrics_sink=sink, metrics_upload_interval_ms=200), fake_stream, 12)
    assert len(sink.events) == len(sink.all_snapshots)
    for i, batch in enumerate(sink.exports):
        events = [e for e, exported in sink.events if exported == i]
        assert [(e.name, e.dimensions) for e in events] == [(s.name, s.dimensions) for s in batch]
        for event, snapshot in zip(events, batch):
            mean = snapshot.sum / snapshot.count
            assert event.value == (mean if snapshot.name in DISTRIBUTIONS | GAUGES else snapshot.sum)
            assert event.timestamp == snapshot.window_end
    put = [e.value for e, _ in sink.events if e.name == "UserRecordsPut"]
    assert sum(put) == 12


def test_errors_of_a_sink_are_logged_and_the_producer_goes_on(
    fake_config: ConfigFactory, fake_stream: str, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def __init__(self) -> None:
            self.exports = 0

        async def __aenter__(self) -> Broken:
            raise RuntimeError("enter is broken")

        def record(self, event: MetricEvent) -> None:
            raise RuntimeError("record is broken")

        async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
            self.exports += 1
            raise RuntimeError("export is broken")

        async def __aexit__(self, *exc: object) -> None:
            raise AssertionError("exit of a sink whose enter failed")

    sink = Broken()
    with caplog.at_level(logging.ERROR, logger="gokpl"):
        with SyncProducer(fake_config(metrics_sink=sink, metrics_upload_interval_ms=100)) as producer:
            for i in range(3):
                assert producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"x").wait(timeout=5).success
                producer.flush(timeout=5)
                threading.Event().wait(0.25)
    assert sink.exports >= 3  # kept exporting after each failure
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("exception entering metrics_sink") for m in messages)
    assert any(m.startswith("exception calling metrics_sink") and "record" in m for m in messages)
    export_errors = [r for r in caplog.records if r.getMessage().startswith("exception calling metrics_sink")]
    assert any(r.exc_info and "export is broken" in str(r.exc_info[1]) for r in export_errors)
    assert {r.threadName for r in export_errors} == {"gokpl-metrics"}
    assert not any("exit of a sink" in m for m in messages)


def test_null_sink(fake_config: ConfigFactory, fake_stream: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="gokpl"):
        put_and_close(fake_config(metrics_sink=NullSink(), metrics_upload_interval_ms=100), fake_stream, 3)
    assert not caplog.records


def test_first_party_sinks_follow_the_protocol() -> None:
    for sink in (NullSink(), InMemorySink(), CloudWatchSink()):
        assert isinstance(sink, MetricsSink)
        assert not isinstance(sink, EventfulMetricsSink)


# -- Config ----------------------------------------------------------------------------------------


def test_config_takes_a_sink_object_and_keeps_it_out_of_the_engine_options() -> None:
    sink = InMemorySink()
    config = Config(metrics_sink=sink)
    assert config.metrics_sink is sink
    options = json.loads(config.to_json())
    assert "metrics_sink" not in options and options["metrics_level"] == "none"
    with pytest.raises(ConfigError, match="metrics_sink"):
        Config(metrics_sink=object())  # type: ignore[arg-type]


def test_cloudwatch_sink_turns_the_engines_upload_on() -> None:
    sink = CloudWatchSink(region="eu-west-1", namespace="shop", endpoint_url="http://127.0.0.1:1")
    options = json.loads(Config(region="eu-west-1", metrics_sink=sink).to_json())
    assert options["metrics_level"] == "detailed"
    assert options["metrics_namespace"] == "shop"
    assert options["cloudwatch_endpoint_url"] == "http://127.0.0.1:1"
    summary = json.loads(Config(metrics_level="summary", metrics_sink=CloudWatchSink()).to_json())
    assert summary["metrics_level"] == "summary" and summary["metrics_namespace"] == "aiokpl"


@pytest.mark.parametrize(
    "mismatch",
    [
        {"region": "us-west-2"},
        {"verify_ssl": False},
        {"aws_access_key_id": "other", "aws_secret_access_key": "other"},
    ],
)
def test_cloudwatch_sink_cannot_ask_for_another_connection(mismatch: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="CloudWatchSink's"):
        Config(region="eu-west-1", metrics_sink=CloudWatchSink(**mismatch))


# -- CloudWatchSink through the engine, to moto ----------------------------------------------------


def test_cloudwatch_sink_uploads_through_the_engine(
    fake_kinesis: FakeKinesis,
    moto_endpoint: str,  # noqa: F811 (the fixture)
) -> None:
    config = Config(
        region="us-east-1",
        endpoint_url=fake_kinesis.endpoint_url,
        record_max_buffered_time_ms=10,
        metrics_upload_interval_ms=500,
        metrics_sink=CloudWatchSink(namespace="gokpl-sink-test", endpoint_url=moto_endpoint),
    )
    put_and_close(config, "fake-1", 25)
    client = cloudwatch(moto_endpoint)
    listed = client.list_metrics(Namespace="gokpl-sink-test")["Metrics"]
    assert {"UserRecordsPut", "RequestTime", "UserRecordsDataPut"} <= {m["MetricName"] for m in listed}
    stats = client.get_metric_statistics(
        Namespace="gokpl-sink-test", MetricName="UserRecordsPut",
        Dimensions=[{"Name": "StreamName", "Value": "fake-1"}],
        StartTime=_minutes_ago(10), EndTime=_minutes_ago(-1), Period=60, Statistics=["Sum"],
    )["Datapoints"]  # fmt: skip
    assert sum(p["Sum"] for p in stats) == 25


def _minutes_ago(minutes: int) -> Any:
    import datetime

    return datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=minutes)


# -- OpenTelemetry ---------------------------------------------------------------------------------


def otel_points(reader: Any) -> dict[str, tuple[str, list[Any]]]:
    """Instrument name → (unit, data points), from an InMemoryMetricReader."""
    data = reader.get_metrics_data()
    return {
        m.name: (m.unit, list(m.data.data_points))
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }


def test_opentelemetry_instruments_read_through_the_in_memory_reader(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    pytest.importorskip("opentelemetry.sdk.metrics")
    from gokpl.sinks.opentelemetry import OpenTelemetrySink
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    sink = OpenTelemetrySink(meter=MeterProvider(metric_readers=[reader]).get_meter("test"))
    n = 30
    config = fake_config(metrics_sink=sink, metrics_upload_interval_ms=200)
    cumulative = put_and_close(config, fake_stream, n, data=b"abcd")

    points = otel_points(reader)
    stream = {"stream": fake_stream}
    unit, put = points["aiokpl.userrecordsput"]
    assert unit == "1" and [(dict(p.attributes), p.value) for p in put] == [(stream, n)]
    unit, data_put = points["aiokpl.userrecordsdataput"]
    assert unit == "By" and [p.value for p in data_put] == [4 * n]
    unit, buffered = points["aiokpl.bufferedtime"]
    assert unit == "ms" and [dict(p.attributes) for p in buffered] == [stream]
    buffering = series(cumulative, "BufferingTime", StreamName=fake_stream)
    # One value per export, each an interval's mean: within the extremes of all the samples.
    assert 1 <= buffered[0].count <= buffering.count
    assert buffering.min <= buffered[0].min <= buffered[0].max <= buffering.max
    assert not {"aiokpl.bufferingtime", "aiokpl.userrecordexpired"} & set(points)


def test_opentelemetry_sink_maps_each_kind_of_metric() -> None:
    pytest.importorskip("opentelemetry.sdk.metrics")
    from gokpl.sinks.opentelemetry import OpenTelemetrySink
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    sink = OpenTelemetrySink(meter=MeterProvider(metric_readers=[reader]).get_meter("t"), instrument_prefix="kpl.")
    dims = (("stream", "s"),)

    def snap(name: str, count: int, total: float) -> MetricSnapshot:
        return MetricSnapshot(name, count, total, 0.0, total, dims)

    async def run() -> None:
        async with sink:
            await sink.export([snap("UserRecordsPut", 3, 3.0), snap("RequestTime", 2, 30.0)])
            await sink.export([snap("UserRecordsPut", 2, 1.0), snap("UserRecordsPending", 2, 10.0)])
            await sink.export([snap("UserRecordsPending", 1, 2.0)])

    asyncio.run(run())
    points = otel_points(reader)
    assert [p.value for p in points["kpl.userrecordsput"][1]] == [4.0]  # 3 + 1: the sums add up
    request = points["kpl.requesttime"][1][0]
    assert (request.count, request.sum) == (1, 15.0)  # the interval's mean
    assert [p.value for p in points["kpl.userrecordspending"][1]] == [2.0]  # moved to the last mean
    assert {dict(p.attributes)["stream"] for _, ps in points.values() for p in ps} == {"s"}


# -- the mapping and the seam for an asyncio producer ---------------------------------------------


def metric(name: str, count: int, total: float, **dimensions: str) -> Metric:
    return Metric(name, dimensions, "Count", "summary", count, total, 0.0, 1.0, total / count)


def test_select_granularity_partitions_the_fan_out() -> None:
    fan_out = [
        metric("AllErrors", 5, 2.0),
        metric("AllErrors", 5, 2.0, StreamName="s"),
        metric("AllErrors", 3, 1.0, StreamName="s", ShardId="a"),
        metric("AllErrors", 1, 0.0, StreamName="s", ShardId="b"),
        metric("ErrorsByCode", 2, 2.0),
        metric("ErrorsByCode", 2, 2.0, ErrorCode="X"),
        metric("ErrorsByCode", 2, 2.0, ErrorCode="X", StreamName="s"),
        metric("ErrorsByCode", 1, 1.0, ErrorCode="X", StreamName="s", ShardId="a"),
    ]
    shard = select_granularity(fan_out, "shard")
    assert sorted((m.name, tuple(m.dimensions.items()), m.count, m.sum) for m in shard) == [
        ("AllErrors", (("StreamName", "s"),), 1, 1.0),  # the stream's own: 5 - 3 - 1
        ("AllErrors", (("StreamName", "s"), ("ShardId", "a")), 3, 1.0),
        ("AllErrors", (("StreamName", "s"), ("ShardId", "b")), 1, 0.0),
        ("ErrorsByCode", (("ErrorCode", "X"), ("StreamName", "s")), 1, 1.0),
        ("ErrorsByCode", (("ErrorCode", "X"), ("StreamName", "s"), ("ShardId", "a")), 1, 1.0),
    ]
    assert [(m.name, m.dimensions) for m in select_granularity(fan_out, "global")] == [
        ("AllErrors", {}),
        ("ErrorsByCode", {"ErrorCode": "X"}),
    ]
    snapshots = to_snapshots(select_granularity(fan_out, "stream"), 1.0, 2.0)
    assert sorted(s.dimensions for s in snapshots) == [(("stream", "s"),), (("stream", "s"), ("error_code", "X"))]
    assert {e.value for e in to_events(snapshots, 2.0)} == {2.0}


def test_sink_exporter_runs_on_the_callers_loop() -> None:
    """How an asyncio producer drives a sink: open, export each interval's metrics, close, all awaited."""
    sink = RecordingSink()
    plain: list[list[Metric]] = []
    interval = [metric("UserRecordsPut", 2, 2.0, StreamName="s"), metric("UserRecordsPut", 2, 2.0)]

    async def run() -> int:
        for target in (SinkExporter(sink, "stream"), SinkExporter(plain.append, "stream")):
            await target.open()
            await target.export(interval)
            await target.close()
        return id(asyncio.get_running_loop())

    loop_id = asyncio.run(run())
    assert [(call, loop) for call, _, loop in sink.calls] == [(c, loop_id) for c in ("enter", "export", "exit")]
    assert [(s.name, s.dimensions, s.count) for s in sink.batches[0]] == [("UserRecordsPut", (("stream", "s"),), 2)]
    assert plain == [interval]  # a plain callable gets every series, as before
