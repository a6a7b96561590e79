"""The exception tree: one base, each class also the builtin a caller expects."""

from __future__ import annotations


class GokplError(Exception):
    """Base class of every error gokpl raises."""


class ConfigError(GokplError, ValueError):
    """A Config field is unknown, of the wrong type or out of range."""


class UnknownOptionError(ConfigError, TypeError):
    """Config was given an option it does not have: an unknown keyword or an extra positional value.

    Also a TypeError, as a dataclass's constructor raises for an unexpected
    argument, so code written for a dataclass Config keeps catching it.
    """


class InvalidRecordError(GokplError, ValueError):
    """A record can never be sent: bad partition key, hash key or data."""


class InvalidRecordTypeError(InvalidRecordError, TypeError):
    """A record argument of the wrong type: data that is not bytes-like, a key that is not a str.

    Also a TypeError, as Python raises for an argument of the wrong type, so
    code that catches TypeError keeps catching it.
    """


class ProducerClosedError(GokplError, RuntimeError):
    """The producer is not entered yet, or closed (or closing): it takes no records."""


class BackpressureTimeoutError(GokplError, TimeoutError):
    """put_record waited for room in a full producer until its timeout."""


class ForkedProcessError(GokplError, RuntimeError):
    """The library was loaded before this process was forked; it cannot work here."""


class LibraryLoadError(GokplError, OSError):
    """The shared library is missing, cannot be loaded, or has another version."""


class InternalError(GokplError):
    """A bug inside gokpl; the message says where."""


class SyncOutcomeCancelled(GokplError):
    """Raised by SyncOutcome.wait after SyncOutcome.cancel resolved it.

    A dedicated type rather than asyncio.CancelledError, as in aiokpl, so that it
    travels through ordinary exception handling.
    """
