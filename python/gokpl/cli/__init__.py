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
import logging
import os
import sys
from collections.abc import Sequence

from .._errors import ConfigError, GokplError
from .._version import __version__
from . import bench, check, put
from .common import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Command, UsageError, err
from .options import common_options

__all__ = ["build_parser", "main"]

log = logging.getLogger("gokpl")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the gokpl command with ``argv`` (default sys.argv[1:]); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose)
    try:
        command: Command = args.run
        return command(args)
    except (UsageError, ConfigError) as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except GokplError as exc:
        err(f"error: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of the output left (`| head`): not an error of ours
        # Python would report the pipe again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="gokpl",
        description="Publish to Amazon Kinesis Data Streams with gokpl's engine.",
        epilog="Exit status: 0 ok, 1 records failed, 2 usage or configuration error, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"gokpl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = common_options()
    for command in (put, check, bench):
        command.add_parser(commands, common)
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("gokpl: %(levelname)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
