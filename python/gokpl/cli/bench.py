"""gokpl bench: put random records from --threads threads and report throughput and latency.

Each thread puts its share, paced when --rate is given; put-to-result
latencies are recorded by done-callbacks on the producer's callback thread
(one thread, so the recorder needs no lock).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import threading
import time
import uuid
from collections import Counter
from functools import partial
from typing import Any

from .._errors import GokplError
from .._outcome import SyncOutcome
from .._percentile import percentile
from .._producer import SyncProducer
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    INTERRUPT_FLUSH_S,
    close_after_interrupt,
    command_parser,
    err,
    positive,
    print_table,
    rate,
)
from .options import resolve_config


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    """The bench command's arguments."""
    p = command_parser(
        commands,
        common,
        "bench",
        run_bench,
        stream_required=True,
        help="measure throughput and latency against a stream",
        description="Put random records as fast as possible and report throughput and put-to-result latency.",
    )
    p.add_argument("--records", type=positive, default=10_000, metavar="N", help="records to put (default 10000)")
    p.add_argument("--size", type=positive, default=100, metavar="B", help="data bytes per record (default 100)")
    p.add_argument("--threads", type=positive, default=1, metavar="T", help="threads putting (default 1)")
    p.add_argument(
        "--rate",
        type=rate,
        default=0.0,
        metavar="R",
        help="offer at most R records/s in all (default: as fast as the producer takes them)",
    )


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
        err(f"interrupted: flushing for up to {INTERRUPT_FLUSH_S:g} s")
        put_elapsed = time.perf_counter() - start
        close_after_interrupt(producer)
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
    print_table(rows)
