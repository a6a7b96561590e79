"""gokpl check: validate the configuration and show what the engine will use, and the stream's shards.

The engine answers (``gokpl_check``): it resolves region, endpoint and
credentials with the AWS SDK exactly as a producer made from the same
Config will, and lists the stream's shards as its shard map does. This
module only says where each setting came from and prints. Functions only.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .. import _logs, _native
from .._errors import GokplError
from .._options import option_specs
from .._status import ERR_BUFFER_TOO_SMALL, TIMEOUT, raise_for
from .._version import __version__
from .common import EXIT_FAILED, EXIT_OK, UsageError, command_parser, err, out, print_table
from .options import Resolved, resolve_config

#: First guess at the report's size; grown to what the library asks for.
_REPORT_SIZE = 64 * 1024


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
    out(f"gokpl        {__version__}")
    out(f"engine       {_engine_status()}")
    timeout_s = (config.connect_timeout_ms + config.request_timeout_ms) / 1000
    report = engine_report(config.to_json(), args.stream or "", timeout_s)
    out("config       valid")
    if not report["region"]:
        out("region       not set")
        raise UsageError("no region: pass --region, set AWS_REGION, or set Region in the properties file")
    out(f"region       {report['region']} ({_origin(report['region_source'], 'region', resolved)})")
    out(f"endpoint     {report['endpoint_url']} ({_origin(report['endpoint_source'], 'endpoint_url', resolved)})")
    out(f"verify_ssl   {str(config.verify_ssl).lower()}")
    credentials = report["credentials"]
    out(f"credentials  {describe_credentials(credentials, resolved)}")
    _print_options(resolved)
    if credentials.get("error"):
        raise UsageError("no AWS credentials found")
    stream = report.get("stream")
    if stream is None:
        return EXIT_OK
    if stream.get("error"):
        err(f"stream {stream['name']}: {stream['error']}")
        return EXIT_FAILED
    _print_shards(stream["name"], stream["shards"])
    return EXIT_OK


def engine_report(config_json: str, stream: str, timeout_s: float) -> dict[str, Any]:
    """What the engine resolves for a producer of this configuration, and the stream's shards (gokpl_check)."""
    ffi, lib = _native.ffi_lib()
    config, name = config_json.encode(), stream.encode()
    length = ffi.new("size_t *")
    error = _native.error_buffer()
    size = _REPORT_SIZE
    _logs.sync_level(lib)
    try:
        while True:
            buf = ffi.new("char[]", size)
            status = lib.gokpl_check(config, len(config), name, len(name), round(timeout_s * 1000),
                                     buf, size, length, error, _native.ERROR_BUFFER_SIZE)  # fmt: skip
            if status != ERR_BUFFER_TOO_SMALL:
                break
            size = int(length[0])
    finally:
        _logs.drain()  # the engine's warnings while resolving, on the "gokpl" logger
    if status == TIMEOUT:
        raise GokplError(f"the AWS configuration did not load within {timeout_s:g} s: {_native.message(error)}")
    raise_for(status, _native.message(error))
    report: dict[str, Any] = json.loads(ffi.unpack(buf, length[0]))
    return report


def _engine_status() -> str:
    """Load the shared library (a LibraryLoadError, exit status 1, when it does not) and say from where."""
    _native.ffi_lib()
    return f"loaded ({_native.library_path()})"


def _origin(source: str, option: str, resolved: Resolved) -> str:
    """Where a setting came from: the flag, variable or file that set the option, or the engine's answer."""
    return resolved.origins.get(option, "config") if source == "config" else source


# The AWS SDK's names of its credential providers, as the check says them.
_PROVIDERS = {
    "EnvConfigCredentials": "environment",
    "SSOProvider": "SSO",
    "AssumeRoleProvider": "assume role",
    "WebIdentityCredentials": "web identity token",
    "ProcessProvider": "credential_process",
    "CredentialsEndpointProvider": "container credentials endpoint",
    "EC2RoleProvider": "EC2 instance metadata (instance profile)",
}


def describe_credentials(credentials: dict[str, str], resolved: Resolved) -> str:
    """Where the engine's credentials come from, in words, with the access key id masked; never a secret."""
    if credentials.get("error"):
        return f"none found: {credentials['error']}"
    source, key = credentials.get("source", ""), credentials.get("access_key_id", "")
    expires = f", expires {credentials['expires']}" if credentials.get("expires") else ""
    if resolved.config.aws_access_key_id:
        origin = resolved.origins.get("aws_access_key_id", "config")
        return f"explicit in config (aws_access_key_id={key}, {origin}){expires}"
    if source == "EnvConfigCredentials":
        return f"environment (AWS_ACCESS_KEY_ID={key}){expires}"
    if source.startswith("SharedConfigCredentials: "):
        path = source.partition(": ")[2]
        return f"shared credentials file {path} (aws_access_key_id={key}){expires}"
    return f"{_PROVIDERS.get(source, source)} (aws_access_key_id={key}){expires}"


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


def _print_shards(stream: str, shards: list[dict[str, str]]) -> None:
    out(f"stream       {stream}: {len(shards)} open shard{'s' if len(shards) != 1 else ''}")
    if not shards:
        return
    rows = [("shard", "starting hash key", "ending hash key", "share")]
    for shard in sorted(shards, key=lambda s: int(s["starting_hash_key"])):
        start, end = int(shard["starting_hash_key"]), int(shard["ending_hash_key"])
        rows.append((shard["shard_id"], str(start), str(end), f"{(end - start + 1) / 2**128:.1%}"))
    print_table(rows, indent="  ")
