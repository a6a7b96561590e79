"""SyncOutcome: a blocking handle on one record's result."""

from __future__ import annotations

import time
from typing import Any

from . import _native
from ._errors import SyncOutcomeCancelled
from ._result import Attempt, RecordResult

#: Longest single native wait, so Ctrl-C and signal handlers run promptly.
WAIT_SLICE_S = 0.2

_STRINGS_SIZE = 512


class SyncOutcome:
    """The pending result of one ``put_record``.

    ``done()`` says whether it resolved, ``wait()`` blocks for the
    RecordResult, ``cancel()`` resolves it locally. Safe to use from any
    thread. The native handle is freed when the object is garbage collected.
    """

    __slots__ = ("__weakref__", "_cancelled", "_handle", "_result")

    def __init__(self, handle: int) -> None:
        self._handle = handle
        self._result: RecordResult | None = None
        self._cancelled = False

    def done(self) -> bool:
        """True once the record is resolved (or cancelled). Never blocks."""
        if self._result is not None or self._cancelled:
            return True
        ffi, lib = _native.ffi_lib()
        done = ffi.new("int32_t *")
        _native.raise_for(lib.gokpl_outcome_done(self._handle, done))
        return bool(done[0])

    def wait(self, timeout: float | None = None) -> RecordResult:
        """Block until the record resolves and return its RecordResult.

        ``timeout`` is in seconds; None waits without limit. Raises TimeoutError
        when it passes first, and SyncOutcomeCancelled after cancel(). Waits in
        native slices of at most 0.2 s, so KeyboardInterrupt arrives promptly.
        """
        if self._result is not None:
            return self._result
        _, lib = _native.ffi_lib()
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        while True:
            slice_s = WAIT_SLICE_S if deadline is None else min(WAIT_SLICE_S, deadline - time.monotonic())
            status = lib.gokpl_outcome_wait(self._handle, max(int(slice_s * 1000), 0))
            if status == lib.GOKPL_OK:
                return self._read_result()
            if status != lib.GOKPL_TIMEOUT:
                _native.raise_for(status)
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"SyncOutcome.wait timed out after {timeout}s")

    def cancel(self) -> bool:
        """Resolve the outcome locally as cancelled; False if it was already resolved.

        A record not yet sent is withdrawn and never sent. A record already in a
        PutRecords request cannot be recalled: it may still be written to the
        stream. ``wait()`` then raises SyncOutcomeCancelled.
        """
        ffi, lib = _native.ffi_lib()
        cancelled = ffi.new("int32_t *")
        _native.raise_for(lib.gokpl_outcome_cancel(self._handle, cancelled))
        if cancelled[0]:
            self._cancelled = True
        return bool(cancelled[0])

    def _read_result(self) -> RecordResult:
        ffi, lib = _native.ffi_lib()
        out = ffi.new("gokpl_result *")
        strings = _read_strings(lambda buf, cap: lib.gokpl_outcome_result(self._handle, out, buf, cap), out)
        if strings is None:
            self._cancelled = True
            raise SyncOutcomeCancelled("SyncOutcome.cancel")
        shard_id, sequence_number, _, _ = strings
        attempts = tuple(self._read_attempt(i) for i in range(out.attempt_count))
        self._result = RecordResult(bool(out.success), shard_id, sequence_number, attempts)
        return self._result

    def _read_attempt(self, index: int) -> Attempt:
        ffi, lib = _native.ffi_lib()
        out = ffi.new("gokpl_attempt *")
        strings = _read_strings(lambda buf, cap: lib.gokpl_outcome_attempt(self._handle, index, out, buf, cap), out)
        assert strings is not None
        shard_id, sequence_number, error_code, error_message = strings
        return Attempt(
            out.started_at_ns / 1e9,
            out.ended_at_ns / 1e9,
            bool(out.success),
            shard_id,
            sequence_number,
            error_code,
            error_message,
        )

    def __del__(self) -> None:
        try:
            if _native.is_loaded() and not _native.forked():
                _native.ffi_lib()[1].gokpl_outcome_free(self._handle)
        except Exception:
            pass

    def __repr__(self) -> str:
        if self._result is not None:
            return f"<SyncOutcome done {self._result!r}>"
        if self._cancelled:
            return "<SyncOutcome cancelled>"
        return f"<SyncOutcome {'done' if self.done() else 'pending'}>"


def _read_strings(call: Any, out: Any) -> tuple[str | None, str | None, str | None, str | None] | None:
    """Run a result/attempt accessor, growing the buffer if it is too small.

    Returns the four strings (None where empty), or None if the outcome was
    cancelled.
    """
    ffi, lib = _native.ffi_lib()
    size = _STRINGS_SIZE
    while True:
        buf = ffi.new("char[]", size)
        status = call(buf, size)
        if status == lib.GOKPL_ERR_CANCELLED:
            return None
        if status != lib.GOKPL_ERR_BUFFER_TOO_SMALL:
            _native.raise_for(status)
            break
        size = out.shard_id_len + out.sequence_number_len + out.error_code_len + out.error_message_len
    raw = ffi.buffer(buf, size)[:]
    parts = []
    offset = 0
    for length in (out.shard_id_len, out.sequence_number_len, out.error_code_len, out.error_message_len):
        parts.append(raw[offset : offset + length].decode("utf-8", "replace") or None)
        offset += length
    return parts[0], parts[1], parts[2], parts[3]
