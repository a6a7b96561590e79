"""The gokpl command: put records from lines or JSON lines, check a configuration, benchmark a stream.

    gokpl put --stream events access.log          # one record per line
    gokpl put --stream events --json --key-field user_id < events.jsonl
    gokpl check --stream events                   # region, credentials, endpoint, shard map
    gokpl bench --stream events --records 50000 --size 200

Options come from flags, then ``GOKPL_<OPTION>`` environment variables, then
a KPL ``.properties`` file (``--properties``), then the defaults. Exit codes:
0 success, 1 a record (or the stream check) failed, 2 a usage or
configuration error, 130 interrupted. ``docs/cli.md`` describes every flag.
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import importlib
import json
import logging
import os
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any, Callable

from . import _native
from ._config import Config
from ._environment import env_var, options_from_env, parse_option
from ._errors import ConfigError, GokplError, InvalidRecordError
from ._kpl_properties import options_from_kpl_properties
from ._options import option_specs
from ._outcome import SyncOutcome
from ._percentile import percentile
from ._producer import SyncProducer
from ._version import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: How long an interrupted put or bench keeps flushing before it closes the producer.
INTERRUPT_FLUSH_S = 2.0
PROGRESS_INTERVAL_S = 1.0
STREAM_ENV = "GOKPL_STREAM"

log = logging.getLogger("gokpl")


class UsageError(Exception):
    """A problem with the command line or the input options: exit status 2."""


# Entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gokpl command with ``argv`` (default sys.argv[1:]); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        command: Callable[[argparse.Namespace], int] = args.run
        return command(args)
    except (UsageError, ConfigError) as exc:
        _err(f"error: {exc}")
        return EXIT_USAGE
    except GokplError as exc:
        _err(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="gokpl",
        description="Publish to Amazon Kinesis Data Streams with gokpl's engine.",
        epilog="Exit status: 0 ok, 1 records failed, 2 usage or configuration error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"gokpl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options()
    _add_put(commands, common)
    _add_check(commands, common)
    _add_bench(commands, common)
    return parser


def _common_options() -> argparse.ArgumentParser:
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


def _add_stream(parser: argparse.ArgumentParser, required: bool) -> None:
    default = os.environ.get(STREAM_ENV) or None
    parser.add_argument(
        "--stream",
        default=default,
        required=required and default is None,
        help=f"stream name (default: ${STREAM_ENV})",
    )


def _add_put(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "put",
        parents=[common],
        help="put one record per input line (or JSON line)",
        description="Put one record per line of the FILEs (default: standard input) and wait for every result.",
    )
    _add_stream(p, required=True)
    p.add_argument("files", nargs="*", metavar="FILE", help="input files; - is standard input (the default)")
    p.add_argument("--json", action="store_true", help="each line is a JSON document")
    p.add_argument("--data-field", metavar="FIELD", help="with --json: the record's data is this field (a.b nests)")
    p.add_argument("--key-field", metavar="FIELD", help="with --json: the partition key is this field")
    p.add_argument("--partition-key", metavar="KEY", help="one partition key for every record (default: random)")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress on stderr every second (default: when stderr is a terminal)",
    )
    p.add_argument(
        "--show-failures", type=_non_negative, default=10, metavar="N", help="print the first N failures (default 10)"
    )
    p.set_defaults(run=run_put)


def _add_check(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "check",
        parents=[common],
        help="validate the configuration and show what it resolves to",
        description="Validate the configuration; show region, credentials, endpoint and the stream's shards.",
    )
    _add_stream(p, required=False)
    p.set_defaults(run=run_check)


def _add_bench(commands: Any, common: argparse.ArgumentParser) -> None:
    p = commands.add_parser(
        "bench",
        parents=[common],
        help="measure throughput and latency against a stream",
        description="Put random records as fast as possible and report throughput and put-to-result latency.",
    )
    _add_stream(p, required=True)
    p.add_argument("--records", type=_positive, default=10_000, metavar="N", help="records to put (default 10000)")
    p.add_argument("--size", type=_positive, default=100, metavar="B", help="data bytes per record (default 100)")
    p.add_argument("--threads", type=_positive, default=1, metavar="T", help="threads putting (default 1)")
    p.add_argument(
        "--rate",
        type=float,
        default=0.0,
        metavar="R",
        help="offer at most R records/s in all (default: as fast as the producer takes them)",
    )
    p.set_defaults(run=run_bench)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("gokpl: %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False


def _err(message: str) -> None:
    print(f"gokpl: {message}", file=sys.stderr, flush=True)


def _out(message: str = "") -> None:
    print(message, flush=True)


# Configuration


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
        _err(f"warning: {warning.message}")
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


# put


@dataclasses.dataclass(frozen=True)
class InputRecord:
    """One record read from the input; ``problem`` set when the line cannot be a record."""

    where: str
    partition_key: str = ""
    data: bytes = b""
    problem: str | None = None


class Tally:
    """Counts of records put and resolved, updated from the callback thread."""

    def __init__(self, show_failures: int) -> None:
        self._lock = threading.Lock()
        self.put = 0  #: records handed to the producer
        self.ok = 0  #: resolved with success
        self.not_delivered = 0  #: resolved with failure
        self.rejected = 0  #: input lines that never became a record
        self.bytes_ok = 0
        self.errors: Counter[str] = Counter()
        self._show = show_failures
        self._shown = 0

    @property
    def failed(self) -> int:
        """Records that failed, whether rejected before the put or resolved with failure."""
        return self.not_delivered + self.rejected

    @property
    def in_flight(self) -> int:
        """Records put and not yet resolved."""
        return self.put - self.ok - self.not_delivered

    def add_put(self) -> None:
        """A record went into the producer."""
        with self._lock:
            self.put += 1

    def resolved(self, where: str, size: int, outcome: SyncOutcome) -> None:
        """Done-callback: count the outcome's result."""
        result = outcome.wait(0)
        if result.success:
            with self._lock:
                self.ok += 1
                self.bytes_ok += size
            return
        with self._lock:
            self.not_delivered += 1
        self._report(where, result.error_code or "Unknown", result.error_message or "")

    def reject(self, where: str, problem: str) -> None:
        """An input line that never became a record."""
        with self._lock:
            self.rejected += 1
        self._report(where, "InvalidInput", problem)

    def _report(self, where: str, code: str, message: str) -> None:
        """Count the error code; print the failure while fewer than show_failures were."""
        with self._lock:
            self.errors[code] += 1
            show = self._shown < self._show
            self._shown += show
        if show:
            _err(f"{where}: {code}: {message}" if message else f"{where}: {code}")


class Progress:
    """A line of progress on stderr every interval, from a daemon thread."""

    def __init__(self, tally: Tally, stream: IO[str], tty: bool) -> None:
        self._tally = tally
        self._stream = stream
        self._tty = tty
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gokpl-progress", daemon=True)

    def start(self) -> None:
        """Start printing."""
        self._thread.start()

    def stop(self) -> None:
        """Stop printing and clear the progress line."""
        self._stop.set()
        self._thread.join(PROGRESS_INTERVAL_S * 2)
        if self._tty:
            self._stream.write("\r\x1b[K")
            self._stream.flush()

    def _run(self) -> None:
        last_done, last_time = 0, time.monotonic()
        while not self._stop.wait(PROGRESS_INTERVAL_S):
            t = self._tally
            now, done = time.monotonic(), t.ok + t.failed
            rate = (done - last_done) / max(now - last_time, 1e-9)
            last_done, last_time = done, now
            line = (
                f"gokpl: {t.put:,} put  {t.ok:,} ok  {t.failed:,} failed  "
                f"{t.in_flight:,} in flight  {rate:,.0f} records/s"
            )
            self._stream.write(f"\r\x1b[K{line}" if self._tty else line + "\n")
            self._stream.flush()


def run_put(args: argparse.Namespace) -> int:
    """gokpl put: publish every input line, wait for every result, print a summary."""
    _check_put_args(args)
    resolved = resolve_config(args)
    tally = Tally(args.show_failures)
    tty = sys.stderr.isatty()
    progress = Progress(tally, sys.stderr, tty) if (tty if args.progress is None else args.progress) else None
    producer = SyncProducer(resolved.config, exit_timeout=None).__enter__()
    start = time.monotonic()
    if progress is not None:
        progress.start()
    try:
        interrupted = _put_all(producer, args, tally)
    finally:
        if progress is not None:
            progress.stop()
    _print_put_summary(tally, time.monotonic() - start, interrupted)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if tally.failed else EXIT_OK


def _check_put_args(args: argparse.Namespace) -> None:
    if not args.json and (args.data_field or args.key_field):
        raise UsageError("--data-field and --key-field need --json")
    if args.partition_key is not None and not 1 <= len(args.partition_key.encode("utf-16-le")) // 2 <= 256:
        raise UsageError("--partition-key must be 1 to 256 characters")


def _put_all(producer: SyncProducer, args: argparse.Namespace, tally: Tally) -> bool:
    """Put every input record and wait for all of them; True when interrupted by Ctrl-C."""
    try:
        for record in read_records(args):
            _put_one(producer, args.stream, record, tally)
        producer.flush()
        producer.close()
        return False
    except KeyboardInterrupt:
        _err(f"interrupted: flushing for up to {INTERRUPT_FLUSH_S:g} s")
        _close_after_interrupt(producer)
        return True
    except GokplError:
        producer.close(timeout=0)
        raise


def _put_one(producer: SyncProducer, stream: str, record: InputRecord, tally: Tally) -> None:
    if record.problem is not None:
        tally.reject(record.where, record.problem)
        return
    try:
        outcome = producer.put_record(stream=stream, partition_key=record.partition_key, data=record.data)
    except InvalidRecordError as exc:
        tally.reject(record.where, str(exc))
        return
    tally.add_put()
    outcome.add_done_callback(partial(tally.resolved, record.where, len(record.data)))


def _close_after_interrupt(producer: SyncProducer) -> None:
    """Flush briefly, then close: what is left fails as ProducerClosed. A second Ctrl-C skips the flush."""
    try:
        producer.flush(timeout=INTERRUPT_FLUSH_S)
    except (TimeoutError, KeyboardInterrupt, GokplError):
        pass
    try:
        producer.close(timeout=0)
    except KeyboardInterrupt:
        pass


def _print_put_summary(tally: Tally, elapsed: float, interrupted: bool) -> None:
    errors = ", ".join(f"{code}: {n:,}" for code, n in tally.errors.most_common())
    failed = f"{tally.failed:,} failed" + (f" ({errors})" if errors else "")
    _out(f"records  {tally.ok:,} ok, {failed}" + ("  [interrupted]" if interrupted else ""))
    _out(f"bytes    {tally.bytes_ok:,}")
    _out(f"elapsed  {elapsed:.2f} s")
    rate = tally.ok / elapsed if elapsed > 0 else 0.0
    _out(f"rate     {rate:,.0f} records/s, {tally.bytes_ok / elapsed / 1e6 if elapsed > 0 else 0:.2f} MB/s")


def read_records(args: argparse.Namespace) -> Iterator[InputRecord]:
    """The records of every input file in order, one per non-empty line."""
    for name in args.files or ["-"]:
        for number, line in _read_lines(name):
            where = f"{'<stdin>' if name == '-' else name}:{number}"
            if args.json:
                yield _json_record(where, line, args)
            else:
                yield InputRecord(where, args.partition_key or uuid.uuid4().hex, line)


def _read_lines(name: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its end) of each non-empty line of a file, or of stdin for ``-``."""
    try:
        stream: IO[bytes] = sys.stdin.buffer if name == "-" else open(name, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None
    try:
        for number, raw in enumerate(stream, 1):
            line = raw[:-1] if raw.endswith(b"\n") else raw
            line = line[:-1] if line.endswith(b"\r") else line
            if line:
                yield number, line
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _json_record(where: str, line: bytes, args: argparse.Namespace) -> InputRecord:
    """A record from a JSON line: data from --data-field (or the whole line), key from --key-field."""
    try:
        doc = json.loads(line)
    except ValueError as exc:
        return InputRecord(where, problem=f"not JSON: {exc}")
    data = line
    if args.data_field is not None:
        value = _field(doc, args.data_field)
        if value is None:
            return InputRecord(where, problem=f"no field {args.data_field!r}")
        data = _as_text(value).encode()
    key = args.partition_key
    if key is None and args.key_field is not None:
        value = _field(doc, args.key_field)
        key = None if value is None else _as_text(value)
    return InputRecord(where, key or uuid.uuid4().hex, data)


def _field(doc: Any, path: str) -> Any:
    """doc[path], or the nested field a dotted path names; None when absent."""
    if not isinstance(doc, dict):
        return None
    if path in doc:
        return doc[path]
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _as_text(value: Any) -> str:
    """A string as is; anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# check


def run_check(args: argparse.Namespace) -> int:
    """gokpl check: validate the configuration; show region, credentials, endpoint, options and shards."""
    resolved = resolve_config(args)
    config = resolved.config
    region, region_origin = resolve_region(config, resolved.origins, os.environ)
    _out(f"gokpl        {__version__}")
    _out(f"engine       {_engine_status()}")
    _out("config       valid")
    if region is None:
        _out("region       not set")
        raise UsageError("no region: pass --region, set AWS_REGION, or set Region in the properties file")
    _out(f"region       {region} ({region_origin})")
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    endpoint = config.endpoint_url or f"https://kinesis.{region}.{domain}"
    endpoint_origin = resolved.origins.get("endpoint_url", "the service's default for the region")
    _out(f"endpoint     {endpoint} ({endpoint_origin})")
    _out(f"verify_ssl   {str(config.verify_ssl).lower()}")
    credentials, found = describe_credentials(config, resolved.origins, os.environ)
    _out(f"credentials  {credentials}")
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
    _out("options      " + ("\n             ".join(rows) if rows else "all at their defaults"))


def resolve_region(config: Config, origins: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The region the engine will use, and where it comes from: config, environment, then the profile."""
    if config.region:
        return config.region, origins.get("region", "config")
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(var):
            return environ[var], f"environment {var}"
    profile = environ.get("AWS_PROFILE") or "default"
    path = _aws_file(environ, "AWS_CONFIG_FILE", "config")
    section = _profile_section(path, profile, config_file=True)
    if section is not None and section.get("region"):
        return section["region"], f"config file {path}, profile {profile}"
    return None, "not set"


# Credentials: what the AWS SDK's default chain will find, never a secret.


def mask_key(key: str) -> str:
    """An access key id with only its first and last 4 characters (all masked when short)."""
    return f"{key[:4]}…{key[-4:]}" if len(key) >= 16 else "…" * 3


def describe_credentials(config: Config, origins: Mapping[str, str], environ: Mapping[str, str]) -> tuple[str, bool]:
    """Where the credentials come from, and whether any were found.

    Keys in the config win; otherwise botocore's resolution (the same chain
    as the engine's SDK: environment, profiles, SSO, web identity, container,
    instance metadata) when botocore is installed, else an inspection of the
    environment and the shared files.
    """
    if config.aws_access_key_id:
        origin = origins.get("aws_access_key_id", "config")
        return f"explicit in config (aws_access_key_id={mask_key(config.aws_access_key_id)}, {origin})", True
    try:
        session_module = importlib.import_module("botocore.session")
    except ImportError:
        return _credentials_without_botocore(environ)
    return _credentials_with_botocore(session_module, environ)


_BOTOCORE_METHODS = {
    "env": "environment",
    "shared-credentials-file": "shared credentials file",
    "config-file": "config file",
    "sso": "SSO",
    "assume-role": "assume role",
    "assume-role-with-web-identity": "web identity token",
    "custom-process": "credential_process",
    "container-role": "container credentials endpoint",
    "iam-role": "EC2 instance metadata (instance profile)",
}


def _credentials_with_botocore(session_module: Any, environ: Mapping[str, str]) -> tuple[str, bool]:
    try:
        credentials = session_module.Session().get_credentials()
    except Exception as exc:  # a broken profile, an expired SSO token, ...
        return f"error resolving credentials: {exc}", False
    if credentials is None:
        return "none found (environment, profiles, container and instance metadata all tried)", False
    method = str(credentials.method)
    text = _BOTOCORE_METHODS.get(method, method)
    profile = environ.get("AWS_PROFILE") or "default"
    if method == "env":
        return f"{text} (AWS_ACCESS_KEY_ID={mask_key(credentials.access_key)})", True
    if method in ("shared-credentials-file", "config-file"):
        return f"{text}, profile {profile} (aws_access_key_id={mask_key(credentials.access_key)})", True
    if method in ("sso", "assume-role", "custom-process"):
        return f"{text}, profile {profile}", True
    return text, True


def _credentials_without_botocore(environ: Mapping[str, str]) -> tuple[str, bool]:
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return f"environment (AWS_ACCESS_KEY_ID={mask_key(environ['AWS_ACCESS_KEY_ID'])})", True
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") and environ.get("AWS_ROLE_ARN"):
        return "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)", True
    profile = environ.get("AWS_PROFILE") or "default"
    found = _profile_credentials(environ, profile)
    if found is not None:
        return found, True
    if environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        return "container credentials endpoint", True
    return "not in the environment or profile files; the AWS SDK will try EC2 instance metadata", True


def _profile_credentials(environ: Mapping[str, str], profile: str) -> str | None:
    """The profile's kind of credentials in the shared credentials or config file, if it has any."""
    path = _aws_file(environ, "AWS_SHARED_CREDENTIALS_FILE", "credentials")
    section = _profile_section(path, profile, config_file=False)
    if section is not None and section.get("aws_access_key_id"):
        return f"shared credentials file {path}, profile {profile} ({mask_key(section['aws_access_key_id'])})"
    path = _aws_file(environ, "AWS_CONFIG_FILE", "config")
    section = _profile_section(path, profile, config_file=True)
    if section is None:
        return None
    for key, kind in (
        ("aws_access_key_id", "keys"),
        ("role_arn", "assume role"),
        ("sso_session", "SSO"),
        ("sso_start_url", "SSO"),
        ("credential_process", "credential_process"),
    ):
        if section.get(key):
            return f"config file {path}, profile {profile} ({kind})"
    return None


def _aws_file(environ: Mapping[str, str], var: str, name: str) -> Path:
    return Path(environ.get(var) or Path.home() / ".aws" / name).expanduser()


def _profile_section(path: Path, profile: str, config_file: bool) -> Mapping[str, str] | None:
    """A profile's settings from a shared AWS file ([profile NAME] in the config file, except default)."""
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    name = f"profile {profile}" if config_file and profile != "default" else profile
    return dict(parser[name]) if parser.has_section(name) else None


# check --stream: the shard map, through boto3 (gokpl itself does not need it).


def _check_stream(config: Config, region: str, stream: str) -> int:
    try:
        boto3 = importlib.import_module("boto3")
    except ImportError:
        _err("cannot list the stream's shards: boto3 is not installed (pip install boto3; gokpl does not need it)")
        return EXIT_FAILED
    try:
        shards = list_shards(_kinesis_client(boto3, config, region), stream)
    except Exception as exc:  # botocore's ClientError, EndpointConnectionError, ...
        _err(f"stream {stream}: {exc}")
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
    _out(f"stream       {stream}: {len(shards)} open shard{'s' if len(shards) != 1 else ''}")
    if not shards:
        return
    rows = [("shard", "starting hash key", "ending hash key", "share")]
    for shard in sorted(shards, key=lambda s: int(s["HashKeyRange"]["StartingHashKey"])):
        start, end = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
        rows.append((shard["ShardId"], str(start), str(end), f"{(end - start + 1) / 2**128:.1%}"))
    _print_table(rows, indent="  ")


def _print_table(rows: Sequence[Sequence[str]], indent: str = "") -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        _out(indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


# bench


class LatencyRecorder:
    """Put-to-result latencies and success counts, recorded from the callback thread."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.failed: Counter[str] = Counter()

    def resolved(self, started: float, outcome: SyncOutcome) -> None:
        """Done-callback: record the time since the put and the result."""
        self.latencies.append(time.perf_counter() - started)
        result = outcome.wait(0)
        if not result.success:
            self.failed[result.error_code or "Unknown"] += 1


def run_bench(args: argparse.Namespace) -> int:
    """gokpl bench: put --records random records from --threads threads; print throughput and latency."""
    config = resolve_config(args).config
    recorder = LatencyRecorder()
    producer = SyncProducer(config, exit_timeout=None).__enter__()
    counts = [args.records // args.threads + (i < args.records % args.threads) for i in range(args.threads)]
    start = time.perf_counter()
    interrupted = False
    try:
        put_elapsed = _bench_put(producer, args.stream, counts, Load(args.size, args.rate / args.threads), recorder)
        producer.flush()
    except GokplError:
        producer.close(timeout=0)
        raise
    except KeyboardInterrupt:
        interrupted = True
        _err(f"interrupted: flushing for up to {INTERRUPT_FLUSH_S:g} s")
        put_elapsed = time.perf_counter() - start
        _close_after_interrupt(producer)
    elapsed = time.perf_counter() - start
    stats = producer.stats() if not interrupted else None
    producer.close()
    _print_bench(args, recorder, put_elapsed, elapsed, stats)
    if interrupted:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if sum(recorder.failed.values()) else EXIT_OK


@dataclasses.dataclass(frozen=True)
class Load:
    """What each bench thread offers: records of ``size`` bytes, at most ``rate`` per second (0: no limit)."""

    size: int
    rate: float


def _bench_put(producer: SyncProducer, stream: str, counts: list[int], load: Load, recorder: LatencyRecorder) -> float:
    """Put from one thread per count; return the seconds until every record was handed over."""
    start = time.perf_counter()
    errors: list[BaseException] = []
    if len(counts) == 1:
        _bench_thread(producer, stream, counts[0], load, recorder, errors)
    else:
        threads = [
            threading.Thread(target=_bench_thread, args=(producer, stream, n, load, recorder, errors), daemon=True)
            for n in counts
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)  # in slices, so Ctrl-C reaches the main thread
    if errors:
        raise errors[0]
    return time.perf_counter() - start


def _bench_thread(
    producer: SyncProducer, stream: str, n: int, load: Load, recorder: LatencyRecorder, errors: list[BaseException]
) -> None:
    data = os.urandom(load.size)
    keys = [uuid.uuid4().hex for _ in range(min(n, 4096))]
    resolved = recorder.resolved
    put, clock = producer.put_record, time.perf_counter
    interval = 1.0 / load.rate if load.rate > 0 else 0.0
    begin = clock()
    try:
        for i in range(n):
            started = clock()
            if interval and started < begin + i * interval:
                time.sleep(begin + i * interval - started)
                started = clock()
            outcome = put(stream=stream, partition_key=keys[i % len(keys)], data=data)
            outcome.add_done_callback(partial(resolved, started))
    except Exception as exc:
        errors.append(exc)


def _print_bench(
    args: argparse.Namespace, recorder: LatencyRecorder, put_elapsed: float, elapsed: float, stats: Any
) -> None:
    latencies = recorder.latencies
    failed = sum(recorder.failed.values())
    ok = len(latencies) - failed
    rows = [
        ("metric", "value"),
        ("records", f"{args.records:,} x {args.size:,} B from {args.threads} thread{'s' if args.threads > 1 else ''}"),
        ("offered rate", f"{args.rate:,.0f} records/s" if args.rate > 0 else "unlimited"),
        ("ok", f"{ok:,}"),
        ("failed", f"{failed:,}" + "".join(f" {code}: {n:,}" for code, n in recorder.failed.most_common())),
        ("elapsed", f"{elapsed:.3f} s"),
        ("put rate", f"{len(latencies) / put_elapsed if put_elapsed > 0 else 0:,.0f} records/s"),
        ("throughput", f"{ok / elapsed if elapsed > 0 else 0:,.0f} records/s"),
        ("throughput MB/s", f"{ok * args.size / elapsed / 1e6 if elapsed > 0 else 0:,.2f}"),
        ("latency p50", f"{percentile(latencies, 0.50) * 1000:.1f} ms"),
        ("latency p99", f"{percentile(latencies, 0.99) * 1000:.1f} ms"),
        ("latency max", f"{max(latencies, default=0.0) * 1000:.1f} ms"),
    ]
    if stats is not None:
        rows.append(("kinesis records", f"{stats.kinesis_records_sent:,}"))
        rows.append(("requests", f"{stats.requests:,}"))
    _print_table(rows)
