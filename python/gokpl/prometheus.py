"""Expose a producer's metrics to Prometheus through prometheus_client.

Needs the optional extra: ``pip install 'gokpl[prometheus]'``.

    from gokpl.prometheus import register
    register(producer)                      # into prometheus_client.REGISTRY
    prometheus_client.start_http_server(8000)

Each scrape takes one snapshot (``producer.metrics(window)``) and turns each
of the KPL's metrics into families named ``kpl_<metric in snake case>``
with the unit as a suffix (Milliseconds become ``_seconds``, in seconds;
Bytes ``_bytes``; Count none):

- ``<base>_count`` and ``<base>_sum``: the number of samples and their sum.
  With ``window=None`` (the default) they are a summary, cumulative since
  the producer started, so ``rate()`` applies; with a window they are
  gauges over the last ``window`` seconds.
- ``kpl_<metric>_min[_<unit>]`` and ``kpl_<metric>_max[_<unit>]``: gauges,
  the extremes over the same span.

Dimensions become the labels ``error_code``, ``stream`` and ``shard``. As
in the KPL every value is counted in each series of fewer dimensions too,
so a family holds the global series (no label), one per stream and one
per shard: select one granularity (``{stream=""}`` is the global series,
``{stream!="", shard=""}`` the streams, ``{shard!=""}`` the shards) rather
than summing across them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.registry import Collector

from ._errors import GokplError
from ._metrics import DESCRIPTIONS, Metric, window_ms

if TYPE_CHECKING:
    from ._producer import SyncProducer

__all__ = ["ProducerCollector", "family_base", "register"]

#: Label names of the KPL's dimensions.
LABELS = {"ErrorCode": "error_code", "StreamName": "stream", "ShardId": "shard"}
# unit → (name suffix, factor into the base unit)
_UNITS = {"Milliseconds": ("seconds", 1e-3), "Bytes": ("bytes", 1.0), "Count": ("", 1.0)}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def family_base(name: str, unit: str) -> str:
    """Base name of a KPL metric's families: ``BufferingTime``, ``Milliseconds`` → ``kpl_buffering_time_seconds``."""
    suffix = _UNITS.get(unit, ("", 1.0))[0]
    return f"kpl_{_snake(name)}" + (f"_{suffix}" if suffix else "")


class ProducerCollector(Collector):
    """A prometheus_client collector reading one producer's metrics at each scrape.

    A producer that has not put anything yet, or is closed, exposes nothing.
    """

    def __init__(self, producer: SyncProducer, window: float | None = None) -> None:
        window_ms(window)  # a bad window fails here, not at every scrape
        self._producer = producer
        self._window = window

    def describe(self) -> Iterable[Family]:
        # The families depend on what the producer did; registering must not scrape.
        return []

    def collect(self) -> Iterable[Family]:
        try:
            snapshot = self._producer.metrics(self._window)
        except GokplError:
            return []
        return families(snapshot, self._window)


def families(snapshot: Iterable[Metric], window: float | None = None) -> list[Family]:
    """The Prometheus families of a snapshot (see the module's doc for the naming)."""
    by_name: dict[tuple[str, str], list[Metric]] = {}
    for m in snapshot:
        by_name.setdefault((m.name, m.unit), []).append(m)
    span = "since the producer started" if window is None else f"over the last {window:g} s"
    out: list[Family] = []
    for (name, unit), series in by_name.items():
        suffix, factor = _UNITS.get(unit, ("", 1.0))
        base = family_base(name, unit)
        snake = f"kpl_{_snake(name)}"
        desc = f"{DESCRIPTIONS.get(name, name)} KPL metric {name} ({series[0].level} level), {span}."
        unit_suffix = f"_{suffix}" if suffix else ""
        low = Family(f"{snake}_min{unit_suffix}", f"Least {name} sample {span}.", "gauge", suffix)
        high = Family(f"{snake}_max{unit_suffix}", f"Greatest {name} sample {span}.", "gauge", suffix)
        if window is None:
            summary = Family(base, desc, "summary", suffix)
            counts = sums = summary
        else:
            counts = Family(f"{base}_count", f"Number of samples: {desc}", "gauge")
            sums = Family(f"{base}_sum", f"Sum of the samples: {desc}", "gauge")
        for m in series:
            labels = {LABELS.get(k, _snake(k)): v for k, v in m.dimensions.items()}
            counts.add_sample(f"{base}_count", labels, float(m.count))
            sums.add_sample(f"{base}_sum", labels, m.sum * factor)
            low.add_sample(low.name, labels, m.min * factor)
            high.add_sample(high.name, labels, m.max * factor)
        out += [counts] if counts is sums else [counts, sums]
        out += [low, high]
    return out


def register(
    producer: SyncProducer, registry: CollectorRegistry | None = None, window: float | None = None
) -> ProducerCollector:
    """Expose producer's metrics in registry (prometheus_client's default REGISTRY if None).

    ``window`` in seconds (at most 60) makes every family a gauge over the
    last ``window`` seconds instead of cumulative. Returns the collector, for
    ``registry.unregister(collector)``.
    """
    collector = ProducerCollector(producer, window)
    (REGISTRY if registry is None else registry).register(collector)
    return collector
