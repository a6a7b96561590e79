"""Config.from_kpl_properties, Config.from_env and the CLI's layering of flags, environment and properties."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from gokpl import Config, ConfigError
from gokpl._environment import env_var, parse_option
from gokpl._kpl_properties import kpl_property_names, read_properties
from gokpl._options import option_specs
from gokpl.cli import build_parser
from gokpl.cli.options import resolve_config

# The Amazon KPL sample's settings (java/amazon-kinesis-producer-sample/default_config.properties), KPL defaults.
KPL_SAMPLE = """\
# A comment
! another comment
AggregationEnabled = true
AggregationMaxCount = 4294967295
AggregationMaxSize = 51200
CollectionMaxCount = 500
CollectionMaxSize = 5242880
ConnectTimeout = 6000
FailIfThrottled = false
LogLevel = info
MaxConnections = 24
MetricsGranularity = shard
MetricsLevel = detailed
MetricsNamespace = KinesisProducerLibrary
MetricsUploadDelay = 60000
MinConnections = 1
KinesisPort = 443
RateLimit = 150
RecordMaxBufferedTime = 100
RecordTtl = 30000
# Region =
RequestTimeout = 6000
VerifyCertificate = true
ThreadingModel = PER_REQUEST
#ThreadPoolSize = 0
"""


def write(tmp_path: Path, text: str, name: str = "kpl.properties") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, **overrides: Any) -> Config:
    return Config.from_kpl_properties(write(tmp_path, text), **overrides)


def test_the_kpl_sample_loads_silently_with_the_kpl_defaults(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config = load(tmp_path, KPL_SAMPLE)
    assert config.metrics_level == "detailed"
    assert config.metrics_granularity == "shard"
    assert config.rate_limit_records_per_sec_per_shard == 1500.0  # RateLimit 150 %
    assert config.rate_limit_bytes_per_sec_per_shard == 1.5 * 1048576
    assert config.endpoint_url is None and config.region is None
    assert config.record_max_buffered_time_ms == 100.0 and config.max_connections == 24


# One value per directly mapped property, away from the default.
DIRECT = {
    "AggregationEnabled": ("false", False),
    "AggregationMaxCount": ("1000", 1000),
    "AggregationMaxSize": ("20000", 20000),
    "CollectionMaxCount": ("100", 100),
    "CollectionMaxSize": ("1048576", 1048576),
    "ConnectTimeout": ("2500", 2500),
    "FailIfThrottled": ("TRUE", True),
    "MaxConnections": ("8", 8),
    "MetricsGranularity": ("global", "global"),
    "MetricsLevel": ("Summary", "summary"),
    "MetricsNamespace": ("MyApp", "MyApp"),
    "MetricsUploadDelay": ("10000", 10000),
    "RecordMaxBufferedTime": ("250", 250.0),
    "RecordTtl": ("9223372036854775807", float(2**63 - 1)),
    "Region": ("eu-west-1", "eu-west-1"),
    "RequestTimeout": ("12000", 12000),
    "VerifyCertificate": ("false", False),
}


def test_every_property_named_in_options_json_is_mapped() -> None:
    assert set(kpl_property_names()) == set(DIRECT)


@pytest.mark.parametrize("prop", sorted(DIRECT))
def test_a_kpl_property_sets_its_option(tmp_path: Path, prop: str) -> None:
    text, expected = DIRECT[prop]
    config = load(tmp_path, f"{prop} = {text}\n")
    assert getattr(config, kpl_property_names()[prop]) == expected


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("KinesisEndpoint = kinesis.internal\n", "https://kinesis.internal"),
        ("KinesisEndpoint = kinesis.internal\nKinesisPort = 443\n", "https://kinesis.internal"),
        ("KinesisEndpoint = 10.0.0.5\nKinesisPort = 4567\n", "https://10.0.0.5:4567"),
        ("KinesisEndpoint = http://127.0.0.1:4567\n", "http://127.0.0.1:4567"),
        ("KinesisEndpoint =\nKinesisPort = 4567\n", None),
    ],
)
def test_kinesis_endpoint_and_port_make_the_endpoint_url(tmp_path: Path, lines: str, expected: str | None) -> None:
    assert load(tmp_path, lines).endpoint_url == expected


def test_cloudwatch_endpoint_and_port_make_the_cloudwatch_url(tmp_path: Path) -> None:
    config = load(tmp_path, "CloudwatchEndpoint = monitoring.internal\nCloudwatchPort = 8443\n")
    assert config.cloudwatch_endpoint_url == "https://monitoring.internal:8443"
    assert config.endpoint_url is None


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ("KinesisEndpoint = http://127.0.0.1:4567\nKinesisPort = 9000\n", "KinesisPort"),
        ("KinesisEndpoint = bad_host/path\n", "KinesisEndpoint"),
        ("KinesisEndpoint = h\nKinesisPort = 70000\n", "KinesisPort"),
        ("KinesisEndpoint = h\nKinesisPort = https\n", "KinesisPort"),
    ],
)
def test_a_bad_endpoint_is_an_error_naming_the_property(tmp_path: Path, lines: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load(tmp_path, lines)


def test_rate_limit_scales_both_per_shard_limits(tmp_path: Path) -> None:
    config = load(tmp_path, "RateLimit = 50\n")
    assert config.rate_limit_records_per_sec_per_shard == 500.0
    assert config.rate_limit_bytes_per_sec_per_shard == 524288.0


@pytest.mark.parametrize("value", ["0", "-5", "fast"])
def test_a_bad_rate_limit_is_an_error(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match="RateLimit"):
        load(tmp_path, f"RateLimit = {value}\n")


def test_unknown_properties_are_all_named_with_their_line_and_a_suggestion(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "Region = us-east-1\nRecordMaxBufferTime = 10\nFrobnicate = 1\n")
    message = str(info.value)
    assert "RecordMaxBufferTime (" in message and "kpl.properties:2" in message
    assert "did you mean 'RecordMaxBufferedTime'" in message
    assert "Frobnicate (" in message and "kpl.properties:3" in message


def test_unsupported_properties_are_errors_that_never_show_their_value(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, "ProxyHost = proxy.corp\nProxyPassword = hunter2-secret\nCaCertFile = /etc/ca.pem\n")
    message = str(info.value)
    assert "ProxyHost" in message and "ProxyPassword" in message and "CaCertFile" in message
    assert "HTTPS_PROXY" in message and "AWS_CA_BUNDLE" in message
    assert "hunter2-secret" not in message


def test_unsupported_properties_left_at_the_kpl_default_are_accepted(tmp_path: Path) -> None:
    load(tmp_path, "ProxyHost =\nProxyPort = 443\nCaCertPath =\nGlueSchemaRegistryPropertiesFilePath =\n")


def test_ignored_properties_warn_only_when_set_away_from_the_kpl_default(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="NativeExecutable") as caught:
        config = load(
            tmp_path, "NativeExecutable = /opt/kpl/kinesis_producer\nThreadingModel = POOLED\nLogLevel = info\n"
        )
    message = str(caught[0].message)
    assert "ThreadingModel" in message and "LogLevel" not in message
    assert config == Config()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(tmp_path, "TempDirectory =\nEnableCoreDumps = false\nThreadPoolSize = 0\n")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("CollectionMaxCount = 501", "collection_max_count"),
        ("AggregationEnabled = yes", "aggregation_enabled"),
        ("MetricsLevel = verbose", "metrics_level"),
        ("RecordTtl = 10", "record_ttl_ms"),
        ("Region = Mars", "region"),
        ("MaxConnections = many", "max_connections"),
    ],
)
def test_a_value_out_of_range_names_the_property_its_line_and_the_field(tmp_path: Path, line: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, f"# first\n{line}\n")
    message = str(info.value)
    assert message.startswith(f"KPL property {line.split()[0]} (")
    assert "kpl.properties:2" in message and repr(field) in message


def test_empty_values_keep_the_defaults(tmp_path: Path) -> None:
    assert load(tmp_path, "Region =\nRecordMaxBufferedTime =\nMetricsLevel =\n") == Config()


def test_overrides_win_over_the_file(tmp_path: Path) -> None:
    config = load(tmp_path, "RecordMaxBufferedTime = 250\nRegion = eu-west-1\n", record_max_buffered_time_ms=5)
    assert config.record_max_buffered_time_ms == 5.0 and config.region == "eu-west-1"


def test_java_properties_syntax(tmp_path: Path) -> None:
    text = (
        "   # indented comment\n"
        "Region:us-east-2\n"
        "MetricsNamespace   My\\u0041pp\\\n"
        "    Name\n"
        "RecordTtl=\t60000   \n"
        "RecordTtl = 70000\n"  # the last one wins, as in Java
    )
    props = [(p.key, p.value) for p in read_properties(write(tmp_path, text))]
    assert props == [("Region", "us-east-2"), ("MetricsNamespace", "MyAppName"), ("RecordTtl", "60000"),
                     ("RecordTtl", "70000")]  # fmt: skip
    config = load(tmp_path, text)
    assert (config.region, config.metrics_namespace, config.record_ttl_ms) == ("us-east-2", "MyAppName", 70000.0)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read KPL properties file"):
        Config.from_kpl_properties(tmp_path / "absent.properties")


# Environment


def test_from_env_parses_each_option_by_its_type() -> None:
    env = {
        "GOKPL_RECORD_MAX_BUFFERED_TIME_MS": "250.5",
        "GOKPL_MAX_CONNECTIONS": "8",
        "GOKPL_AGGREGATION_ENABLED": "off",
        "GOKPL_VERIFY_SSL": "0",
        "GOKPL_METRICS_LEVEL": "summary",
        "GOKPL_ENDPOINT_URL": "http://127.0.0.1:4567",
        "GOKPL_REGION": "",
        "GOKPL_STREAM": "not-an-option",
        "AWS_REGION": "us-east-1",
    }
    config = Config.from_env(env)
    assert config.record_max_buffered_time_ms == 250.5
    assert config.max_connections == 8
    assert config.aggregation_enabled is False and config.verify_ssl is False
    assert config.metrics_level == "summary"
    assert config.endpoint_url == "http://127.0.0.1:4567"
    assert config.region is None


BOOLEANS = [
    ("true", True),
    ("YES", True),
    ("1", True),
    ("on", True),
    ("False", False),
    ("no", False),
    ("0", False),
    ("OFF", False),
]


@pytest.mark.parametrize(("text", "expected"), BOOLEANS)
def test_from_env_booleans(text: str, expected: bool) -> None:
    assert Config.from_env({"GOKPL_FAIL_IF_THROTTLED": text}).fail_if_throttled is expected


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("GOKPL_MAX_CONNECTIONS", "lots"),
        ("GOKPL_MAX_CONNECTIONS", "2.5"),
        ("GOKPL_MAX_CONNECTIONS", "1000"),
        ("GOKPL_AGGREGATION_ENABLED", "maybe"),
        ("GOKPL_METRICS_LEVEL", "loud"),
        ("GOKPL_RECORD_TTL_MS", "nan"),
        ("GOKPL_METRICS_SINK", "print"),
    ],
)
def test_from_env_names_the_variable_of_a_bad_value(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"environment variable {var}"):
        Config.from_env({var: value})


def test_from_env_overrides_win_and_os_environ_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOKPL_RECORD_TTL_MS", "5000")
    monkeypatch.setenv("GOKPL_MAX_CONNECTIONS", "4")
    config = Config.from_env(max_connections=2)
    assert config.record_ttl_ms == 5000.0 and config.max_connections == 2


def test_every_option_but_the_callable_has_a_variable_that_takes_its_default_as_text() -> None:
    for name, spec in option_specs().items():
        if spec["type"] == "callable" or spec["default"] is None:
            continue
        text = str(spec["default"]).lower() if spec["type"] == "bool" else str(spec["default"])
        config = Config.from_env({env_var(name): text})
        assert getattr(config, name) == spec["default"], name


def test_parse_option_suggests_a_close_name() -> None:
    with pytest.raises(ConfigError, match="did you mean 'max_connections'"):
        parse_option("max_connection", "3")


# Precedence in the CLI: flags > environment > properties file > defaults.


def resolve(argv: list[str], environ: dict[str, str]) -> tuple[Config, dict[str, str]]:
    args = build_parser().parse_args(["check", *argv])
    resolved = resolve_config(args, environ)
    return resolved.config, resolved.origins


def test_precedence_flags_then_environment_then_properties(tmp_path: Path) -> None:
    path = write(tmp_path, "RecordMaxBufferedTime = 500\nRecordTtl = 40000\nRegion = eu-west-1\nMaxConnections = 5\n")
    env = {"GOKPL_RECORD_MAX_BUFFERED_TIME_MS": "250", "GOKPL_RECORD_TTL_MS": "45000"}
    argv = ["--properties", str(path), "--set", "record_max_buffered_time_ms=75", "--region", "us-west-2"]
    config, origins = resolve(argv, env)
    assert config.record_max_buffered_time_ms == 75.0 and origins["record_max_buffered_time_ms"].startswith("--set")
    assert config.record_ttl_ms == 45000.0 and origins["record_ttl_ms"] == "GOKPL_RECORD_TTL_MS"
    assert config.max_connections == 5 and origins["max_connections"] == f"properties file {path}"
    assert config.region == "us-west-2" and origins["region"] == "--region"
    assert config.collection_max_count == 500 and "collection_max_count" not in origins


def test_named_flags(tmp_path: Path) -> None:
    config, origins = resolve(["--endpoint-url", "http://h:1", "--no-verify-ssl", "--set", "Max-Connections=3"], {})
    assert (config.endpoint_url, config.verify_ssl, config.max_connections) == ("http://h:1", False, 3)
    assert origins["verify_ssl"] == "--no-verify-ssl"
