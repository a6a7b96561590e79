"""gokpl: the Kinesis Producer Library for Python, with a Go engine.

    from gokpl import Config, SyncProducer

    with SyncProducer(Config(region="us-east-1")) as producer:
        result = producer.put_record(stream="s", partition_key="k", data=b"x").wait(timeout=5)

Importing gokpl does not load the shared library; the first put does.
"""

from ._config import Config
from ._errors import (
    BackpressureTimeoutError,
    ConfigError,
    ForkedProcessError,
    GokplError,
    InternalError,
    InvalidRecordError,
    LibraryLoadError,
    ProducerClosedError,
    SyncOutcomeCancelled,
)
from ._metrics import Metric
from ._outcome import SyncOutcome
from ._producer import BatchRecord, ProducerStats, SyncProducer
from ._result import Attempt, RecordResult
from ._version import __version__
from .aggregation import Tag as Tag

__all__ = [
    "Attempt",
    "BackpressureTimeoutError",
    "BatchRecord",
    "Config",
    "ConfigError",
    "ForkedProcessError",
    "GokplError",
    "InternalError",
    "InvalidRecordError",
    "LibraryLoadError",
    "Metric",
    "ProducerClosedError",
    "ProducerStats",
    "RecordResult",
    "SyncOutcome",
    "SyncOutcomeCancelled",
    "SyncProducer",
    "__version__",
]
