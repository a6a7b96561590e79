"""SyncProducer: the blocking producer API, a drop-in for aiokpl's."""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import Any

from . import _native
from ._config import Config
from ._errors import BackpressureTimeoutError, ConfigError, ProducerClosedError
from ._outcome import WAIT_SLICE_S, SyncOutcome

log = logging.getLogger("gokpl")

_BACKENDS = ("asyncio", "trio")
DEFAULT_CLOSE_TIMEOUT_S = 30.0


class SyncProducer:
    """Publish records to Kinesis from blocking code.

    Use it as a context manager, or call ``__enter__()`` once at module level
    (the Flask pattern) and ``close()`` at exit. ``put_record`` is safe to call
    from any number of threads at once.

    The Go engine starts lazily, on the first record: importing gokpl,
    constructing or entering a SyncProducer loads nothing, so a module-level
    producer survives ``gunicorn --preload`` and Celery's prefork pool, as long
    as the first put happens in the worker process.

    ``backend`` is accepted for compatibility with aiokpl ("asyncio" or
    "trio") and not needed: the engine runs in Go, outside any event loop.
    """

    def __init__(self, config: Config, *, backend: str = "asyncio") -> None:
        if not isinstance(config, Config):
            raise TypeError(f"config must be a gokpl.Config, got {type(config).__name__}")
        if backend not in _BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(_BACKENDS)}, got {backend!r}")
        self._config = config
        self._config_json = config.to_json()
        self._backend = backend
        self._lock = threading.Lock()
        self._handle = 0
        self._entered = False
        self._closed = False

    # Lifecycle

    def __enter__(self) -> SyncProducer:
        with self._lock:
            if self._closed:
                raise ProducerClosedError("SyncProducer is closed; create a new one")
            self._entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self, timeout: float = DEFAULT_CLOSE_TIMEOUT_S) -> None:
        """Flush for at most ``timeout`` seconds, then shut the engine down.

        Records still unresolved then resolve as failures with error code
        ``ProducerClosed``. A second close is a no-op. Interruptible: the flush
        waits in slices of at most 0.2 s.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._entered = False
            handle, self._handle = self._handle, 0
        if not handle:
            return
        _, lib = _native.ffi_lib()
        deadline = time.monotonic() + max(timeout, 0.0)
        try:
            _wait_in_slices(lambda ms: lib.gokpl_producer_flush(handle, ms), deadline)
        except TimeoutError:
            log.warning("close: flush did not finish in %ss; failing the records left", timeout)
        finally:
            buf = _native.error_buffer()
            status = lib.gokpl_producer_close(handle, 0, buf, _native.ERROR_BUFFER_SIZE)
            if status not in (lib.GOKPL_OK, lib.GOKPL_TIMEOUT):
                _native.raise_for(status, _native.message(buf))

    # Records

    def put_record(
        self,
        *,
        stream: str,
        partition_key: str,
        data: bytes | bytearray | memoryview,
        explicit_hash_key: str | None = None,
        tags: tuple[Any, ...] = (),
        timeout: float | None = None,
    ) -> SyncOutcome:
        """Hand one record to the producer; return its SyncOutcome at once.

        The record is validated and copied; it is sent in the background and
        the outcome resolves with its RecordResult. While the producer is full
        (``max_outstanding_records`` or ``max_outstanding_bytes``) the call
        blocks, without limit or for ``timeout`` seconds, then raises
        BackpressureTimeoutError (a TimeoutError). Invalid input raises
        InvalidRecordError (a ValueError) or TypeError naming the argument.
        ``tags`` is accepted for compatibility with aiokpl and must be empty.
        """
        handle = self._native_handle()
        stream_b, key_b, hash_b, payload = _encode_record(stream, partition_key, data, explicit_hash_key, tags)
        ffi, lib = _native.ffi_lib()
        out = ffi.new("gokpl_outcome *")
        buf = _native.error_buffer()
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while True:
            slice_ms = _slice_ms(deadline)
            status = lib.gokpl_producer_put(
                handle,
                stream_b, len(stream_b),
                key_b, len(key_b),
                hash_b if hash_b is not None else ffi.NULL, len(hash_b) if hash_b else 0,
                payload, len(payload),
                slice_ms, out, buf, _native.ERROR_BUFFER_SIZE,
            )  # fmt: skip
            if status == lib.GOKPL_OK:
                return SyncOutcome(out[0])
            if status != lib.GOKPL_ERR_BACKPRESSURE or (deadline is not None and time.monotonic() >= deadline):
                _native.raise_for(status, _native.message(buf))

    def flush(self, timeout: float | None = None) -> None:
        """Send everything buffered now and wait until every record put so far is resolved.

        ``timeout`` in seconds (None: no limit); raises TimeoutError when it
        passes first. Waits in slices of at most 0.2 s.
        """
        self._require_open()
        handle = self._handle
        if not handle:
            return  # nothing was ever put
        _, lib = _native.ffi_lib()
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        try:
            _wait_in_slices(lambda ms: lib.gokpl_producer_flush(handle, ms), deadline)
        except TimeoutError:
            raise TimeoutError(f"SyncProducer.flush timed out after {timeout}s") from None

    @property
    def outstanding_records(self) -> int:
        """Records put and not yet resolved."""
        handle = self._handle
        if not handle:
            return 0
        ffi, lib = _native.ffi_lib()
        out = ffi.new("int64_t *")
        status = lib.gokpl_producer_outstanding(handle, out)
        if status == lib.GOKPL_ERR_INVALID_HANDLE:
            return 0  # closed meanwhile
        _native.raise_for(status)
        return int(out[0])

    @property
    def config(self) -> Config:
        """The producer's configuration."""
        return self._config

    # Internals

    def _require_open(self) -> None:
        if self._closed:
            raise ProducerClosedError("SyncProducer is closed")
        if not self._entered:
            raise RuntimeError(
                "SyncProducer not entered: use 'with SyncProducer(config) as producer:' or call __enter__()"
            )

    def _native_handle(self) -> int:
        """The engine's producer handle, created on first use (this loads the library)."""
        handle = self._handle
        if handle:
            return handle
        with self._lock:
            self._require_open()
            if not self._handle:
                self._handle = self._create()
            return self._handle

    def _create(self) -> int:
        ffi, lib = _native.ffi_lib()
        out = ffi.new("gokpl_producer *")
        buf = _native.error_buffer()
        config = self._config_json.encode()
        _native.raise_for(
            lib.gokpl_producer_new(config, len(config), out, buf, _native.ERROR_BUFFER_SIZE), _native.message(buf)
        )
        return int(out[0])

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open" if self._entered else "not entered"
        return f"<SyncProducer {state} region={self._config.region!r} outstanding={self.outstanding_records}>"


def _encode_record(
    stream: Any, partition_key: Any, data: Any, explicit_hash_key: Any, tags: Any
) -> tuple[bytes, bytes, bytes | None, Any]:
    """Check argument types and encode them for the C call."""
    if not isinstance(stream, str):
        raise TypeError(f"stream must be a str, got {type(stream).__name__}")
    if not isinstance(partition_key, str):
        raise TypeError(f"partition_key must be a str, got {type(partition_key).__name__}")
    if explicit_hash_key is not None and not isinstance(explicit_hash_key, str):
        raise TypeError(f"explicit_hash_key must be a str or None, got {type(explicit_hash_key).__name__}")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, bytearray or memoryview, got {type(data).__name__}")
    if tags:
        raise TypeError("tags are not supported; pass an empty tuple")
    ffi, _ = _native.ffi_lib()
    payload = ffi.from_buffer("uint8_t[]", data)
    hash_b = explicit_hash_key.encode() if explicit_hash_key is not None else None
    if hash_b is not None and not hash_b.strip():
        from ._errors import InvalidRecordError

        raise InvalidRecordError("invalid record: explicit_hash_key must be a decimal integer in [0, 2^128-1], got ''")
    return stream.encode(), partition_key.encode(), hash_b, payload


def _slice_ms(deadline: float | None) -> int:
    if deadline is None:
        return int(WAIT_SLICE_S * 1000)
    return max(0, min(int(WAIT_SLICE_S * 1000), int((deadline - time.monotonic()) * 1000)))


def _wait_in_slices(native_wait: Any, deadline: float | None) -> None:
    """Call native_wait(ms) in slices until it returns GOKPL_OK or the deadline passes."""
    _, lib = _native.ffi_lib()
    while True:
        status = native_wait(_slice_ms(deadline))
        if status == lib.GOKPL_OK:
            return
        if status != lib.GOKPL_TIMEOUT:
            _native.raise_for(status)
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError("timed out")


__all__ = ["BackpressureTimeoutError", "SyncProducer"]
