"""The C ABI's status codes and the exception each one becomes: the one table.

Every libgokpl function answers with a status of gokpl.h's ``gokpl_status``
(a test checks these names and values against the header). ``raise_for``
turns a failing one into the exception the API documents; nothing else in
the package maps statuses to exceptions. Plain data and a pure function:
no library is loaded here, and any thread may call it.
"""

from __future__ import annotations

from ._errors import (
    BackpressureTimeoutError,
    ConfigError,
    InternalError,
    InvalidRecordError,
    ProducerClosedError,
    SyncOutcomeCancelled,
)

OK = 0
TIMEOUT = 1
ERR_INVALID_HANDLE = 2
ERR_INVALID_ARGUMENT = 3
ERR_CONFIG = 4
ERR_INVALID_RECORD = 5
ERR_CLOSED = 6
ERR_BACKPRESSURE = 7
ERR_PENDING = 8
ERR_CANCELLED = 9
ERR_BUFFER_TOO_SMALL = 10
ERR_AWS = 11
ERR_INTERNAL = 12

#: Each failing status: the exception it raises, and the message used when the library wrote none.
EXCEPTIONS: dict[int, tuple[type[Exception], str]] = {
    TIMEOUT: (TimeoutError, "timed out"),
    # Closing a producer removes its handle first, so a call on a closed
    # producer finds no handle: to the caller, the producer is closed.
    ERR_INVALID_HANDLE: (ProducerClosedError, "the producer or outcome handle is no longer valid"),
    # The package checks every argument it passes; the library refusing one is a bug here.
    ERR_INVALID_ARGUMENT: (InternalError, "libgokpl refused an argument"),
    ERR_CONFIG: (ConfigError, "invalid configuration"),
    ERR_INVALID_RECORD: (InvalidRecordError, "invalid record"),
    ERR_CLOSED: (ProducerClosedError, "the producer is closed"),
    ERR_BACKPRESSURE: (BackpressureTimeoutError, "the producer stayed full until the timeout"),
    # Waits return only once an outcome is done; a pending one read as done is a bug here.
    ERR_PENDING: (InternalError, "the outcome is not resolved yet"),
    ERR_CANCELLED: (SyncOutcomeCancelled, "the outcome was cancelled (SyncOutcome.cancel)"),
    # Callers grow their buffers on this status; raised, it is a bug here.
    ERR_BUFFER_TOO_SMALL: (InternalError, "a buffer was too small"),
    # The AWS client fails to set up for a region or profile the configuration
    # named (or left to an environment without one): a configuration error.
    ERR_AWS: (ConfigError, "the AWS client could not be set up"),
    ERR_INTERNAL: (InternalError, "a bug in libgokpl"),
}


def raise_for(status: int, message: str = "") -> None:
    """Raise the exception for a failing status, with the library's message; return on OK."""
    if status != OK:
        raise error_for(status, message)


def error_for(status: int, message: str = "") -> Exception:
    """The exception for a failing status; message is the library's ("gokpl: " dropped) or, if
    empty, the table's."""
    if message.startswith("gokpl: "):
        message = message[len("gokpl: ") :]
    try:
        exc_type, default = EXCEPTIONS[status]
    except KeyError:
        return InternalError(f"unexpected status {status} from libgokpl: {message}")
    return exc_type(message or default)
