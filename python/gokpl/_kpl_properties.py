"""Options from an Amazon KPL ``.properties`` file (``Config.from_kpl_properties``).

Reads the file as java.util.Properties does, maps the Java KPL's property
names onto the options through the ``kpl`` names of options.json, turns
the endpoint host and port pairs into URLs and ``RateLimit`` into both
per-shard rate limits, and says which properties mean nothing here
(ignored, with a warning) or cannot be honoured (an error). Pure functions;
safe from any thread.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._environment import parse_text, suggest
from ._errors import ConfigError
from ._options import check_value, option_error, option_specs

# Properties of the Java wrapper, its native child process or its SDK that
# have no counterpart here: ignored, with a warning unless at the KPL default.
_KPL_IGNORED: dict[str, tuple[str, str]] = {
    "NativeExecutable": ("", "the engine is a library inside the process, not a child process"),
    "TempDirectory": ("", "nothing is extracted to disk"),
    "ThreadingModel": ("PER_REQUEST", "requests run on a fixed pool of max_connections goroutines"),
    "ThreadPoolSize": ("0", "requests run on a fixed pool of max_connections goroutines"),
    "MinConnections": ("1", "the KPL does not use it either"),
    "EnableCoreDumps": ("false", "there is no native child process"),
    "CredentialsRefreshDelay": ("5000", "the AWS SDK refreshes credentials before they expire"),
    "LogLevel": ("info", "engine logs go to the Python logger 'gokpl': set its level"),
    "StsEndpoint": ("", "the KPL does not use it either"),
    "StsPort": ("443", "the KPL does not use it either"),
    "UserRecordTimeoutInMillis": ("0", "pass a timeout to SyncOutcome.wait instead"),
    "EnableOldestFutureTracker": ("true", "a Java wrapper feature"),
    "ReturnUserRecordOnFailure": ("false", "the caller keeps its own records"),
    "EnableDaemonHealthCheck": ("false", "there is no native child process"),
    "DaemonHealthCheckTimeoutMs": ("30000", "there is no native child process"),
    "MaxUserRecordSize": (
        "1048576",
        "records of up to 10 MiB are accepted; the service rejects those larger than the stream allows",
    ),
}

# Settings gokpl cannot honour: an error unless at the KPL default (unset).
_KPL_UNSUPPORTED: dict[str, tuple[str, str]] = {
    "ProxyHost": ("", "set HTTPS_PROXY in the environment instead"),
    "ProxyPort": ("443", "set HTTPS_PROXY in the environment instead"),
    "ProxyUserName": ("", "give them in HTTPS_PROXY (http://user:password@host:port) instead"),
    "ProxyPassword": ("", "give them in HTTPS_PROXY (http://user:password@host:port) instead"),
    "CaCertPath": ("", "set AWS_CA_BUNDLE to a PEM file instead"),
    "CaCertFile": ("", "set AWS_CA_BUNDLE to a PEM file instead"),
    "GlueSchemaRegistryPropertiesFilePath": ("", "Glue Schema Registry serialisation is not supported"),
}

# The KPL's per-shard limits that RateLimit (a percentage) scales.
_RATE_LIMITS = {"rate_limit_records_per_sec_per_shard": 1000.0, "rate_limit_bytes_per_sec_per_shard": 1048576.0}
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")


@dataclasses.dataclass(frozen=True)
class _Property:
    """One property of a .properties file, with where it was."""

    key: str
    value: str
    where: str  #: "FILE:LINE"


def kpl_property_names() -> dict[str, str]:
    """KPL property name -> option name, for the options mapped one to one."""
    return {
        spec["kpl"]: name
        for name, spec in option_specs().items()
        if spec.get("kpl") and name not in _endpoint_properties()
    }


def _endpoint_properties() -> dict[str, tuple[str, str]]:
    """Option -> (host property, port property) for the endpoint URLs."""
    out = {}
    for name in ("endpoint_url", "cloudwatch_endpoint_url"):
        host = option_specs()[name]["kpl"]
        out[name] = (host, host.replace("Endpoint", "Port"))
    return out


def read_properties(path: str | os.PathLike[str]) -> list[_Property]:
    """The properties of a Java .properties file (UTF-8), in order; later duplicates win when mapped.

    Follows java.util.Properties: ``#`` and ``!`` comments, ``key=value``,
    ``key: value`` or ``key value``, backslash line continuations and escapes.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read KPL properties file {os.fspath(path)!r}: {exc}") from None
    props = []
    for number, line in _logical_lines(text):
        key, value = _split_property(line)
        props.append(_Property(key, value, f"{os.fspath(path)}:{number}"))
    return props


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) of each non-blank, non-comment logical line."""
    out: list[tuple[int, str]] = []
    pending: str | None = None
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if pending is None:
            if not line or line[0] in "#!":
                continue
            start, pending = number, ""
        continued = _ends_with_continuation(line)
        pending += line[:-1] if continued else line
        if not continued:
            out.append((start, pending))
            pending = None
    if pending is not None:
        out.append((start, pending))
    return out


def _ends_with_continuation(line: str) -> bool:
    backslashes = len(line) - len(line.rstrip("\\"))
    return backslashes % 2 == 1


def _split_property(line: str) -> tuple[str, str]:
    """Key and value of a logical line, unescaped."""
    i = 0
    while i < len(line) and line[i] not in "=: \t\f":
        i += 2 if line[i] == "\\" else 1
    key = line[:i]
    rest = line[i:].lstrip(" \t\f")
    if rest[:1] in ("=", ":"):
        rest = rest[1:].lstrip(" \t\f")
    return _unescape(key), _unescape(rest).strip()


def _unescape(text: str) -> str:
    simple = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}

    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if body.startswith("u") and len(body) == 5:
            return chr(int(body[1:], 16))
        return simple.get(body, body)

    return re.sub(r"\\(u[0-9A-Fa-f]{4}|.)", one, text)


def options_from_kpl_properties(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The options a KPL .properties file sets (see Config.from_kpl_properties), checked."""
    props = {p.key: p for p in read_properties(path)}
    _reject_unknown_properties(props)
    _reject_unsupported_properties(props)
    _warn_ignored_properties(props)
    values: dict[str, Any] = {}
    direct = kpl_property_names()
    for key, prop in props.items():
        if key in direct and prop.value != "":
            values[direct[key]] = _property_value(direct[key], prop)
    for name, (host, port) in _endpoint_properties().items():
        url = _endpoint_url(props.get(host), props.get(port))
        if url is not None:
            values[name] = url
    if "RateLimit" in props and props["RateLimit"].value != "":
        values.update(_rate_limits(props["RateLimit"]))
    return values


def _known_properties() -> set[str]:
    endpoints = {p for pair in _endpoint_properties().values() for p in pair}
    return set(kpl_property_names()) | endpoints | {"RateLimit"} | set(_KPL_IGNORED) | set(_KPL_UNSUPPORTED)


def _reject_unknown_properties(props: Mapping[str, _Property]) -> None:
    known = _known_properties()
    unknown = [p for key, p in props.items() if key not in known]
    if unknown:
        named = ", ".join(f"{p.key} ({p.where}){suggest(p.key, dict.fromkeys(known))}" for p in unknown)
        raise ConfigError(f"unknown KPL properties: {named}")


def _reject_unsupported_properties(props: Mapping[str, _Property]) -> None:
    bad = [f"{p.key} ({p.where}): {instead}" for p, instead in _set_among(props, _KPL_UNSUPPORTED)]
    if bad:
        raise ConfigError("unsupported KPL properties: " + "; ".join(bad))


def _warn_ignored_properties(props: Mapping[str, _Property]) -> None:
    ignored = [f"{p.key} ({why})" for p, why in _set_among(props, _KPL_IGNORED)]
    if ignored:
        warnings.warn("KPL properties ignored: " + "; ".join(ignored), UserWarning, stacklevel=4)


def _set_among(props: Mapping[str, _Property], table: Mapping[str, tuple[str, str]]) -> list[tuple[_Property, str]]:
    """The properties of table (name -> (KPL default, reason)) set to other than their KPL default, with the reason."""
    return [
        (p, table[p.key][1])
        for p in props.values()
        if p.key in table and not (p.value == "" or p.value.lower() == table[p.key][0].lower())
    ]


def _property_value(name: str, prop: _Property) -> Any:
    spec = option_specs()[name]
    text = prop.value.lower() if spec["type"] in ("bool", "enum") else prop.value
    try:
        if spec["type"] == "bool" and text not in ("true", "false"):
            raise option_error(spec, f"must be true or false, got {prop.value!r}")
        return parse_text(spec, text)
    except ConfigError as exc:
        raise ConfigError(f"KPL property {prop.key} ({prop.where}): {exc}") from None


def _endpoint_url(host: _Property | None, port: _Property | None) -> str | None:
    """The URL that KinesisEndpoint/KinesisPort (or the CloudWatch pair) name; None when unset."""
    port_number = _port(port)
    if host is None or host.value == "":
        return None
    value = host.value
    if "://" in value:
        if port is not None and port_number is not None:
            raise ConfigError(f"KPL property {port.key} ({port.where}): give the port in {host.key}'s URL instead")
        return value
    if not _HOST.match(value):
        raise ConfigError(f"KPL property {host.key} ({host.where}): must be a host name or a URL, got {value!r}")
    return f"https://{value}" if port_number is None else f"https://{value}:{port_number}"


def _port(port: _Property | None) -> int | None:
    """The port a KinesisPort/CloudwatchPort property gives; None when unset or 443."""
    if port is None or port.value == "":
        return None
    try:
        number = int(port.value)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise ConfigError(f"KPL property {port.key} ({port.where}): must be a port in [1, 65535], got {port.value!r}")
    return None if number == 443 else number


def _rate_limits(prop: _Property) -> dict[str, float]:
    """Both per-shard rate limits at RateLimit percent of the service's limits."""
    try:
        percent = float(prop.value)
    except ValueError:
        percent = math.nan
    if not percent >= 1:
        raise ConfigError(f"KPL property RateLimit ({prop.where}): must be a percentage >= 1, got {prop.value!r}")
    values = {name: limit * percent / 100 for name, limit in _RATE_LIMITS.items()}
    for name, value in values.items():
        try:
            check_value(option_specs()[name], value)
        except ConfigError as exc:
            raise ConfigError(f"KPL property RateLimit ({prop.where}): {exc}") from None
    return values
