"""``python -m gokpl.testing serve``: the fake Kinesis endpoint in the foreground, for any client.

It runs a FakeKinesis until SIGINT or SIGTERM, printing the endpoint URL on
standard output and how to point clients at it on standard error. Run from
the main thread (it sets signal handlers).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import NamedTuple

from ._control import ACCESS_KEY_ID, CONTROL_PREFIX, REGION, SECRET_ACCESS_KEY, FakeKinesisError
from ._fake import FakeKinesis


class _StreamArg(NamedTuple):
    """One ``--stream NAME:SHARDS[:MAXKIB]`` of ``serve``."""

    name: str
    shards: int
    max_record_size_kib: int | None


def _stream_arg(value: str) -> _StreamArg:
    name, *numbers = value.split(":")
    if not name or not 1 <= len(numbers) <= 2 or not all(n.isdigit() and int(n) >= 1 for n in numbers):
        raise argparse.ArgumentTypeError(f"want NAME:SHARDS[:MAXKIB] with SHARDS >= 1 and MAXKIB >= 1, got {value!r}")
    return _StreamArg(name, int(numbers[0]), int(numbers[1]) if len(numbers) == 2 else None)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gokpl.testing", description="gokpl's fake Kinesis endpoint.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve a fake Kinesis endpoint in the foreground until Ctrl-C or SIGTERM",
        description="Serve a fake Kinesis endpoint for any client (gokpl, boto3, the AWS CLI) until "
        "Ctrl-C or SIGTERM. The endpoint URL is printed on standard output.",
    )
    serve.add_argument("--stream", action="append", type=_stream_arg, default=[], metavar="NAME:SHARDS[:MAXKIB]",
                       help="create a stream at start, MAXKIB its maximum record size in KiB "
                       "(1024 to 10240, default 1024); repeatable")  # fmt: skip
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    serve.add_argument("--discard", action="store_true", help="keep only record counts, not records")
    serve.add_argument("--shard-rate-limit", action="store_true",
                       help="throttle writes over 1000 records and 1 MiB per second per shard")  # fmt: skip
    serve.add_argument("--binary", help="the kinesistest program (default: the one shipped with gokpl)")
    return parser


def _usage_hint(url: str, streams: Sequence[_StreamArg]) -> str:
    listed = ", ".join(f"{s.name} ({s.shards} shard{'s' if s.shards != 1 else ''})" for s in streams)
    return "\n".join(
        [
            f"gokpl.testing: fake Kinesis endpoint at {url}; streams: {listed or 'none yet'}",
            f"  gokpl:   Config(endpoint_url={url!r}, region={REGION!r}, "
            f"aws_access_key_id={ACCESS_KEY_ID!r}, aws_secret_access_key={SECRET_ACCESS_KEY!r})",
            f"  shell:   export AWS_ENDPOINT_URL_KINESIS={url} AWS_DEFAULT_REGION={REGION} "
            f"AWS_ACCESS_KEY_ID={ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY={SECRET_ACCESS_KEY}",
            f"  control: {url}{CONTROL_PREFIX} (faults, requests, streams/NAME/records)",
            "Ctrl-C stops it.",
        ]
    )


def _serve(args: argparse.Namespace) -> int:
    """Run the endpoint until SIGINT or SIGTERM; 0 then, 1 if it cannot start or dies."""
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    fake = FakeKinesis(
        {s.name: s.shards for s in args.stream},
        max_record_size_kib={s.name: s.max_record_size_kib for s in args.stream if s.max_record_size_kib},
        discard=args.discard,
        shard_rate_limit=args.shard_rate_limit,
        binary=args.binary,
        host=args.host,
        port=args.port,
    )
    try:
        fake.start()
        print(fake.endpoint_url, flush=True)
        print(_usage_hint(fake.endpoint_url, args.stream), file=sys.stderr, flush=True)
        while not stopping.wait(0.5):
            fake.check()
    except FakeKinesisError as exc:
        print(f"gokpl.testing: {exc}", file=sys.stderr)
        return 1
    finally:
        fake.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """The ``python -m gokpl.testing`` command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    names = [s.name for s in args.stream]
    if len(set(names)) != len(names):
        parser.error("--stream: a stream is named twice")
    if args.command == "serve":
        return _serve(args)
    return 2  # pragma: no cover: argparse requires a command
