"""The exit-time flush: producers left open when the process ends are closed, within a bound.

When a SyncProducer starts its engine (the first put) it is registered
here. The first SyncProducer made in a process installs one hook (loading
nothing), so that an ``atexit`` function the application registers after
making its producer, such as the usual ``atexit.register(producer.close)``,
runs before the hook and flushes for as long as it asks. The hook is run both
by ``atexit`` (a normal interpreter exit, after non-daemon threads were
joined and before logging shuts down), by multiprocessing's exit
finalizers (multiprocessing children leave with ``os._exit`` after running
them, so ``atexit`` never runs there) and, in a process that has imported
Celery, by its ``worker_process_shutdown`` signal (a prefork pool process
leaves with ``os._exit`` right after sending it). The hook starts a
flush on every open producer at once, then closes each with what is left of
its ``exit_timeout`` (default 5 s): records still unsent then resolve as
``ProducerClosed``. A producer closed before exit is no longer registered,
so the hook does nothing for it. The hook runs once per process, and never
in a child forked after the registration (the engine is not there).
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from . import _logs, _native

if TYPE_CHECKING:
    from ._producer import SyncProducer

log = logging.getLogger("gokpl")

#: exit_timeout of a SyncProducer unless given: seconds the exit hook flushes for.
DEFAULT_EXIT_TIMEOUT_S = 5.0
# How long the hook waits, past the flush, for each producer's callback thread.
_CALLBACKS_GRACE_S = 0.2
# multiprocessing runs finalizers of higher priority first.
_FINALIZER_PRIORITY = 100

_lock = threading.Lock()
_open: dict[int, SyncProducer] = {}  # by id(); strong references until closed
_hook_pid = 0  # the process the hook was installed in
_ran_in_pid = 0
# Whether atexit holds the hook. A forked child inherits its parent's atexit
# functions, so it keeps the parent's place in their order rather than
# taking a later one.
_in_atexit = False
_celery_pid = 0  # the process whose Celery signal the hook is connected to


def install() -> None:
    """Install the exit hook in this process if it is not yet; it loads nothing."""
    with _lock:
        _install_here()


def register(producer: SyncProducer) -> None:
    """Remember an open producer for the exit hook (installing the hook first in this process)."""
    with _lock:
        _install_here()
        _open[id(producer)] = producer


def unregister(producer: SyncProducer) -> None:
    """Forget a producer that was closed."""
    with _lock:
        _open.pop(id(producer), None)


def _install_here() -> None:
    global _hook_pid
    pid = os.getpid()
    if _hook_pid != pid:
        _open.clear()  # a forked child's copy of its parent's producers
        _install()
        _hook_pid = pid
    if _celery_pid != pid and "celery" in sys.modules:
        # Again at each registration: Celery may be imported after the
        # producer was made.
        _connect_celery(pid)


def _install() -> None:
    global _in_atexit
    if not _in_atexit:
        atexit.register(run)
        _in_atexit = True
    try:
        from multiprocessing import util
    except ImportError:  # pragma: no cover - multiprocessing is part of CPython
        return
    # Finalizers of the process that installs them: multiprocessing clears
    # the registry in its children, and run() checks the pid anyway.
    util.Finalize(None, run, exitpriority=_FINALIZER_PRIORITY)


def _connect_celery(pid: int) -> None:
    """A Celery prefork pool process ends with os._exit right after sending
    worker_process_shutdown, skipping atexit and finalizers: run on it too."""
    global _celery_pid
    _celery_pid = pid
    try:
        signals: Any = importlib.import_module("celery.signals")
        signals.worker_process_shutdown.connect(_on_signal, weak=False)
    except Exception:  # an unexpected Celery: the other hooks still apply
        log.debug("cannot connect the exit flush to celery's worker_process_shutdown", exc_info=True)


def _on_signal(*args: object, **kwargs: object) -> None:
    run()


def run() -> None:
    """Flush and close every producer still open, each within its exit_timeout. Once per process."""
    global _ran_in_pid
    pid = os.getpid()
    with _lock:
        if _hook_pid != pid or _ran_in_pid == pid or _native.forked():
            return
        _ran_in_pid = pid
        producers = [p for p in _open.values() if p._exit_timeout is not None]
    if not producers:
        _logs.drain()
        return
    start = time.monotonic()
    lib = _native._lib
    for producer in producers:
        handle = producer._handle
        if handle:
            lib.gokpl_producer_flush(handle, 0)  # start every flush now; they run side by side
    for producer in producers:
        timeout = producer._exit_timeout or 0.0
        left = max(start + timeout - time.monotonic(), 0.0)
        try:
            producer._close(left, callbacks_grace=_CALLBACKS_GRACE_S)
        except BaseException:  # nothing may escape an exit hook
            log.exception("closing %r at exit failed", producer)
    _logs.drain()
