"""Config: defaults and ranges come from options.json, bad values name the field."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from gokpl import Config, ConfigError, UnknownOptionError
from gokpl._options import option_specs

OPTIONS = Path(__file__).resolve().parents[2] / "core" / "options.json"


def test_packaged_options_are_the_engines() -> None:
    packaged = Path(__import__("gokpl").__file__).with_name("options.json")
    assert json.loads(packaged.read_text()) == json.loads(OPTIONS.read_text())


def test_fields_and_defaults_match_the_option_table() -> None:
    specs = option_specs()
    fields = {f.name: f.default for f in dataclasses.fields(Config)}
    assert set(fields) == set(specs)
    for name, default in fields.items():
        assert default == specs[name]["default"], name


def test_aiokpl_style_construction() -> None:
    config = Config(region="us-east-1", record_max_buffered_time_ms=100)
    assert config.record_max_buffered_time_ms == 100.0
    assert isinstance(config.record_max_buffered_time_ms, float)
    assert Config("eu-west-1").region == "eu-west-1"


def test_whole_float_accepted_for_int() -> None:
    assert Config(collection_max_count=250.0).collection_max_count == 250
    assert isinstance(Config(collection_max_count=250.0).collection_max_count, int)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("collection_max_count", 501, "[1, 500]"),
        ("collection_max_count", 0, "[1, 500]"),
        ("collection_max_count", 2.5, "integer"),
        ("collection_max_count", True, "integer"),
        ("aggregation_max_size", 63, "[64,"),
        ("record_ttl_ms", 99, "[100,"),
        ("record_max_buffered_time_ms", float("nan"), "number"),
        ("verify_ssl", "yes", "bool"),
        ("metrics_level", "verbose", "none, summary, detailed"),
        ("metrics_namespace", "AWS/Kinesis", "AWS/"),
        ("region", "not a region", "must match"),
        ("max_connections", 257, "[1, 256]"),
    ],
)
def test_bad_values_name_the_field_and_range(field: str, value: object, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config(**{field: value})  # type: ignore[arg-type]
    assert field in str(info.value)
    assert needle in str(info.value)
    assert isinstance(info.value, ValueError)


def test_unknown_field_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="no_such_option"):
        Config(no_such_option=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Config(no_such_option=1),  # type: ignore[call-arg]
        lambda: Config.from_env({}, no_such_option=1),
        lambda: dataclasses.replace(Config(), no_such_option=1),
        lambda: Config(*range(len(dataclasses.fields(Config)) + 1)),  # type: ignore[arg-type]
    ],
    ids=["keyword", "from_env override", "replace", "extra positional"],
)
def test_an_option_config_lacks_is_a_type_error_as_for_a_dataclass(make: Callable[[], Config]) -> None:
    with pytest.raises(UnknownOptionError) as info:
        make()
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ConfigError)
    assert isinstance(info.value, ValueError)


def test_a_bad_value_is_not_a_type_error() -> None:
    with pytest.raises(ConfigError) as info:
        Config(max_connections=0)
    assert not isinstance(info.value, TypeError)


def test_keys_come_in_pairs() -> None:
    with pytest.raises(ConfigError, match="aws_secret_access_key"):
        Config(aws_access_key_id="AKIA")


def test_a_session_token_needs_its_keys() -> None:
    with pytest.raises(ConfigError, match="aws_session_token"):
        Config(aws_session_token="token")
    Config(aws_access_key_id="AKIA", aws_secret_access_key="secret", aws_session_token="token")


def test_secrets_are_not_in_repr() -> None:
    config = Config(aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="very-secret")
    assert "very-secret" not in repr(config)
    assert "AKIAEXAMPLE" not in repr(config)


def test_engine_rejects_what_python_rejects() -> None:
    """The same table drives the Go side: a value Python lets through is accepted there too."""
    import gokpl._native as native

    ffi, lib = native.ffi_lib()
    out = ffi.new("gokpl_producer *")
    err = ffi.new("char[]", 512)
    raw = b'{"region":"us-east-1","collection_max_count":501}'
    assert lib.gokpl_producer_new(raw, len(raw), out, err, 512) == lib.GOKPL_ERR_CONFIG
    assert b"collection_max_count" in ffi.string(err)
    good = Config(region="us-east-1", endpoint_url="http://127.0.0.1:9", collection_max_count=500).to_json().encode()
    assert lib.gokpl_producer_new(good, len(good), out, err, 512) == lib.GOKPL_OK, ffi.string(err)
    assert lib.gokpl_producer_close(out[0], 0, err, 512) == lib.GOKPL_OK


@pytest.mark.parametrize(("field", "good"), [("region", "us-east-1"), ("metrics_namespace", "ns")])
def test_a_pattern_field_with_a_final_newline_is_refused_as_the_engine_refuses_it(field: str, good: str) -> None:
    import gokpl._native as native

    pattern = option_specs()[field]["pattern"]
    assert pattern.startswith("^") and pattern.endswith("$"), "a pattern must be anchored for fullmatch to be Go's"
    with pytest.raises(ConfigError, match=field):
        Config(**{field: good + "\n"})  # type: ignore[arg-type]
    ffi, lib = native.ffi_lib()
    out, err = ffi.new("gokpl_producer *"), ffi.new("char[]", 512)
    raw = json.dumps({"region": "us-east-1", field: good + "\n"}).encode()
    assert lib.gokpl_producer_new(raw, len(raw), out, err, 512) == lib.GOKPL_ERR_CONFIG
    assert field.encode() in ffi.string(err)


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_integer_beyond_every_float_is_out_of_range_for_every_number_option(value: int) -> None:
    for name, spec in option_specs().items():
        if spec["type"] not in ("int", "float"):
            continue
        with pytest.raises(ConfigError, match=f"{name}.*an integer of 1329 bits"):
            Config(**{name: value})


def test_the_largest_ttl_survives_replace_and_reaches_the_engine() -> None:
    # The KPL's way to retry for ever is a huge RecordTtl; as a float, 2**63 - 1
    # rounds up to 2**63, which must still count as within the range.
    config = Config(region="us-east-1", record_ttl_ms=2**63 - 1)
    assert dataclasses.replace(config, record_max_buffered_time_ms=50).record_ttl_ms == 2.0**63
    import gokpl._native as native

    ffi, lib = native.ffi_lib()
    raw = config.to_json().encode()
    out, err = ffi.new("gokpl_producer *"), ffi.new("char[]", 512)
    assert lib.gokpl_producer_new(raw, len(raw), out, err, 512) == lib.GOKPL_OK, ffi.string(err)
    assert lib.gokpl_producer_close(out[0], 0, err, 512) == lib.GOKPL_OK
    assert lib.gokpl_producer_free(out[0]) == lib.GOKPL_OK


ENDPOINT_CASES = json.loads((OPTIONS.parent / "testdata" / "endpoint_urls.json").read_text())


@pytest.mark.parametrize("field", ["endpoint_url", "cloudwatch_endpoint_url"])
@pytest.mark.parametrize("value", ENDPOINT_CASES["invalid"])
def test_an_endpoint_that_is_not_an_http_url_is_a_config_error(field: str, value: str) -> None:
    with pytest.raises(ConfigError, match=field) as info:
        Config(**{field: value})  # type: ignore[arg-type]
    assert "http or https URL" in str(info.value)


@pytest.mark.parametrize("field", ["endpoint_url", "cloudwatch_endpoint_url"])
@pytest.mark.parametrize("value", [*ENDPOINT_CASES["valid"], ""])
def test_http_and_https_endpoints_are_accepted(field: str, value: str) -> None:
    assert getattr(Config(**{field: value}), field) == value  # type: ignore[arg-type]


def test_the_engine_checks_endpoints_as_python_does() -> None:
    """The same cases (core/testdata/endpoint_urls.json) through the library, past Python's check."""
    import gokpl._native as native

    ffi, lib = native.ffi_lib()
    out, err = ffi.new("gokpl_producer *"), ffi.new("char[]", 512)
    for field in ("endpoint_url", "cloudwatch_endpoint_url"):
        for value in ENDPOINT_CASES["invalid"]:
            raw = json.dumps({"region": "us-east-1", field: value}).encode()
            assert lib.gokpl_producer_new(raw, len(raw), out, err, 512) == lib.GOKPL_ERR_CONFIG, value
            assert field.encode() in ffi.string(err)
        for value in ENDPOINT_CASES["valid"]:
            raw = json.dumps({"region": "us-east-1", field: value}).encode()
            assert lib.gokpl_producer_new(raw, len(raw), out, err, 512) == lib.GOKPL_OK, ffi.string(err)
            assert lib.gokpl_producer_close(out[0], 0, err, 512) == lib.GOKPL_OK
            assert lib.gokpl_producer_free(out[0]) == lib.GOKPL_OK
