"""Config: every producer option, validated against options.json.

options.json (shipped in the package, the same file the Go engine embeds)
describes each option once: type, default, range, KPL property name and doc.
Validation here reads it, so a bad value fails at construction without
loading the shared library.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
import warnings
from collections.abc import Callable, Mapping
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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
        """A Config from ``GOKPL_<OPTION>`` environment variables, ``overrides`` winning.

        Every option of the table can be set this way (``GOKPL_REGION``,
        ``GOKPL_RECORD_MAX_BUFFERED_TIME_MS``, ...), its text parsed by the
        option's type: booleans as true/false, 1/0, yes/no or on/off, numbers
        as Python writes them; an empty value unsets an option whose default
        is None. ``environ`` defaults to ``os.environ``. Variables that name
        no option are ignored. A bad value raises ConfigError naming the
        variable.
        """
        return cls(**{**options_from_env(environ), **overrides})

    @classmethod
    def from_kpl_properties(cls, path: str | os.PathLike[str], **overrides: Any) -> Config:
        """A Config from an Amazon KPL ``.properties`` file, ``overrides`` winning.

        Property names are the Java KPL's (``RecordMaxBufferedTime``,
        ``AggregationEnabled``, ``Region``, ...), mapped through the ``kpl``
        names of options.json; ``KinesisEndpoint``/``KinesisPort`` and
        ``CloudwatchEndpoint``/``CloudwatchPort`` become endpoint URLs and
        ``RateLimit`` (a percentage) scales both per-shard rate limits. An
        empty value leaves the option at its default. Properties of the Java
        wrapper or its native process that mean nothing here
        (``NativeExecutable``, ``TempDirectory``, ``ThreadingModel``, ...)
        are ignored, with a UserWarning when set to other than the KPL's
        default. Unknown properties, and settings gokpl cannot honour
        (``ProxyHost``, ``CaCertFile``, ...), raise ConfigError naming them.
        """
        return cls(**{**options_from_kpl_properties(path), **overrides})


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


def _in_range(spec: dict[str, Any], value: float, as_float: bool = False) -> bool:
    low, high = spec.get("min"), spec.get("max")
    if as_float:
        low, high = (None if low is None else float(low)), (None if high is None else float(high))
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
    # Compared as floats, as stored: 2**63 - 1 becomes 2.0**63, as the range's
    # bound does, so a value accepted once is accepted again (replace, copy).
    if math.isnan(value) or not _in_range(spec, float(value), as_float=True):
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
        raise _fail(
            spec,
            "must be an http or https URL with a host, such as https://kinesis.us-east-1.amazonaws.com "
            f"or http://localhost:4567, got {value!r}",
        )


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


# Options from text: environment variables, command-line flags, KPL properties.

#: Prefix of the environment variable of each option: GOKPL_<NAME IN UPPER CASE>.
ENV_PREFIX = "GOKPL_"

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def env_var(name: str) -> str:
    """The environment variable that sets option ``name``."""
    return ENV_PREFIX + name.upper()


def parse_option(name: str, text: str) -> Any:
    """Option ``name``'s value from text, parsed by its type and checked against its range.

    Raises ConfigError for an unknown option (suggesting close names), a
    Python-only option, or a value its type or range does not allow.
    """
    spec = option_specs().get(name)
    if spec is None:
        raise ConfigError(f"{name!r} is not a known option{_suggest(name, option_specs())}")
    return _parse_text(spec, text)


def _parse_text(spec: dict[str, Any], text: str) -> Any:
    kind = spec["type"]
    if kind == "callable":
        raise _fail(spec, "is a Python callable and cannot be given as text")
    text = text.strip()
    if text == "" and spec["default"] is None:
        return None
    if kind == "bool":
        return _parse_bool(spec, text)
    if kind in ("int", "float"):
        number = _parse_number(spec, text, kind)
        _check(spec, number)
        return number  # as parsed: Config converts it once (float(2**63 - 1) would be out of range)
    return _check(spec, text)


def _parse_bool(spec: dict[str, Any], text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _fail(spec, f"must be true or false, got {text!r}")


def _parse_number(spec: dict[str, Any], text: str, kind: str) -> float:
    try:
        return int(text, 10)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        noun = "an integer" if kind == "int" else "a number"
        raise _fail(spec, f"must be {noun} {_range_text(spec)}, got {text!r}") from None
    return value


def _suggest(name: str, known: Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def options_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The options set by ``GOKPL_<OPTION>`` variables of ``environ`` (default os.environ), parsed."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, spec in option_specs().items():
        var = env_var(name)
        if var in env:
            try:
                values[name] = _parse_text(spec, env[var])
            except ConfigError as exc:
                raise ConfigError(f"environment variable {var}: {exc}") from None
    return values


# KPL .properties files.

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
    "MaxUserRecordSize": ("1048576", "records of up to 1 MiB are accepted"),
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
        named = ", ".join(f"{p.key} ({p.where}){_suggest(p.key, dict.fromkeys(known))}" for p in unknown)
        raise ConfigError(f"unknown KPL properties: {named}")


def _reject_unsupported_properties(props: Mapping[str, _Property]) -> None:
    bad = [
        f"{p.key} ({p.where}): {_KPL_UNSUPPORTED[p.key][1]}"
        for p in props.values()
        if p.key in _KPL_UNSUPPORTED and not _is_kpl_default(p.value, _KPL_UNSUPPORTED[p.key][0])
    ]
    if bad:
        raise ConfigError("unsupported KPL properties: " + "; ".join(bad))


def _warn_ignored_properties(props: Mapping[str, _Property]) -> None:
    ignored = [
        f"{p.key} ({_KPL_IGNORED[p.key][1]})"
        for p in props.values()
        if p.key in _KPL_IGNORED and not _is_kpl_default(p.value, _KPL_IGNORED[p.key][0])
    ]
    if ignored:
        warnings.warn("KPL properties ignored: " + "; ".join(ignored), UserWarning, stacklevel=4)


def _is_kpl_default(value: str, default: str) -> bool:
    return value == "" or value.lower() == default.lower()


def _property_value(name: str, prop: _Property) -> Any:
    spec = option_specs()[name]
    text = prop.value.lower() if spec["type"] in ("bool", "enum") else prop.value
    try:
        if spec["type"] == "bool" and text not in ("true", "false"):
            raise _fail(spec, f"must be true or false, got {prop.value!r}")
        return _parse_text(spec, text)
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
            _check(option_specs()[name], value)
        except ConfigError as exc:
            raise ConfigError(f"KPL property RateLimit ({prop.where}): {exc}") from None
    return values
