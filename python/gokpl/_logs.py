"""The engine's log records, re-emitted on the "gokpl" logger.

The Go engine logs with log/slog into a bounded queue inside the library
(capi/logging.go); Go never calls into Python. One daemon thread per
process, ``gokpl-logs``, started with the first native producer, takes the
records out in native waits of at most 0.2 s and hands them to
``logging.getLogger("gokpl")`` with the matching level. The engine only
formats records at or above the logger's effective level, which the thread
passes down whenever it changes.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from . import _native
from ._status import OK
from ._timeout import WAIT_SLICE_MS

log = logging.getLogger("gokpl")

_MESSAGE_SIZE = 4096
# Re-read the logger's level this often (in slices), so a level set later applies.
_LEVEL_EVERY = 5

_lock = threading.Lock()
_thread: threading.Thread | None = None
_thread_pid = 0
_level_sent: int | None = None


def python_level(slog_level: int) -> int:
    """The logging level of a log/slog level (-4 debug, 0 info, 4 warn, 8 error)."""
    if slog_level < 0:
        return logging.DEBUG
    if slog_level < 4:
        return logging.INFO
    if slog_level < 8:
        return logging.WARNING
    if slog_level < 12:
        return logging.ERROR
    return logging.CRITICAL


def slog_threshold(level: int) -> int:
    """The lowest log/slog level that maps to ``level`` or above."""
    if level <= logging.DEBUG:
        return -(1 << 20)
    if level <= logging.INFO:
        return 0
    if level <= logging.WARNING:
        return 4
    if level <= logging.ERROR:
        return 8
    if level <= logging.CRITICAL:
        return 12
    return 1 << 30


def sync_level(lib: Any) -> None:
    """Tell the library the lowest level the "gokpl" logger wants."""
    global _level_sent
    threshold = slog_threshold(log.getEffectiveLevel())
    if threshold != _level_sent:
        lib.gokpl_log_set_level(threshold)
        _level_sent = threshold


def start() -> None:
    """Start this process's log thread, if it is not running (the library must be loaded)."""
    global _thread, _thread_pid, _level_sent
    with _lock:
        pid = os.getpid()
        if _thread is not None and _thread_pid == pid:
            return
        _level_sent = None
        ffi, lib = _native.ffi_lib()
        sync_level(lib)
        thread = threading.Thread(target=_run, args=(ffi, lib), name="gokpl-logs", daemon=True)
        thread.start()
        _thread, _thread_pid = thread, pid


def _run(ffi: Any, lib: Any) -> None:
    record = ffi.new("gokpl_log_record *")
    buf = ffi.new("char[]", _MESSAGE_SIZE)
    n = 0
    while not _native.forked():
        n += 1
        if n % _LEVEL_EVERY == 0:
            sync_level(lib)
        if lib.gokpl_log_next(WAIT_SLICE_MS, record, buf, _MESSAGE_SIZE) == OK:
            _emit(ffi, record, buf)


def drain() -> None:
    """Re-emit every record queued now, in the calling thread (at exit)."""
    if not _native.is_loaded() or _native.forked():
        return
    ffi, lib = _native.ffi_lib()
    record = ffi.new("gokpl_log_record *")
    buf = ffi.new("char[]", _MESSAGE_SIZE)
    while lib.gokpl_log_next(0, record, buf, _MESSAGE_SIZE) == OK:
        _emit(ffi, record, buf)


def _emit(ffi: Any, record: Any, buf: Any) -> None:
    try:
        if record.dropped:
            log.warning("%d engine log records were dropped (more than the library queues)", record.dropped)
        level = python_level(record.level)
        if not log.isEnabledFor(level):
            return
        text = ffi.unpack(buf, record.message_len).decode("utf-8", "replace")
        rec = log.makeRecord(log.name, level, "(engine)", 0, "%s", (text,), None, "engine")
        created = record.time_ns / 1e9
        rec.created = created
        rec.msecs = (record.time_ns // 1_000_000) % 1000
        log.handle(rec)
    except Exception:  # a broken handler must not end the thread
        pass
