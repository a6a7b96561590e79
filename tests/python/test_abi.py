"""The C ABI from Python through cffi: status codes, handle lifetimes, the completion queue,
and no handle left behind by the Python layer."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gokpl import Config, ForkedProcessError, SyncProducer, _native, _status

ConfigFactory = Callable[..., Config]


@pytest.fixture
def abi() -> tuple[Any, Any]:
    return _native.ffi_lib()


def handle_counts(ffi: Any, lib: Any) -> tuple[int, int]:
    _native.free_released()  # handles of collected outcomes are freed in batches
    producers, outcomes = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    assert lib.gokpl_handle_counts(producers, outcomes) == lib.GOKPL_OK
    return int(producers[0]), int(outcomes[0])


@pytest.fixture
def no_leaks(abi: tuple[Any, Any]) -> Iterator[None]:
    """The test leaves as many live handles as it found."""
    gc.collect()
    before = handle_counts(*abi)
    yield
    gc.collect()
    assert handle_counts(*abi) == before


def new_producer(ffi: Any, lib: Any, config: Config) -> int:
    out, err = ffi.new("gokpl_producer *"), ffi.new("char[]", 512)
    raw = config.to_json().encode()
    assert lib.gokpl_producer_new(raw, len(raw), out, err, 512) == lib.GOKPL_OK, ffi.string(err)
    return int(out[0])


def put(ffi: Any, lib: Any, producer: int, stream: bytes, key: bytes) -> int:
    out, err = ffi.new("gokpl_outcome *"), ffi.new("char[]", 512)
    status = lib.gokpl_producer_put(
        producer, stream, len(stream), key, len(key), ffi.NULL, 0, b"x", 1, ffi.NULL, 0, -1, out, err, 512
    )
    assert status == lib.GOKPL_OK, ffi.string(err)
    return int(out[0])


def test_status_constants_match_the_library(abi: tuple[Any, Any]) -> None:
    _, lib = abi
    for name, value in vars(_status).items():
        if name == "OK" or name == "TIMEOUT" or name.startswith("ERR_"):
            assert value == getattr(lib, "GOKPL_" + name), name
    assert _native.ABI_VERSION == lib.GOKPL_ABI_VERSION == lib.gokpl_abi_version()


def test_every_status_maps_to_the_documented_exception(abi: tuple[Any, Any]) -> None:
    import gokpl

    _, lib = abi
    expected = {
        lib.GOKPL_TIMEOUT: TimeoutError,
        lib.GOKPL_ERR_CONFIG: gokpl.ConfigError,
        lib.GOKPL_ERR_AWS: gokpl.ConfigError,
        lib.GOKPL_ERR_INVALID_RECORD: gokpl.InvalidRecordError,
        lib.GOKPL_ERR_CLOSED: gokpl.ProducerClosedError,
        lib.GOKPL_ERR_INVALID_HANDLE: gokpl.ProducerClosedError,
        lib.GOKPL_ERR_BACKPRESSURE: gokpl.BackpressureTimeoutError,
        lib.GOKPL_ERR_CANCELLED: gokpl.SyncOutcomeCancelled,
        lib.GOKPL_ERR_INTERNAL: gokpl.InternalError,
        lib.GOKPL_ERR_INVALID_ARGUMENT: gokpl.InternalError,
        lib.GOKPL_ERR_BUFFER_TOO_SMALL: gokpl.InternalError,
        lib.GOKPL_ERR_PENDING: gokpl.InternalError,
        99: gokpl.InternalError,
    }
    for status, exc_type in expected.items():
        with pytest.raises(exc_type) as info:
            _status.raise_for(status, "gokpl: the message")
        assert str(info.value).endswith("the message"), status
        if status != lib.GOKPL_TIMEOUT:
            assert isinstance(info.value, gokpl.GokplError)
    _status.raise_for(lib.GOKPL_OK)
    with pytest.raises(gokpl.InvalidRecordError, match=r"^the message$"):
        _status.raise_for(lib.GOKPL_ERR_INVALID_RECORD, "gokpl: the message")
    with pytest.raises(gokpl.SyncOutcomeCancelled, match=r"^the outcome was cancelled \(SyncOutcome.cancel\)$"):
        _status.raise_for(lib.GOKPL_ERR_CANCELLED)


def test_put_wait_read_free_close_leaves_no_handle(
    abi: tuple[Any, Any], no_leaks: None, fake_config: ConfigFactory, fake_stream: str
) -> None:
    ffi, lib = abi
    producer = new_producer(ffi, lib, fake_config())
    outcome = put(ffi, lib, producer, fake_stream.encode(), b"k")
    assert lib.gokpl_outcome_wait(outcome, 10_000) == lib.GOKPL_OK
    result, strings = ffi.new("gokpl_result *"), ffi.new("char[]", 256)
    assert lib.gokpl_outcome_result(outcome, result, strings, 256) == lib.GOKPL_OK
    assert result.success == 1 and ffi.unpack(strings, result.shard_id_len).startswith(b"shardId-")
    assert lib.gokpl_outcome_free(outcome) == lib.GOKPL_OK
    assert lib.gokpl_outcome_free(outcome) == lib.GOKPL_OK  # double free: harmless
    assert lib.gokpl_outcome_wait(outcome, 0) == lib.GOKPL_ERR_INVALID_HANDLE
    assert lib.gokpl_producer_close(producer, 5000, ffi.NULL, 0) == lib.GOKPL_OK
    assert lib.gokpl_producer_close(producer, 0, ffi.NULL, 0) == lib.GOKPL_ERR_INVALID_HANDLE
    assert lib.gokpl_producer_free(producer) == lib.GOKPL_OK


def test_bad_handles_and_null_arguments(abi: tuple[Any, Any], no_leaks: None) -> None:
    ffi, lib = abi
    flag, n = ffi.new("int32_t *"), ffi.new("size_t *")
    tokens = ffi.new("uint64_t[]", 4)
    for handle in (0, 1, 2**64 - 1):
        assert lib.gokpl_producer_flush(handle, 0) == lib.GOKPL_ERR_INVALID_HANDLE
        assert lib.gokpl_producer_stats(handle, ffi.new("gokpl_stats *")) == lib.GOKPL_ERR_INVALID_HANDLE
        assert lib.gokpl_producer_next_completions(handle, tokens, 4, 0, n) == lib.GOKPL_ERR_INVALID_HANDLE
        assert lib.gokpl_outcome_done(handle, flag) == lib.GOKPL_ERR_INVALID_HANDLE
        assert lib.gokpl_outcome_cancel(handle, flag) == lib.GOKPL_ERR_INVALID_HANDLE
        assert lib.gokpl_outcome_notify(handle, 1, flag) == lib.GOKPL_ERR_INVALID_HANDLE
        assert lib.gokpl_outcome_free(handle) == lib.GOKPL_OK
        assert lib.gokpl_producer_free(handle) == lib.GOKPL_OK
    assert lib.gokpl_outcome_done(1, ffi.NULL) == lib.GOKPL_ERR_INVALID_ARGUMENT
    assert lib.gokpl_outcome_notify(1, 1, ffi.NULL) == lib.GOKPL_ERR_INVALID_ARGUMENT
    assert lib.gokpl_producer_stats(1, ffi.NULL) == lib.GOKPL_ERR_INVALID_ARGUMENT


def test_the_completion_queue(
    abi: tuple[Any, Any], no_leaks: None, fake_config: ConfigFactory, fake_stream: str
) -> None:
    ffi, lib = abi
    producer = new_producer(ffi, lib, fake_config(record_max_buffered_time_ms=60_000))
    outcomes = [put(ffi, lib, producer, fake_stream.encode(), b"k%d" % i) for i in range(5)]
    queued = ffi.new("int32_t *")
    for i, o in enumerate(outcomes):
        assert lib.gokpl_outcome_notify(o, 100 + i, queued) == lib.GOKPL_OK and queued[0] == 1
    tokens, n = ffi.new("uint64_t[]", 8), ffi.new("size_t *")
    assert lib.gokpl_producer_next_completions(producer, tokens, 8, 0, n) == lib.GOKPL_TIMEOUT
    assert lib.gokpl_producer_flush(producer, 10_000) == lib.GOKPL_OK
    got: list[int] = []
    while len(got) < 5:
        assert lib.gokpl_producer_next_completions(producer, tokens, 8, 5000, n) == lib.GOKPL_OK
        got += [tokens[i] for i in range(n[0])]
    assert sorted(got) == [100, 101, 102, 103, 104]
    assert lib.gokpl_outcome_notify(outcomes[0], 1, queued) == lib.GOKPL_OK and queued[0] == 0
    assert lib.gokpl_producer_close(producer, 5000, ffi.NULL, 0) == lib.GOKPL_OK
    assert lib.gokpl_producer_next_completions(producer, tokens, 8, 1000, n) == lib.GOKPL_ERR_CLOSED
    for o in outcomes:
        lib.gokpl_outcome_free(o)


def test_the_python_layer_frees_every_handle(no_leaks: None, fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        outcomes = [producer.put_record(stream=fake_stream, partition_key=str(i), data=b"x") for i in range(50)]
        outcomes += producer.put_records(fake_stream, [(str(i), b"y") for i in range(50)])
        results = [o.wait(timeout=10) for o in outcomes]
        outcomes[0].add_done_callback(lambda _o: None)
        pending = producer.put_record(stream=fake_stream, partition_key="cb", data=b"z")
        pending.add_done_callback(lambda _o: None)
        pending.cancel()
    del outcomes, pending
    gc.collect()
    # A result that has not read its attempts keeps its handle; reading them lets it go.
    assert all(len(r.attempts) == 1 for r in results)
    del results


def test_a_forked_child_gets_forked_process_error(fake_config: ConfigFactory, fake_stream: str) -> None:
    with SyncProducer(fake_config()) as producer:
        waited = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        assert waited.wait(timeout=10).success
        unread = producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
        producer.flush(timeout=10)  # resolved, but the parent never read its state
        pid = os.fork()
        if pid == 0:  # the child: never call into the Go runtime, never return into pytest
            code = 1
            try:
                producer.put_record(stream=fake_stream, partition_key="k", data=b"x")
            except ForkedProcessError as exc:
                code = 0 if "fork" in str(exc) else 2
            except BaseException:
                code = 3
            try:
                _native.ffi_lib()
                code = 4
            except ForkedProcessError:
                pass
            try:  # a repr, which a debugger or a log line takes, says so rather than raise
                if "forked" not in repr(producer):
                    code = 8
            except BaseException:
                code = 9
            # An outcome from the parent: what is known in Python stays readable,
            # anything that needs the library says why it cannot be had.
            try:
                result = waited.wait()
                if not result.success:
                    code = 5
                for needs_library in (lambda: result.shard_id, unread.done, unread.wait):
                    try:
                        needs_library()
                        code = 6
                    except ForkedProcessError:
                        pass
                del waited, unread, result  # their handles are the parent's: dropped, not freed
                gc.collect()
            except BaseException:
                code = 7
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent is unaffected.
        assert producer.put_record(stream=fake_stream, partition_key="k", data=b"x").wait(timeout=10).success
