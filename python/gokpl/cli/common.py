"""What every command of the gokpl command shares: exit statuses, output, argument types, Ctrl-C.

Output goes to stdout (results) and stderr (``gokpl: `` messages), flushed
at once, so that it interleaves sensibly with the progress line. Functions
only; the command runs on the main thread.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, Callable

from .._errors import GokplError
from .._producer import SyncProducer

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

#: How long an interrupted put or bench keeps flushing before it closes the producer.
INTERRUPT_FLUSH_S = 2.0
STREAM_ENV = "GOKPL_STREAM"

#: A command: the parsed arguments in, the exit status out.
Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A problem with the command line or the input options: exit status 2."""


def command_parser(
    commands: Any, common: argparse.ArgumentParser, name: str, run: Command, *, stream_required: bool, **text: str
) -> argparse.ArgumentParser:
    """Command ``name``'s sub-parser (``text``: its help and description), with --stream and the common options."""
    parser: argparse.ArgumentParser = commands.add_parser(name, parents=[common], **text)
    default = os.environ.get(STREAM_ENV) or None
    parser.add_argument(
        "--stream",
        default=default,
        required=stream_required and default is None,
        help=f"stream name (default: ${STREAM_ENV})",
    )
    parser.set_defaults(run=run)
    return parser


def positive(text: str) -> int:
    """An argument type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def rate(text: str) -> float:
    """An argument type: a finite number of records per second, 0 or more (0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of records per second, got {text}") from None
    if not 0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a finite number, 0 or more, got {text}")
    return value


def non_negative(text: str) -> int:
    """An argument type: an integer of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {text}")
    return value


def err(message: str) -> None:
    """``gokpl: message`` on stderr."""
    print(f"gokpl: {message}", file=sys.stderr, flush=True)


def out(message: str = "") -> None:
    """A line of the command's result on stdout."""
    print(message, flush=True)


def print_table(rows: Sequence[Sequence[str]], indent: str = "") -> None:
    """Rows of cells in left-aligned columns on stdout, the first row being the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        out(indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def close_after_interrupt(producer: SyncProducer) -> None:
    """Flush briefly, then close: what is left fails as ProducerClosed. A second Ctrl-C skips the flush."""
    try:
        producer.flush(timeout=INTERRUPT_FLUSH_S)
    except (TimeoutError, KeyboardInterrupt, GokplError):
        pass
    try:
        producer.close(timeout=0)
    except KeyboardInterrupt:
        pass
