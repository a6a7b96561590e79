"""gokpl check: validate the configuration and show what it resolves to, and the stream's shards.

Region and credentials are described as the AWS SDK's default chain will
find them (aws_environment); the shards are listed through boto3 when it
is installed (gokpl itself does not need it). Functions only.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import warnings
from typing import Any

from .. import _native
from .._config import Config
from .._options import option_specs
from .._version import __version__
from .aws_environment import describe_credentials, resolve_region
from .common import EXIT_FAILED, EXIT_OK, UsageError, command_parser, err, out, print_table
from .options import Resolved, resolve_config


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """The check command's arguments."""
    command_parser(
        commands,
        common,
        "check",
        run_check,
        stream_required=False,
        help="validate the configuration and show what it resolves to",
        description="Validate the configuration; show region, credentials, endpoint and the stream's shards.",
    )


def run_check(args: argparse.Namespace) -> int:
    """gokpl check: validate the configuration; show region, credentials, endpoint, options and shards."""
    resolved = resolve_config(args)
    config = resolved.config
    region, region_origin = resolve_region(config, resolved.origins, os.environ)
    out(f"gokpl        {__version__}")
    out(f"engine       {_engine_status()}")
    out("config       valid")
    if region is None:
        out("region       not set")
        raise UsageError("no region: pass --region, set AWS_REGION, or set Region in the properties file")
    out(f"region       {region} ({region_origin})")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    endpoint = config.endpoint_url or f"https://kinesis.{region}.{domain}"
    endpoint_origin = resolved.origins.get("endpoint_url", "the service's default for the region")
    out(f"endpoint     {endpoint} ({endpoint_origin})")
    out(f"verify_ssl   {str(config.verify_ssl).lower()}")
    credentials, found = describe_credentials(config, resolved.origins, os.environ)
    out(f"credentials  {credentials}")
    _print_options(resolved)
    if not found:
        raise UsageError("no AWS credentials found")
    if args.stream is None:
        return EXIT_OK
    return _check_stream(config, region, args.stream)


def _engine_status() -> str:
    """Load the shared library (a LibraryLoadError, exit status 1, when it does not) and say from where."""
    _native.ffi_lib()
    return f"loaded ({_native.library_path()})"


def _print_options(resolved: Resolved) -> None:
    """Each option that is not at its default, with where it came from; never a secret's value."""
    shown = {"region", "endpoint_url", "verify_ssl"}
    rows = []
    for name, spec in option_specs().items():
        value = getattr(resolved.config, name)
        if name in shown or value == spec["default"] or name not in resolved.origins:
            continue
        text = "(set)" if spec.get("secret") else json.dumps(value)
        rows.append(f"{name} = {text} ({resolved.origins[name]})")
    out("options      " + ("\n             ".join(rows) if rows else "all at their defaults"))


def _check_stream(config: Config, region: str, stream: str) -> int:
    try:
        boto3 = importlib.import_module("boto3")
    except ImportError:
        err("cannot list the stream's shards: boto3 is not installed (pip install boto3; gokpl does not need it)")
        return EXIT_FAILED
    try:
        shards = list_shards(_kinesis_client(boto3, config, region), stream)
    except Exception as exc:  # botocore's ClientError, EndpointConnectionError, ...
        err(f"stream {stream}: {exc}")
        return EXIT_FAILED
    _print_shards(stream, shards)
    return EXIT_OK


def _kinesis_client(boto3: Any, config: Config, region: str) -> Any:
    botocore_config = importlib.import_module("botocore.config")
    options: dict[str, Any] = {
        "region_name": region,
        "endpoint_url": config.endpoint_url,
        "verify": config.verify_ssl,
        "config": botocore_config.Config(
            connect_timeout=config.connect_timeout_ms / 1000,
            read_timeout=config.request_timeout_ms / 1000,
            retries={"max_attempts": 2},
        ),
    }
    if config.aws_access_key_id:
        options["aws_access_key_id"] = config.aws_access_key_id
        options["aws_secret_access_key"] = config.aws_secret_access_key
        options["aws_session_token"] = config.aws_session_token
    return boto3.client("kinesis", **options)


def list_shards(client: Any, stream: str) -> list[dict[str, Any]]:
    """The stream's open shards (ListShards, AT_LATEST, every page), as the engine lists them."""
    shards: list[dict[str, Any]] = []
    request: dict[str, Any] = {"StreamName": stream, "ShardFilter": {"Type": "AT_LATEST"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning under --no-verify-ssl
        while True:
            page = client.list_shards(**request)
            shards += page["Shards"]
            token = page.get("NextToken")
            if not token:
                return shards
            request = {"NextToken": token}


def _print_shards(stream: str, shards: list[dict[str, Any]]) -> None:
    out(f"stream       {stream}: {len(shards)} open shard{'s' if len(shards) != 1 else ''}")
    if not shards:
        return
    rows = [("shard", "starting hash key", "ending hash key", "share")]
    for shard in sorted(shards, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"])):
        start, end = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
        rows.append((shard["ShardId"], str(start), str(end), f"{(end - start + 1) / 2**128:.1%}"))
    print_table(rows, indent="  ")
