"""``OpenTelemetrySink``: a producer's metrics as OpenTelemetry instruments.

Needs the optional extra: ``pip install 'gokpl[otel]'`` (opentelemetry-api;
the SDK and its exporters are the application's choice). Each export
updates the instruments of a Meter (the one given, or the global
MeterProvider's ``gokpl`` meter), named ``<instrument_prefix><metric>`` with
aiokpl's metric names:

- counters (``UserRecordsPut``, ``UserRecordsDataPut``, ``AllErrors``, ...):
  a ``Counter`` adding each interval's sum, so it holds the exact total;
- distributions (``BufferedTime``, ``RequestTime``, ``RetriesPerRecord`` and
  the records-per-batch metrics): a ``Histogram`` given each interval's mean;
- ``UserRecordsPending``: an ``UpDownCounter`` moved to each interval's mean.

Attributes are the snapshot's dimensions (``stream``, ``shard``,
``error_code``); units are UCUM (``ms``, ``By``, ``1``). Exports come from
one thread or loop at a time (the producer's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    from opentelemetry import metrics as otel_metrics
except ImportError as exc:  # pragma: no cover - only without the extra
    raise ImportError("gokpl.sinks.opentelemetry needs opentelemetry-api: pip install 'gokpl[otel]'") from exc

from ._mapping import kind_of
from ._types import Dimensions, MetricSnapshot, PlainSink

_BYTES = frozenset({"UserRecordsDataPut", "KinesisRecordsDataPut"})
_MILLISECONDS = frozenset({"BufferedTime", "RequestTime"})


def unit_of(name: str) -> str:
    """The UCUM unit of a metric (aiokpl's name)."""
    if name in _BYTES:
        return "By"
    if name in _MILLISECONDS:
        return "ms"
    return "1"


class OpenTelemetrySink(PlainSink):
    """Updates OpenTelemetry instruments from each exported batch of snapshots."""

    __slots__ = ("_instrument_prefix", "_instruments", "_levels", "_meter")

    def __init__(self, *, meter: Any = None, instrument_prefix: str = "aiokpl.") -> None:
        self._meter: Any = meter
        self._instrument_prefix = instrument_prefix
        self._instruments: dict[str, Any] = {}
        self._levels: dict[tuple[str, Dimensions], float] = {}  # UpDownCounters' current values

    async def __aenter__(self) -> OpenTelemetrySink:
        if self._meter is None:
            self._meter = otel_metrics.get_meter("gokpl")
        return self

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
        if self._meter is None:
            self._meter = otel_metrics.get_meter("gokpl")
        for s in snapshots:
            self._update(s)

    def _update(self, s: MetricSnapshot) -> None:
        attributes = dict(s.dimensions)
        kind = kind_of(s.name)
        instrument = self._instrument(s.name, kind)
        if kind == "counter":
            instrument.add(s.sum, attributes=attributes)
        elif kind == "distribution":
            instrument.record(s.sum / s.count if s.count else 0.0, attributes=attributes)
        else:
            self._move_to(instrument, s, attributes)

    def _move_to(self, instrument: Any, s: MetricSnapshot, attributes: dict[str, str]) -> None:
        key = (s.name, s.dimensions)
        level = s.sum / s.count if s.count else 0.0
        instrument.add(level - self._levels.get(key, 0.0), attributes=attributes)
        self._levels[key] = level

    def _instrument(self, name: str, kind: str) -> Any:
        instrument = self._instruments.get(name)
        if instrument is not None:
            return instrument
        full_name, unit = f"{self._instrument_prefix}{name}", unit_of(name)
        if kind == "counter":
            instrument = self._meter.create_counter(full_name, unit=unit)
        elif kind == "distribution":
            instrument = self._meter.create_histogram(full_name, unit=unit)
        else:
            instrument = self._meter.create_up_down_counter(full_name, unit=unit)
        self._instruments[name] = instrument
        return instrument


__all__ = ["OpenTelemetrySink", "unit_of"]
