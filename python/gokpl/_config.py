"""Config: every producer option, checked at construction against the option table.

A frozen dataclass, so a Config is safe to share between threads and
producers. Its fields and defaults are those of options.json (a test
compares them); ``from_env`` and ``from_kpl_properties`` build one from
``GOKPL_*`` variables or a KPL ``.properties`` file.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._environment import options_from_env
from ._errors import ConfigError, UnknownOptionError
from ._kpl_properties import options_from_kpl_properties
from ._options import check_value, option_specs

if TYPE_CHECKING:
    from ._metrics import Metric
    from .sinks import CloudWatchSink, MetricsSink


def is_protocol_sink(sink: object) -> bool:
    """Whether a metrics_sink follows the sink protocol (a callable ``export``), not the plain callable one."""
    return callable(getattr(sink, "export", None))


def _cloudwatch_sink(sink: object) -> CloudWatchSink | None:
    """The metrics_sink if it is a CloudWatchSink, which uploads through the engine's own options."""
    if not is_protocol_sink(sink):
        return None
    from .sinks.cloudwatch import CloudWatchSink

    return sink if isinstance(sink, CloudWatchSink) else None


@dataclasses.dataclass(frozen=True)
class Config:
    """Producer options, with aiokpl's names and the Amazon KPL's defaults.

    Every field is checked at construction: a wrong type or a value outside its
    range raises ConfigError (a ValueError) naming the field and what it
    allows; an option Config does not have raises UnknownOptionError, a
    ConfigError that is also a TypeError, as a dataclass's constructor
    raises. Wherever a float is taken an int is accepted, and a whole-valued
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
    #: and at close, on the producer's gokpl-metrics thread; or a
    #: gokpl.sinks sink (async export, aiokpl's protocol), given MetricSnapshot.
    metrics_sink: Callable[[list[Metric]], object] | MetricsSink | None = None

    def __post_init__(self) -> None:
        specs = option_specs()
        for field in dataclasses.fields(self):
            spec = specs.get(field.name)
            if spec is None:
                raise ConfigError(f"config field {field.name!r} has no entry in options.json")
            value = getattr(self, field.name)
            if not (field.name == "metrics_sink" and is_protocol_sink(value)):
                value = check_value(spec, value)
            object.__setattr__(self, field.name, value)
        cloudwatch_sink = _cloudwatch_sink(self.metrics_sink)
        if cloudwatch_sink is not None:
            cloudwatch_sink.check_config(self)
        if (self.aws_access_key_id is None) != (self.aws_secret_access_key is None):
            raise ConfigError("config field 'aws_secret_access_key' must be given together with aws_access_key_id")
        if self.aws_session_token is not None and self.aws_access_key_id is None:
            raise ConfigError(
                "config field 'aws_session_token' is used only with aws_access_key_id and aws_secret_access_key"
            )

    def to_json(self) -> str:
        """The options as the JSON object libgokpl takes; unset ones and Python-only ones are left out."""
        specs = option_specs()
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if getattr(self, f.name) is not None and not specs[f.name].get("python_only")
        }
        cloudwatch_sink = _cloudwatch_sink(self.metrics_sink)
        if cloudwatch_sink is not None:
            values.update(cloudwatch_sink.engine_options(self))  # the engine uploads for it
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


def _reject_unknown_fields(init: Any) -> Any:
    """Wrap the dataclass __init__ so an unknown option is an UnknownOptionError naming it."""
    known = {f.name for f in dataclasses.fields(Config)}

    def __init__(self: Config, *args: Any, **kwargs: Any) -> None:
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise UnknownOptionError(f"config field {unknown[0]!r} is not a known option")
        if len(args) > len(known):
            raise UnknownOptionError(f"Config takes at most {len(known)} positional values")
        init(self, *args, **kwargs)

    __init__.__doc__ = init.__doc__
    return __init__


Config.__init__ = _reject_unknown_fields(Config.__init__)  # type: ignore[method-assign]
