"""``CloudWatchSink``: the metrics go to CloudWatch through the engine's own uploader.

No extra dependency: the sink adds nothing at runtime (its ``export`` does
nothing). Given as ``Config(metrics_sink=CloudWatchSink(...))``, it turns
the engine's upload on through the existing options, in the engine options
``Config.to_json`` writes: ``metrics_namespace`` and
``cloudwatch_endpoint_url`` from the sink, and ``metrics_level``
``detailed`` unless the Config asks for ``summary`` or ``detailed``. The
engine uploads with the Kinesis client's region, credentials and TLS
setting, so a sink asking for others is a ConfigError when the Config is
made. Immutable once made; safe to share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._types import MetricSnapshot, PlainSink

if TYPE_CHECKING:
    from .._config import Config


class CloudWatchSink(PlainSink):
    """Upload the KPL's metrics to CloudWatch, from the engine, every ``metrics_upload_interval_ms``.

    ``namespace`` defaults to aiokpl's (``"aiokpl"``). ``region``,
    ``verify_ssl`` and the ``aws_*`` credentials may be left out (the
    Config's are used); given, they must match the Config's, since the
    engine's uploader shares the Kinesis client. ``endpoint_url`` is the
    CloudWatch endpoint (``cloudwatch_endpoint_url``). The series uploaded
    are those of the Config's ``metrics_level`` and ``metrics_granularity``,
    with the KPL's metric and dimension names.
    """

    __slots__ = (
        "_aws_access_key_id",
        "_aws_secret_access_key",
        "_aws_session_token",
        "_endpoint_url",
        "_namespace",
        "_region",
        "_verify_ssl",
    )

    def __init__(
        self,
        *,
        region: str | None = None,
        namespace: str = "aiokpl",
        endpoint_url: str | None = None,
        verify_ssl: bool | None = None,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
    ) -> None:
        self._region = region
        self._namespace = namespace
        self._endpoint_url = endpoint_url
        self._verify_ssl = verify_ssl
        self._aws_access_key_id = aws_access_key_id
        self._aws_secret_access_key = aws_secret_access_key
        self._aws_session_token = aws_session_token

    @property
    def namespace(self) -> str:
        return self._namespace

    @property
    def endpoint_url(self) -> str | None:
        return self._endpoint_url

    def __repr__(self) -> str:
        return f"CloudWatchSink(namespace={self._namespace!r}, region={self._region!r})"

    async def export(self, snapshots: Sequence[MetricSnapshot]) -> None:
        return None  # the engine uploads by itself

    def check_config(self, config: Config) -> None:
        """Raise ConfigError if the sink asks for a connection the engine's uploader cannot make."""
        wanted = {
            "region": self._region,
            "verify_ssl": self._verify_ssl,
            "aws_access_key_id": self._aws_access_key_id,
            "aws_secret_access_key": self._aws_secret_access_key,
            "aws_session_token": self._aws_session_token,
        }
        for name, value in wanted.items():
            if value is not None and getattr(config, name) != value:
                raise ConfigError(
                    f"config field 'metrics_sink': CloudWatchSink's {name} is not the Config's; "
                    "the engine uploads to CloudWatch with the Kinesis client's (leave it out to use the Config's)"
                )

    def engine_options(self, config: Config) -> dict[str, Any]:
        """The engine options that turn its CloudWatch upload on for this sink."""
        options: dict[str, Any] = {"metrics_namespace": self._namespace}
        if config.metrics_level == "none":
            options["metrics_level"] = "detailed"
        if self._endpoint_url is not None:
            options["cloudwatch_endpoint_url"] = self._endpoint_url
        return options


__all__ = ["CloudWatchSink"]
