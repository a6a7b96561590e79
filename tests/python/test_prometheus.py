"""gokpl.prometheus: a producer's metrics scraped through prometheus_client."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from conftest import missing

try:
    import prometheus_client
except ImportError:
    missing("prometheus_client is not installed", "pip install 'gokpl[prometheus]'")

from gokpl import Config, SyncProducer
from gokpl.prometheus import family_base, register
from prometheus_client.parser import text_string_to_metric_families

ConfigFactory = Callable[..., Config]


def scrape(registry: object) -> tuple[dict[str, str], dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    """The families' types and every sample by (name, labels), from the text exposition."""
    text = prometheus_client.generate_latest(registry).decode()
    types: dict[str, str] = {}
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return types, samples


def labels(**kv: str) -> frozenset[tuple[str, str]]:
    return frozenset(kv.items())


def wait_received(producer: SyncProducer, n: int) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(m.name == "UserRecordsReceived" and not m.dimensions and m.count >= n for m in producer.metrics()):
            return
        time.sleep(0.05)


def test_family_names() -> None:
    assert family_base("UserRecordsPut", "Count") == "kpl_user_records_put"
    assert family_base("BufferingTime", "Milliseconds") == "kpl_buffering_time_seconds"
    assert family_base("UserRecordsDataPut", "Bytes") == "kpl_user_records_data_put_bytes"
    assert family_base("KinesisRecordsPerPutRecordsRequest", "Count") == "kpl_kinesis_records_per_put_records_request"


def test_scrape_after_putting_records(fake_config: ConfigFactory, fake_stream: str) -> None:
    registry = prometheus_client.CollectorRegistry()
    n = 30
    with SyncProducer(fake_config()) as producer:
        register(producer, registry)
        assert scrape(registry) == ({}, {})  # nothing put yet: nothing exposed, no error
        outcomes = [producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"abcd") for i in range(n)]
        results = [o.wait(timeout=5) for o in outcomes]
        wait_received(producer, n)
        types, samples = scrape(registry)

    assert types["kpl_user_records_put"] == "summary"
    assert samples[("kpl_user_records_put_count", labels())] == n
    assert samples[("kpl_user_records_put_sum", labels())] == n  # successes
    assert samples[("kpl_user_records_put_count", labels(stream=fake_stream))] == n
    per_shard: dict[str, float] = {}
    for (name, lbls), value in samples.items():
        d = dict(lbls)
        if name == "kpl_user_records_put_count" and "shard" in d:
            assert d["stream"] == fake_stream
            per_shard[d["shard"]] = value
    assert per_shard == {
        shard: float(sum(r.shard_id == shard for r in results)) for shard in {r.shard_id for r in results}
    }

    assert types["kpl_user_records_put_min"] == "gauge"
    assert samples[("kpl_user_records_put_min", labels())] == 1
    assert samples[("kpl_user_records_put_max", labels())] == 1
    assert samples[("kpl_user_records_data_put_bytes_sum", labels())] == 4 * n
    assert samples[("kpl_user_records_received_count", labels(stream=fake_stream))] == n

    # Milliseconds are exposed in seconds.
    assert types["kpl_buffering_time_seconds"] == "summary"
    assert samples[("kpl_buffering_time_seconds_count", labels())] == n
    buffering_max = samples[("kpl_buffering_time_max_seconds", labels())]
    assert 0 <= buffering_max < 5  # a few ms here, in seconds

    # Closed: the collector exposes nothing and the scrape does not fail.
    assert scrape(registry) == ({}, {})


def test_windowed_families_are_gauges(fake_config: ConfigFactory, fake_stream: str) -> None:
    registry = prometheus_client.CollectorRegistry()
    with SyncProducer(fake_config()) as producer:
        register(producer, registry, window=60)
        for i in range(5):
            producer.put_record(stream=fake_stream, partition_key=f"k{i}", data=b"x").wait(timeout=5)
        types, samples = scrape(registry)
    assert types["kpl_user_records_put_count"] == "gauge"
    assert types["kpl_user_records_put_sum"] == "gauge"
    assert samples[("kpl_user_records_put_count", labels())] == 5
    assert "kpl_user_records_put" not in types


def test_error_code_label(fake_config: ConfigFactory, fake_stream: str) -> None:
    from support import inject_fault

    endpoint = fake_config().endpoint_url
    assert endpoint is not None
    registry = prometheus_client.CollectorRegistry()
    with SyncProducer(fake_config(aggregation_enabled=False)) as producer:
        register(producer, registry)
        producer.put_record(stream=fake_stream, partition_key="warm-up", data=b"x").wait(timeout=5)
        inject_fault(endpoint, Operation="PutRecords", RecordFailures=[{"Index": 0, "ErrorCode": "InternalFailure"}])
        producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
        _, samples = scrape(registry)
    assert samples[("kpl_errors_by_code_count", labels(error_code="InternalFailure"))] == 1
    assert samples[("kpl_errors_by_code_count", labels(error_code="InternalFailure", stream=fake_stream))] == 1


def test_default_registry_and_bad_window(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        with pytest.raises(ValueError, match="window"):
            register(producer, prometheus_client.CollectorRegistry(), window=120)
        collector = register(producer)
        try:
            producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=5)
            _, samples = scrape(prometheus_client.REGISTRY)
            assert samples[("kpl_user_records_put_count", labels())] >= 1
        finally:
            prometheus_client.REGISTRY.unregister(collector)


def test_openmetrics_exposition(fake_config: ConfigFactory, fake_stream: str) -> None:
    from prometheus_client.openmetrics.exposition import generate_latest
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics

    registry = prometheus_client.CollectorRegistry()
    with SyncProducer(fake_config()) as producer:
        register(producer, registry)
        producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=5)
        text = generate_latest(registry).decode()
    families = {f.name: f for f in parse_openmetrics(text)}
    assert families["kpl_buffering_time_seconds"].unit == "seconds"
    assert families["kpl_user_records_put"].type == "summary"
