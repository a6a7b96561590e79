"""RecordResult and Attempt: frozen, readable, lazily read attempts that compare like any others."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
from collections.abc import Callable

import pytest
from conftest import FakeKinesis
from gokpl import Attempt, Config, RecordResult, SyncProducer
from support import inject_fault

ConfigFactory = Callable[..., Config]


def test_result_of_a_success(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        result = outcome.wait(timeout=10)
    assert result.success and result.error_code is None and result.error_message is None
    (attempt,) = result.attempts
    assert isinstance(attempt, Attempt) and attempt.success
    assert (attempt.shard_id, attempt.sequence_number) == (result.shard_id, result.sequence_number)
    assert 0 < attempt.started_at <= attempt.ended_at and attempt.duration >= 0
    assert re.fullmatch(r"<RecordResult ok shard_id='shardId-\d+' sequence_number='\d+' attempts=1>", repr(result))
    assert re.fullmatch(r"<Attempt ok shardId-\d+ seq=\d+ at \d\d:\d\d:\d\d\.\d{3}Z took \d+\.\dms>", repr(attempt))
    assert repr(outcome) == f"<SyncOutcome done {result!r}>"


def test_result_of_a_failure_has_the_last_attempts_error(
    fake_kinesis: FakeKinesis, fake_config: ConfigFactory, fake_stream: str
) -> None:
    inject_fault(fake_kinesis.endpoint_url, Operation="PutRecords", RecordFailures=[{"Index": 0}])
    inject_fault(
        fake_kinesis.endpoint_url,
        Operation="PutRecords",
        RecordFailures=[{"Index": 0, "ErrorCode": "AccessDeniedException", "ErrorMessage": "denied"}],
    )
    with SyncProducer(fake_config()) as producer:
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
    assert not result.success
    assert [a.error_code for a in result.attempts] == [
        "ProvisionedThroughputExceededException",
        "AccessDeniedException",
    ]
    assert (result.error_code, result.error_message) == ("AccessDeniedException", "denied")
    assert repr(result) == "<RecordResult failed error_code='AccessDeniedException' error_message='denied' attempts=2>"
    assert repr(result.attempts[-1]).startswith("<Attempt failed AccessDeniedException: 'denied' at ")


def test_outcome_repr_while_pending_and_after_cancel(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config(record_max_buffered_time_ms=60_000)) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        assert repr(outcome) == "<SyncOutcome pending>"
        outcome.cancel()
        assert repr(outcome) == "<SyncOutcome cancelled>"


def test_results_are_frozen(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.success = False  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.attempts[0].success = False  # type: ignore[misc]


def test_a_read_result_equals_one_built_by_hand_and_survives_its_outcome(
    fake_config: ConfigFactory, fake_stream: str
) -> None:
    with SyncProducer(fake_config()) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        lazy = outcome.wait(timeout=10)
        del outcome  # the result still reads its attempts (it keeps the handle alive)
    attempts = lazy.attempts
    built = RecordResult(True, lazy.shard_id, lazy.sequence_number, attempts)
    assert lazy == built and hash(lazy) == hash(built)
    assert dataclasses.asdict(lazy)["attempts"][0]["success"] is True
    assert [f.name for f in dataclasses.fields(lazy)] == ["success", "shard_id", "sequence_number", "attempts"]
    assert dataclasses.replace(lazy, success=False).success is False


def test_results_pickle_and_copy_without_native_state(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        result = producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10)
        # Before its attempts were read.
        assert pickle.loads(pickle.dumps(result)) == result
        assert copy.copy(result) == result
        assert copy.deepcopy(result) == result


def test_each_wait_returns_an_equal_result(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        assert outcome.wait(timeout=10) == outcome.wait() == outcome.wait(timeout=0)


def test_hand_built_results() -> None:
    ok = Attempt(1_700_000_000.0, 1_700_000_000.25, True, "shardId-000000000000", "42")
    assert ok.duration == 0.25
    assert repr(ok) == "<Attempt ok shardId-000000000000 seq=42 at 22:13:20.000Z took 250.0ms>"
    failed = RecordResult(False, None, None, (Attempt(1.0, 1.0, False, error_code="Expired", error_message="ttl"),))
    assert (failed.error_code, failed.error_message) == ("Expired", "ttl")
    assert RecordResult(False, None, None, ()).error_code is None


def test_fields_are_read_from_the_engine_only_when_asked_for(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        outcome = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        result = outcome.wait(timeout=10)
        assert result.success is True
        assert set(vars(result)) == {"success", "_source"}  # one native call so far
        assert result.shard_id is not None and result.shard_id.startswith("shardId-")
        assert result.sequence_number is not None and result.sequence_number.isdigit()
        assert "attempts" not in vars(result) and "_source" in vars(result)
        assert len(result.attempts) == 1
        assert "_source" not in vars(result)  # every field read: the outcome is no longer held
        assert result.attempts[0].shard_id == result.shard_id
        assert result.attempts[0].sequence_number == result.sequence_number
