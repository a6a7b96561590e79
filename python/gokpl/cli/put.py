"""gokpl put: one record per input line (or JSON line), every result waited for, a summary.

Records are put from the main thread; results are counted by done-callbacks
on the producer's callback thread (Tally locks its counts), and a Progress
line may print them every second from its own thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import IO, Any

from .._errors import GokplError, InvalidRecordError
from .._outcome import SyncOutcome
from .._producer import SyncProducer
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    INTERRUPT_FLUSH_S,
    UsageError,
    close_after_interrupt,
    command_parser,
    err,
    non_negative,
    out,
)
from .options import resolve_config
from .progress import Progress


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """The put command's arguments."""
    p = command_parser(
        commands,
        common,
        "put",
        run_put,
        stream_required=True,
        help="put one record per input line (or JSON line)",
        description="Put one record per line of the FILEs (default: standard input) and wait for every result.",
    )
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
        "--show-failures", type=non_negative, default=10, metavar="N", help="print the first N failures (default 10)"
    )


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
            err(f"{where}: {code}: {message}" if message else f"{where}: {code}")


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
    except Exception:
        if tally.put or tally.rejected:  # what was sent before the failure, before its message
            _print_put_summary(tally, time.monotonic() - start, interrupted=False)
        raise
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
    if args.partition_key is not None:
        try:
            units = len(args.partition_key.encode("utf-16-le")) // 2
        except UnicodeEncodeError:  # bytes the locale could not decode, kept as lone surrogates
            raise UsageError("--partition-key must be valid text in the locale's encoding") from None
        if not 1 <= units <= 256:
            raise UsageError("--partition-key must be 1 to 256 characters")
    for name in args.files or []:
        # Every file opens before anything is sent: a typo in the last name
        # must not leave the ones before it half sent.
        if name != "-":
            _open_input(name).close()


def _put_all(producer: SyncProducer, args: argparse.Namespace, tally: Tally) -> bool:
    """Put every input record and wait for all of them; True when interrupted by Ctrl-C."""
    try:
        for record in read_records(args):
            _put_one(producer, args.stream, record, tally)
        producer.flush()
        producer.close()
        return False
    except KeyboardInterrupt:
        err(f"interrupted: flushing for up to {INTERRUPT_FLUSH_S:g} s")
        close_after_interrupt(producer)
        return True
    except GokplError:
        producer.close(timeout=0)
        raise
    except BaseException:  # the input failed part-way: what went in is delivered, and counted
        producer.close()
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


def _print_put_summary(tally: Tally, elapsed: float, interrupted: bool) -> None:
    errors = ", ".join(f"{code}: {n:,}" for code, n in tally.errors.most_common())
    failed = f"{tally.failed:,} failed" + (f" ({errors})" if errors else "")
    out(f"records  {tally.ok:,} ok, {failed}" + ("  [interrupted]" if interrupted else ""))
    out(f"bytes    {tally.bytes_ok:,}")
    out(f"elapsed  {elapsed:.2f} s")
    rate = tally.ok / elapsed if elapsed > 0 else 0.0
    out(f"rate     {rate:,.0f} records/s, {tally.bytes_ok / elapsed / 1e6 if elapsed > 0 else 0:.2f} MB/s")


def read_records(args: argparse.Namespace) -> Iterator[InputRecord]:
    """The records of every input file in order, one per non-empty line."""
    for name in args.files or ["-"]:
        for number, line in _read_lines(name):
            where = f"{'<stdin>' if name == '-' else name}:{number}"
            if args.json:
                yield _json_record(where, line, args)
            else:
                yield InputRecord(where, args.partition_key or uuid.uuid4().hex, line)


def _open_input(name: str) -> IO[bytes]:
    """The input file name, open; UsageError naming it when it cannot be read."""
    try:
        return open(name, "rb")
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def _read_lines(name: str) -> Iterator[tuple[int, bytes]]:
    """(line number, line without its end) of each non-empty line of a file, or of stdin for ``-``."""
    stream = sys.stdin.buffer if name == "-" else _open_input(name)
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
        if value is _ABSENT:
            return InputRecord(where, problem=f"no field {args.data_field!r}")
        try:
            data = _as_text(value).encode()
        except UnicodeEncodeError:  # a lone surrogate escaped in the JSON
            return InputRecord(where, problem=f"field {args.data_field!r} is not valid Unicode text")
    key = args.partition_key
    if key is None and args.key_field is not None:
        value = _field(doc, args.key_field)
        key = None if value is _ABSENT else _as_text(value)
    return InputRecord(where, key or uuid.uuid4().hex, data)


#: _field's answer for a field the document does not have (a JSON null is None).
_ABSENT: Any = object()


def _field(doc: Any, path: str) -> Any:
    """doc[path], or the nested field a dotted path names; _ABSENT when absent."""
    if not isinstance(doc, dict):
        return _ABSENT
    if path in doc:
        return doc[path]
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _ABSENT
        value = value[part]
    return value


def _as_text(value: Any) -> str:
    """A string as is; anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)
