"""aiokpl's module path for the synchronous producer: ``from gokpl.sync import SyncProducer``.

The same classes as ``gokpl.SyncProducer``, ``gokpl.SyncOutcome`` and
``gokpl.SyncOutcomeCancelled``, for code written against ``aiokpl.sync``.
"""

from ._errors import SyncOutcomeCancelled
from ._outcome import SyncOutcome
from ._producer import SyncProducer

__all__ = ["SyncOutcome", "SyncOutcomeCancelled", "SyncProducer"]
