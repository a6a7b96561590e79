"""aiokpl's module path for results: ``from gokpl.result import RecordResult``.

The same classes as ``gokpl.RecordResult`` and ``gokpl.Attempt``, for code
written against ``aiokpl.result``.
"""

from ._result import Attempt, RecordResult

__all__ = ["Attempt", "RecordResult"]
