"""The option table: every producer option as options.json describes it, and the check of one value.

options.json (shipped in the package, the same file the Go engine embeds)
describes each option once: type, default, range, KPL property name and doc.
Config, the GOKPL_* environment and KPL .properties files all check values
here, so a bad value fails without loading the shared library. Pure
functions over a table read once; safe from any thread.
"""

from __future__ import annotations

import json
import math
import re
from functools import cache
from pathlib import Path
from typing import Any

from ._errors import ConfigError


@cache
def option_specs() -> dict[str, dict[str, Any]]:
    """The option table from options.json, by name."""
    raw = json.loads(Path(__file__).with_name("options.json").read_text())
    return {spec["name"]: spec for spec in raw["options"]}


def check_value(spec: dict[str, Any], value: Any) -> Any:
    """value, converted to the option's type, or ConfigError naming the option and what it allows."""
    kind = spec["type"]
    if value is None and spec["default"] is None:
        return None
    checker = _CHECKERS[kind]
    return checker(spec, value)


def option_error(spec: dict[str, Any], reason: str) -> ConfigError:
    """The ConfigError for a value of option ``spec`` that ``reason`` explains."""
    return ConfigError(f"config field {spec['name']!r} {reason}")


def range_text(spec: dict[str, Any]) -> str:
    """The option's range as error messages give it: ``in [low, high]``."""
    low, high = spec.get("min"), spec.get("max")
    return f"in [{_bound(low)}, {_bound(high)}]"


def _bound(b: float | None) -> str:
    if b is None:
        return "unbounded"
    if b >= 2**63 - 1:
        return str(2**63 - 1)
    return f"{b:.15g}"


def _in_range(spec: dict[str, Any], value: float, as_float: bool = False) -> bool:
    low, high = spec.get("min"), spec.get("max")
    if as_float:
        low, high = (None if low is None else float(low)), (None if high is None else float(high))
    return (low is None or value >= low) and (high is None or value <= high)


def _check_bool(spec: dict[str, Any], value: Any) -> bool:
    if not isinstance(value, bool):
        raise option_error(spec, f"must be a bool, got {type(value).__name__}")
    return value


def _check_int(spec: dict[str, Any], value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not _in_range(spec, value):
        raise option_error(spec, f"must be an integer {range_text(spec)}, got {shown(value)}")
    return value


def _check_float(spec: dict[str, Any], value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise option_error(spec, f"must be a number {range_text(spec)}, got {value!r}")
    # Compared as floats, as stored: 2**63 - 1 becomes 2.0**63, as the range's
    # bound does, so a value accepted once is accepted again (replace, copy).
    try:
        number = float(value)
    except OverflowError:  # an int beyond every float, so beyond every range
        number = math.nan
    if math.isnan(number) or not _in_range(spec, number, as_float=True):
        raise option_error(spec, f"must be a number {range_text(spec)}, got {shown(value)}")
    return number


def shown(value: Any) -> str:
    """value for an error message: repr, but not the thousands of digits of a huge int."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of {value.bit_length()} bits"
    return repr(value)


def _check_string(spec: dict[str, Any], value: Any) -> str:
    if not isinstance(value, str):
        raise option_error(spec, f"must be a string, got {type(value).__name__}")
    pattern = spec.get("pattern")
    # fullmatch, not search: Python's $ also matches before a final newline,
    # and the engine's (Go's) does not. Every pattern is anchored at both ends.
    if pattern and not re.fullmatch(pattern, value):
        raise option_error(spec, f"must match {pattern}, got {value!r}")
    prefix = spec.get("forbidden_prefix")
    if prefix and value.startswith(prefix):
        raise option_error(spec, f"may not start with {prefix}")
    if spec.get("format") == "url" and value != "":
        _check_endpoint_url(spec, value)
    return value


# What an endpoint option takes, as the engine's checkEndpointURL (core/config.go):
# http or https, a host name or an IPv6 address in brackets, optionally a port
# and a path; no user, no query, no fragment, no space or control character.
_ENDPOINT_URL = re.compile(
    r"(?i)^https?://(?:\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::([0-9]{1,5}))?(?:/[^?#\x00-\x20\x7f]*)?\Z"
)


def _check_endpoint_url(spec: dict[str, Any], value: str) -> None:
    match = _ENDPOINT_URL.match(value)
    if match is None or (match.group(1) is not None and not 1 <= int(match.group(1)) <= 65535):
        raise option_error(
            spec,
            "must be an http or https URL with a host, such as https://kinesis.us-east-1.amazonaws.com "
            f"or http://localhost:4567, got {value!r}",
        )


def _check_enum(spec: dict[str, Any], value: Any) -> str:
    if value not in spec["choices"]:
        raise option_error(spec, f"must be one of {', '.join(spec['choices'])}, got {value!r}")
    return str(value)


def _check_callable(spec: dict[str, Any], value: Any) -> Any:
    if not callable(value):
        raise option_error(spec, f"must be a callable or None, got {type(value).__name__}")
    return value


_CHECKERS = {
    "callable": _check_callable,
    "bool": _check_bool,
    "int": _check_int,
    "float": _check_float,
    "string": _check_string,
    "enum": _check_enum,
}
