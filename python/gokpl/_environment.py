"""Option values from text: ``GOKPL_<OPTION>`` environment variables, and the parser they share.

The same text parser serves the environment, the command line's ``--set
NAME=VALUE`` and KPL ``.properties`` files: booleans as true/false, 1/0,
yes/no or on/off, numbers as Python writes them, anything else checked
against the option table. Pure functions; safe from any thread.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from typing import Any

from ._errors import ConfigError
from ._options import check_value, option_error, option_specs, range_text

#: Prefix of the environment variable of each option: GOKPL_<NAME IN UPPER CASE>.
ENV_PREFIX = "GOKPL_"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def env_var(name: str) -> str:
    """The environment variable that sets option ``name``."""
    return ENV_PREFIX + name.upper()


def options_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The options set by ``GOKPL_<OPTION>`` variables of ``environ`` (default os.environ), parsed."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, spec in option_specs().items():
        var = env_var(name)
        if var in env:
            try:
                values[name] = parse_text(spec, env[var])
            except ConfigError as exc:
                raise ConfigError(f"environment variable {var}: {exc}") from None
    return values


def parse_option(name: str, text: str) -> Any:
    """Option ``name``'s value from text, parsed by its type and checked against its range.

    Raises ConfigError for an unknown option (suggesting close names), a
    Python-only option, or a value its type or range does not allow.
    """
    spec = option_specs().get(name)
    if spec is None:
        raise ConfigError(f"{name!r} is not a known option{suggest(name, option_specs())}")
    return parse_text(spec, text)


def parse_text(spec: dict[str, Any], text: str) -> Any:
    """The value of option ``spec`` that text gives; an empty text unsets an option whose default is None."""
    kind = spec["type"]
    if kind == "callable":
        raise option_error(spec, "is a Python callable and cannot be given as text")
    text = text.strip()
    if text == "" and spec["default"] is None:
        return None
    if kind == "bool":
        return _parse_bool(spec, text)
    if kind in ("int", "float"):
        number = _parse_number(spec, text, kind)
        check_value(spec, number)
        return number  # as parsed: Config converts it once (float(2**63 - 1) would be out of range)
    return check_value(spec, text)


def _parse_bool(spec: dict[str, Any], text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise option_error(spec, f"must be true or false, got {text!r}")


def _parse_number(spec: dict[str, Any], text: str, kind: str) -> float:
    try:
        return int(text, 10)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        noun = "an integer" if kind == "int" else "a number"
        raise option_error(spec, f"must be {noun} {range_text(spec)}, got {text!r}") from None
    return value


def suggest(name: str, known: Mapping[str, Any]) -> str:
    """`` (did you mean 'x'?)`` for the closest of the known names, or nothing."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
