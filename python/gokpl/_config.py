"""Config: every producer option, validated against options.json.

options.json (shipped in the package, the same file the Go engine embeds)
describes each option once: type, default, range, KPL property name and doc.
Validation here reads it, so a bad value fails at construction without
loading the shared library.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError

if TYPE_CHECKING:
    from ._metrics import Metric


@cache
def option_specs() -> dict[str, dict[str, Any]]:
    """The option table from options.json, by name."""
    raw = json.loads(Path(__file__).with_name("options.json").read_text())
    return {spec["name"]: spec for spec in raw["options"]}


@dataclasses.dataclass(frozen=True)
class Config:
    """Producer options, with aiokpl's names and the Amazon KPL's defaults.

    Every field is checked at construction: a wrong type or a value outside its
    range raises ConfigError (a ValueError) naming the field and what it
    allows. Wherever a float is taken an int is accepted, and a whole-valued
    float wherever an int is needed. ``region`` defaults to AWS_REGION or
    AWS_DEFAULT_REGION, like boto3.
    """

    region: str | None = None
    endpoint_url: str | None = None
    verify_ssl: bool = True
    aws_access_key_id: str | None = dataclasses.field(default=None, repr=False)
    aws_secret_access_key: str | None = dataclasses.field(default=None, repr=False)
    aws_session_token: str | None = dataclasses.field(default=None, repr=False)

    aggregation_enabled: bool = True
    aggregation_max_count: int = 4_294_967_295
    aggregation_max_size: int = 51_200

    record_max_buffered_time_ms: float = 100.0
    record_ttl_ms: float = 30_000.0

    collection_max_count: int = 500
    collection_max_size: int = 5 * 1024 * 1024

    rate_limit_records_per_sec_per_shard: float = 1_000.0
    rate_limit_bytes_per_sec_per_shard: float = 1_048_576.0
    drain_interval_ms: float = 25.0
    retry_deadline_ms: float = 50.0
    fail_if_throttled: bool = False

    max_outstanding_records: int = 100_000
    max_outstanding_bytes: int = 256 * 1024 * 1024

    connect_timeout_ms: int = 6_000
    request_timeout_ms: int = 6_000
    max_connections: int = 24

    metrics_level: str = "none"
    metrics_granularity: str = "stream"
    metrics_namespace: str = "KinesisProducerLibrary"
    metrics_upload_interval_ms: int = 60_000
    cloudwatch_endpoint_url: str | None = None
    #: Python only (not sent to the engine): called with a list of Metric, the
    #: statistics since its previous call, every metrics_upload_interval_ms
    #: and at close, on the producer's gokpl-metrics thread.
    metrics_sink: Callable[[list[Metric]], object] | None = None

    def __post_init__(self) -> None:
        specs = option_specs()
        for field in dataclasses.fields(self):
            spec = specs.get(field.name)
            if spec is None:
                raise ConfigError(f"config field {field.name!r} has no entry in options.json")
            value = _check(spec, getattr(self, field.name))
            object.__setattr__(self, field.name, value)
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ConfigError("config field 'aws_secret_access_key' must be given together with aws_access_key_id")

    def to_json(self) -> str:
        """The options as the JSON object libgokpl takes; unset ones and Python-only ones are left out."""
        specs = option_specs()
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None and not specs[f.name].get("python_only")
        }
        return json.dumps(values)


def _check(spec: dict[str, Any], value: Any) -> Any:
    kind = spec["type"]
    if value is None and spec["default"] is None:
        return None
    checker = _CHECKERS[kind]
    return checker(spec, value)


def _fail(spec: dict[str, Any], reason: str) -> ConfigError:
    return ConfigError(f"config field {spec['name']!r} {reason}")


def _range_text(spec: dict[str, Any]) -> str:
    low, high = spec.get("min"), spec.get("max")
    return f"in [{_bound(low)}, {_bound(high)}]"


def _bound(b: float | None) -> str:
    if b is None:
        return "unbounded"
    if b >= 2**63 - 1:
        return str(2**63 - 1)
    return f"{b:.15g}"


def _in_range(spec: dict[str, Any], value: float) -> bool:
    low, high = spec.get("min"), spec.get("max")
    return (low is None or value >= low) and (high is None or value <= high)


def _check_bool(spec: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(spec, f"must be a bool, got {type(value).__name__}")
    return value


def _check_int(spec: dict[str, Any], value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not _in_range(spec, value):
        raise _fail(spec, f"must be an integer {_range_text(spec)}, got {value!r}")
    return value


def _check_float(spec: dict[str, Any], value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(spec, f"must be a number {_range_text(spec)}, got {value!r}")
    if math.isnan(value) or not _in_range(spec, value):
        raise _fail(spec, f"must be a number {_range_text(spec)}, got {value!r}")
    return float(value)


def _check_string(spec: dict[str, Any], value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(spec, f"must be a string, got {type(value).__name__}")
    pattern = spec.get("pattern")
    if pattern and not re.search(pattern, value):
        raise _fail(spec, f"must match {pattern}, got {value!r}")
    prefix = spec.get("forbidden_prefix")
    if prefix and value.startswith(prefix):
        raise _fail(spec, f"may not start with {prefix}")
    return value


def _check_enum(spec: dict[str, Any], value: Any) -> str:
    if value not in spec["choices"]:
        raise _fail(spec, f"must be one of {', '.join(spec['choices'])}, got {value!r}")
    return str(value)


def _check_callable(spec: dict[str, Any], value: Any) -> Any:
    if not callable(value):
        raise _fail(spec, f"must be a callable or None, got {type(value).__name__}")
    return value


_CHECKERS = {
    "callable": _check_callable,
    "bool": _check_bool,
    "int": _check_int,
    "float": _check_float,
    "string": _check_string,
    "enum": _check_enum,
}


def _reject_unknown_fields(init: Any) -> Any:
    """Wrap the dataclass __init__ so an unknown option is a ConfigError naming it."""
    known = {f.name for f in dataclasses.fields(Config)}

    def __init__(self: Config, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(f"config field {unknown[0]!r} is not a known option")
        if len(args) > len(known):
            raise ConfigError(f"Config takes at most {len(known)} positional values")
        init(self, *args, **kwargs)

    __init__.__doc__ = init.__doc__
    return __init__


Config.__init__ = _reject_unknown_fields(Config.__init__)  # type: ignore[method-assign]
