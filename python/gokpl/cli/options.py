"""The configuration a command runs with: flags, then GOKPL_* environment, then a KPL .properties file.

The options every command takes (--region, --endpoint-url,
--no-verify-ssl, --set, --properties, -v) and their layering into one
Config, with where each set option came from, which ``gokpl check`` shows.
Functions only.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import warnings
from collections.abc import Mapping
from typing import Any

from .._config import Config
from .._environment import env_var, options_from_env, parse_option
from .._kpl_properties import options_from_kpl_properties
from .common import UsageError, err


def common_options() -> argparse.ArgumentParser:
    """The parent parser of the options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("configuration (flags > GOKPL_* environment > --properties file > defaults)")
    group.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile's)")
    group.add_argument("--endpoint-url", metavar="URL", help="Kinesis endpoint URL, e.g. http://localhost:4567")
    group.add_argument(
        "--no-verify-ssl", dest="verify_ssl", action="store_false", default=None, help="accept any TLS certificate"
    )
    group.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any option of the table (repeatable), e.g. --set record_max_buffered_time_ms=50",
    )
    group.add_argument("--properties", metavar="FILE", help="an Amazon KPL .properties file")
    common.add_argument("-v", "--verbose", action="count", default=0, help="engine logs: -v info, -vv debug")
    return common


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The Config the flags, environment and properties file make, and where each set option came from."""

    config: Config
    origins: dict[str, str]


def resolve_config(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Resolved:
    """Layer the sources, lowest first: properties file, GOKPL_* environment, flags."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name, value, origin in [
        *_properties_values(args.properties),
        *((name, value, env_var(name)) for name, value in options_from_env(env).items()),
        *_flag_values(args),
    ]:
        values[name] = value
        origins[name] = origin
    return Resolved(Config(**values), origins)


def _properties_values(path: str | None) -> list[tuple[str, Any, str]]:
    if path is None:
        return []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        values = options_from_kpl_properties(path)
    for warning in caught:
        err(f"warning: {warning.message}")
    return [(name, value, f"properties file {path}") for name, value in values.items()]


def _flag_values(args: argparse.Namespace) -> list[tuple[str, Any, str]]:
    values: list[tuple[str, Any, str]] = []
    for setting in args.settings:
        name, sep, text = setting.partition("=")
        if not sep:
            raise UsageError(f"--set takes NAME=VALUE, got {setting!r}")
        name = name.strip().lower().replace("-", "_")
        values.append((name, parse_option(name, text), f"--set {name}"))
    if args.region is not None:
        values.append(("region", parse_option("region", args.region), "--region"))
    if args.endpoint_url is not None:
        values.append(("endpoint_url", args.endpoint_url, "--endpoint-url"))
    if args.verify_ssl is not None:
        values.append(("verify_ssl", args.verify_ssl, "--no-verify-ssl"))
    return values
