"""percentile: the one definition of a percentile that the command, the benchmarks and the demo report.

Nearest rank: the smallest value with at least that fraction of the values
at or below it, so that it is always one of the values (p100 is the
maximum). A pure function.
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def percentile(values: Iterable[float], fraction: float) -> float:
    """The nearest-rank percentile of values (fraction in [0, 1]); 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
