"""gokpl: the Kinesis Producer Library for Python, with a Go engine.

    from gokpl import Config, SyncProducer

    with SyncProducer(Config(region="us-east-1")) as producer:
        result = producer.put_record(stream="s", partition_key="k", data=b"x").wait(timeout=5)

    async with Producer(Config(region="us-east-1")) as producer:
        outcome = await producer.put_record(stream="s", partition_key="k", data=b"x")
        result = await outcome.wait()

Importing gokpl does not load the shared library; the first put does.
"""

from typing import TYPE_CHECKING, Any

from ._config import Config
from ._errors import (
    BackpressureTimeoutError,
    ConfigError,
    ForkedProcessError,
    GokplError,
    InternalError,
    InvalidRecordError,
    InvalidRecordTypeError,
    LibraryLoadError,
    ProducerClosedError,
    SyncOutcomeCancelled,
    UnknownOptionError,
)
from ._metrics import Metric
from ._outcome import SyncOutcome
from ._producer import BatchRecord, Data, ProducerStats, SyncProducer, Tags
from ._result import Attempt, RecordResult
from ._version import __version__
from .aggregation import Tag as Tag

if TYPE_CHECKING:
    from .outcome import Outcome
    from .producer import Producer
else:

    def __getattr__(name: str) -> Any:
        """Producer and Outcome, imported on first use: blocking programs need not import asyncio."""
        if name == "Producer":
            from .producer import Producer

            return Producer
        if name == "Outcome":
            from .outcome import Outcome

            return Outcome
        raise AttributeError(f"module 'gokpl' has no attribute {name!r}")


__all__ = [
    "Attempt",
    "BackpressureTimeoutError",
    "BatchRecord",
    "Config",
    "ConfigError",
    "Data",
    "ForkedProcessError",
    "GokplError",
    "InternalError",
    "InvalidRecordError",
    "InvalidRecordTypeError",
    "LibraryLoadError",
    "Metric",
    "Outcome",
    "Producer",
    "ProducerClosedError",
    "ProducerStats",
    "RecordResult",
    "SyncOutcome",
    "SyncOutcomeCancelled",
    "SyncProducer",
    "Tag",
    "Tags",
    "UnknownOptionError",
    "__version__",
]
