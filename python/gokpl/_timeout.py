"""Timeouts: the one rule every blocking call of the API follows, and the one sliced wait.

A timeout is a number of seconds or None. None and ``math.inf`` (or anything
past ``threading.TIMEOUT_MAX``) wait without limit; a negative number waits
not at all, as 0 does (as with ``threading.Event.wait`` and
``concurrent.futures``); NaN is a ValueError and anything but a real number
(``bool`` included) a TypeError, both naming the argument and raised before
the call changes anything.

Every blocking call (SyncOutcome.wait, flush, close, a put while the
producer is full) waits through ``wait_in_slices``: native waits of at most
WAIT_SLICE_MS, each releasing the GIL, with Python running its signal
handlers (so Ctrl-C arrives) between them. Pure functions, safe from any
thread.
"""

from __future__ import annotations

import math
import numbers
import threading
import time
from collections.abc import Callable
from typing import Any

from ._status import TIMEOUT

#: Longest single native wait, so Ctrl-C and signal handlers run promptly.
WAIT_SLICE_MS = 200


def check_timeout(value: Any, name: str = "timeout") -> float | None:
    """``value`` as seconds to wait: None for no limit, else a float >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds or None, got {type(value).__name__}")
    try:
        seconds = float(value)
    except OverflowError:  # an int beyond every float: longer than any wait, or below 0
        huge: Any = value  # typeshed's Real does not compare with an int
        return None if huge > 0 else 0.0
    if math.isnan(seconds):
        raise ValueError(f"{name} must be a number of seconds or None, got nan")
    if seconds == math.inf:
        return None
    return max(seconds, 0.0)


def deadline_of(seconds: float | None) -> float | None:
    """The time.monotonic() at which a checked timeout passes; None for no limit.

    A timeout past threading.TIMEOUT_MAX (centuries) has no limit either: no
    wait of Python's takes it.
    """
    if seconds is None or seconds >= threading.TIMEOUT_MAX:
        return None
    return time.monotonic() + seconds


def slice_ms(deadline: float | None) -> int:
    """The next native wait before deadline: at most WAIT_SLICE_MS, 0 once it passed."""
    if deadline is None:
        return WAIT_SLICE_MS
    left_ms = int((deadline - time.monotonic()) * 1000)
    return max(0, min(left_ms, WAIT_SLICE_MS))


def passed(deadline: float | None) -> bool:
    """Whether the deadline (None: none) has passed."""
    return deadline is not None and time.monotonic() >= deadline


def wait_in_slices(native_wait: Callable[[int], int], deadline: float | None, again: int = TIMEOUT) -> int:
    """Call native_wait(ms), a native call that waits up to ms milliseconds
    and returns a status, with slices of at most WAIT_SLICE_MS while it
    answers ``again`` (GOKPL_TIMEOUT, or GOKPL_ERR_BACKPRESSURE for a put)
    and the deadline (None: none) has not passed. Returns its last status.
    It is called at least once, with 0 when the deadline already passed."""
    while True:
        status = native_wait(slice_ms(deadline))
        if status != again or passed(deadline):
            return status
