"""put_records: one native call, one outcome per record, index-aligned."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from gokpl import BackpressureTimeoutError, Config, InvalidRecordError, SyncOutcome, SyncProducer, _native
from support import read_back

ConfigFactory = Callable[..., Config]


class CountingLibrary:
    """Wraps the loaded library and counts calls by function name."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.calls: dict[str, int] = {}

    def puts(self) -> dict[str, int]:
        """The calls that put records (not, say, frees of collected outcomes meanwhile)."""
        return {name: n for name, n in self.calls.items() if name.startswith("gokpl_producer_put")}

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.lib, name)
        if not callable(attr):
            return attr

        def counted(*args: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            return attr(*args)

        return counted


def test_outcomes_are_index_aligned_and_land_as_sent(mock_config: ConfigFactory, stream: str) -> None:
    records: list[Any] = [(f"key-{i}", b"tuple-%d" % i) for i in range(30)]
    records += [{"partition_key": f"key-{i}", "data": bytearray(b"dict-%d" % i)} for i in range(30, 60)]
    records += [(f"key-{i}", memoryview(b"hashed-%d" % i), "0") for i in range(60, 65)]
    with SyncProducer(mock_config()) as producer:
        outcomes = producer.put_records(stream, records)
        assert len(outcomes) == len(records) and all(isinstance(o, SyncOutcome) for o in outcomes)
        results = [o.wait(timeout=10) for o in outcomes]
    assert all(r.success for r in results)
    stored = {
        (r.shard_id, r.sequence_number, r.sub_sequence_number): r
        for r in read_back(mock_config().endpoint_url or "", stream)
    }
    by_sequence: dict[tuple[str | None, str | None], list[Any]] = {}
    for r in stored.values():
        by_sequence.setdefault((r.shard_id, r.sequence_number), []).append(r)
    for i, result in enumerate(results):
        landed = by_sequence[(result.shard_id, result.sequence_number)]
        assert any(
            r.partition_key == f"key-{i}"
            and r.data == bytes(records[i][1] if isinstance(records[i], tuple) else records[i]["data"])
            for r in landed
        ), i
    # Explicit hash key 0 is the first shard's.
    assert {results[i].shard_id for i in range(60, 65)} == {"shardId-000000000000"}


def test_one_native_call_for_the_whole_batch(
    mock_config: ConfigFactory, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SyncProducer(mock_config()) as producer:
        producer.put_record(stream=stream, partition_key="warm", data=b"x").wait(timeout=10)  # loads the library
        counting = CountingLibrary(_native._lib)
        monkeypatch.setattr(_native, "_lib", counting)
        outcomes = producer.put_records(stream, [(str(i), b"x") for i in range(200)])
        monkeypatch.undo()
        assert counting.puts() == {"gokpl_producer_put_packed": 1}
        assert all(o.wait(timeout=10).success for o in outcomes)
        # With an explicit hash key anywhere, the batch goes as an array of structs.
        monkeypatch.setattr(_native, "_lib", counting)
        outcomes = producer.put_records(stream, [("a", b"x"), ("b", b"y", "12345")])
        monkeypatch.undo()
        assert counting.puts() == {"gokpl_producer_put_packed": 1, "gokpl_producer_put_batch": 1}
        assert all(o.wait(timeout=10).success for o in outcomes)


def test_a_bad_record_raises_with_its_index_and_earlier_records_stay_put(
    mock_config: ConfigFactory, stream: str
) -> None:
    with SyncProducer(mock_config()) as producer:
        with pytest.raises(InvalidRecordError, match=r"^records\[2\]: .*partition_key") as info:
            producer.put_records(stream, [("a", b"0"), ("b", b"1"), ("", b"2"), ("d", b"3")])
        error: Any = info.value
        assert error.index == 2
        assert len(error.outcomes) == 2
        assert all(o.wait(timeout=10).success for o in error.outcomes)

        with pytest.raises(TypeError, match=r"^records\[1\]: data must be bytes") as type_info:
            producer.put_records(stream, [("e", b"4"), ("f", "five"), ("g", b"6")])
        type_error: Any = type_info.value
        assert type_error.index == 1
        assert [o.wait(timeout=10).success for o in type_error.outcomes] == [True]

        with pytest.raises(InvalidRecordError, match=r"^records\[0\]: .*explicit_hash_key"):
            producer.put_records(stream, [("h", b"7", "-1")])
        producer.flush()
    assert sorted(r.data for r in read_back(mock_config().endpoint_url or "", stream)) == [b"0", b"1", b"4"]


@pytest.mark.parametrize(
    ("record", "needle"),
    [
        (["k", b"x"], "a record must be a mapping"),
        (("k",), "a record must be a mapping"),
        (("k", b"x", None, None), "a record must be a mapping"),
        ({"partition_key": "k"}, "'data'"),
        ({"data": b"x"}, "'partition_key'"),
        ({"partition_key": "k", "data": b"x", "stream": "s"}, "unknown record keys"),
        ((b"k", b"x"), "partition_key must be a str"),
        (("k", b"x", 7), "explicit_hash_key must be a str"),
        ("kx", "a record must be a mapping"),
    ],
)
def test_record_shapes_are_checked(mock_config: ConfigFactory, stream: str, record: Any, needle: str) -> None:
    with SyncProducer(mock_config()) as producer:
        with pytest.raises(TypeError, match=r"^records\[0\]: ") as info:
            producer.put_records(stream, [record])
        assert needle in str(info.value)
        assert producer.put_records(stream, [("ok", b"ok")])[0].wait(timeout=10).success


def test_empty_and_generator_batches(mock_config: ConfigFactory, stream: str) -> None:
    with SyncProducer(mock_config()) as producer:
        assert producer.put_records(stream, []) == []
        outcomes = producer.put_records(stream, ((str(i), b"g%d" % i) for i in range(5)))
        assert [o.wait(timeout=10).success for o in outcomes] == [True] * 5


@pytest.mark.parametrize("records", [None, 5])
def test_records_must_be_iterable(mock_config: ConfigFactory, stream: str, records: Any) -> None:
    with SyncProducer(mock_config()) as producer, pytest.raises(TypeError, match="records must be an iterable"):
        producer.put_records(stream, records)


def test_stream_must_be_a_string(mock_config: ConfigFactory) -> None:
    with SyncProducer(mock_config()) as producer, pytest.raises(TypeError, match="stream"):
        producer.put_records(b"s", [("k", b"x")])  # type: ignore[arg-type]


def test_a_stream_the_engine_refuses_is_not_blamed_on_the_first_record(mock_config: ConfigFactory) -> None:
    with SyncProducer(mock_config()) as producer:
        with pytest.raises(InvalidRecordError) as info:
            producer.put_records("bad name", [("a", b"1"), ("b", b"2")])
        assert str(info.value).startswith("invalid record: stream"), str(info.value)
        assert info.value.index is None and info.value.outcomes == []  # type: ignore[attr-defined]


def test_a_full_producer_times_out_the_batch_with_the_outcomes_that_went_in(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000, max_outstanding_records=3)) as producer:
        with pytest.raises(BackpressureTimeoutError, match=r"records\[3\]") as info:
            producer.put_records(fake_stream, [(str(i), b"x") for i in range(5)], timeout=0.2)
        error: Any = info.value
        assert isinstance(error, TimeoutError)
        assert error.index == 3 and len(error.outcomes) == 3
        producer.flush()
        assert all(o.wait(0).success for o in error.outcomes)


def test_a_batch_waits_for_room_within_its_timeout(fake_config: ConfigFactory, fake_stream: str) -> None:
    # Room frees as records are sent (10 ms buffering), so a batch larger than
    # the budget goes in whole, slice by slice.
    with SyncProducer(fake_config(max_outstanding_records=10)) as producer:
        outcomes = producer.put_records(fake_stream, [(str(i), b"x") for i in range(100)], timeout=30)
        assert len(outcomes) == 100
        assert all(o.wait(timeout=10).success for o in outcomes)


def test_a_batch_resumed_after_waiting_for_room_puts_each_record_whole() -> None:
    # The packed call resumes mid-batch at byte offsets computed from the
    # lengths; keys and data of different lengths show an offset gone wrong.
    from gokpl.testing import FakeKinesis

    records = [(f"key-{i}-" + "k" * (i % 7), b"data-%d-" % i + b"d" * (i % 11)) for i in range(100)]
    with FakeKinesis({"s": 2}) as kinesis:
        with SyncProducer(kinesis.config(max_outstanding_records=10, record_max_buffered_time_ms=10)) as producer:
            outcomes = producer.put_records("s", records, timeout=30)
            assert all(o.wait(timeout=10).success for o in outcomes)
        stored = sorted((r.partition_key, r.data) for r in kinesis.records("s"))
    assert stored == sorted(records)
