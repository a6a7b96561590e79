"""make bench-peers: gokpl against the other ways of writing to Kinesis from Python.

Producers, all from PyPI in the benchmark's own virtualenv (bench/.venv,
from bench/requirements-peers.txt) next to gokpl installed from this
repository:

- gokpl's SyncProducer: put_record from 1 and from 8 threads, and
  put_records in batches of 500;
- gokpl's asyncio Producer: put_record awaited from one event loop;
- aiokpl 0.2.0: its SyncProducer and its asyncio Producer, put_record;
- boto3 put_records, 500 records a request, failed entries sent again;
- aws-kinesis-agg's RecordAggregator (50 KiB records) with boto3
  put_records: aggregation without a result per record.

Each producer is confirmed (every result waited for) and fire-and-forget
(one flush at the end) where it has both, with records of 200 B and 5 KB,
aggregation on and off where it has the option. Every row runs in its own
process (bench/peers_worker.py, which says exactly what is measured) with a
timeout, so a broken peer is reported as failed without stopping the run.
A row puts until its record cap or its time box, whichever comes first.
Before that, every throughput row (and the control) drives its own
workload for a warm-up (0.5 s) that is not measured, so that rows measure
a process in its steady state, as a long-running service is. One extra
row, gokpl's single-thread confirmed put_record with 200-byte aggregated
records, runs without the warm-up ("cold"): it shows what a fresh process
pays on top, mostly for growing its heap.

Endpoints:

- the fake (build/kinesistest --discard, a process of its own on loopback,
  a fresh one per row), 64 shards, every producer's rate limits raised to
  the same 10 M records and 10 GB per second per shard, so that the
  producers are measured, not their limiters;
- kinesis-mock (realistic and slow), 8 shards, default limits, a few rows
  with a fixed number of 200-byte records;
- the fake enforcing the service's per-shard limits (--shard-rate-limit:
  1 MiB/s and 1000 records/s) on 2 shards: gokpl flat out with its default
  Config, the share of the byte limit it sustains after the first second
  and the share of PutRecords entries throttled.

A control with no endpoint: a pure-Python stand-in producer (it hashes the
key and returns a done result) driven from 1 and from 8 threads exactly as
gokpl's put_record rows are, which shows what CPython's GIL costs that
driver with 8 threads by itself.

Event-loop lag rows (asyncio Producers, 200-byte aggregated records,
confirmed): a task sleeps 1 ms in a loop and records how late it wakes,
while put_record is paced at half of the same run's confirmed peak of
gokpl's Producer (both libraries, so at the same rate; aiokpl may not keep
it, and its achieved rate is reported), and aiokpl's also at half of its
own peak. gokpl's targets: lag p99 <= 2 ms; its Producer >= 100,000
records/s and >= 20x aiokpl's. When gokpl as built has no asyncio Producer,
its rows (and those it paces) are left out, and the report says so.

"Latency at half peak" rows pace put_record at half of the same run's
confirmed single-thread peak for that producer, size and aggregation, and
report put-to-result latency; gokpl's target is p99 <= its
record_max_buffered_time_ms (100 ms by default) + 20 ms.

gokpl is copied at the start (python/gokpl as built, and the fake's
binary) and every row imports the copy, so a rebuild of the tree during
the run cannot mix two builds; the JSON records the commit and the
library's SHA-256.

Each row is repeated (--reps, default 3; repetitions interleave, so drift
on a shared machine spreads over all rows) and reported as median, min and
max. Ratios compare each row with aiokpl's SyncProducer (same endpoint,
size, aggregation and delivery) in the same run; gokpl's asyncio rows
also with aiokpl's asyncio Producer. Results go to bench/results/peers.json
with the machine and the command; the Peers section of docs/benchmarks.md
and the plots in docs/img/ are generated from it (--render alone redoes
them from the JSON).

--only TEXT runs the rows whose id contains TEXT (and the rows that pace
them) and puts them in place of the same rows of the existing JSON, the run
described under "reruns"; ratios only ever compare rows of one run.
`--only async` runs the asyncio rows alone.

    bench/.venv/bin/python bench/peers.py [--quick] [--reps N] [--seconds S] [--only TEXT] [--no-mock] [--render]
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from endpoints import KINESISTEST, fake, kinesis_mock

REPO = Path(__file__).resolve().parents[1]
WORKER = REPO / "bench" / "peers_worker.py"
RESULTS = REPO / "bench" / "results" / "peers.json"
STREAM = "bench"
FAST_SHARDS = 64
MOCK_SHARDS = 8
RATE_SHARDS = 2
RAISED_LIMITS = {"records": 10_000_000, "bytes": 10_000_000_000}
SHARD_BYTE_LIMIT = 1 << 20
SIZES = (200, 5000)
PEER_PACKAGES = ("gokpl", "aiokpl", "aiobotocore", "boto3", "botocore", "aws-kinesis-agg", "matplotlib")

# producer, api, threads, delivery, the aggregation settings it runs with
FAST_MODES: tuple[tuple[str, str, int, str, tuple[bool, ...]], ...] = (
    ("gokpl", "put_record", 1, "confirmed", (True, False)),
    ("gokpl", "put_record", 1, "fire-and-forget", (True, False)),
    ("gokpl", "put_record", 8, "confirmed", (True, False)),
    ("gokpl", "put_record", 8, "fire-and-forget", (True, False)),
    ("gokpl", "put_records", 1, "confirmed", (True, False)),
    ("gokpl", "put_records", 1, "fire-and-forget", (True, False)),
    ("gokpl-async", "put_record", 1, "confirmed", (True, False)),
    ("gokpl-async", "put_record", 1, "fire-and-forget", (True, False)),
    ("aiokpl-sync", "put_record", 1, "confirmed", (True, False)),
    ("aiokpl-sync", "put_record", 1, "fire-and-forget", (True, False)),
    ("aiokpl-async", "put_record", 1, "confirmed", (True, False)),
    ("aiokpl-async", "put_record", 1, "fire-and-forget", (True, False)),
    ("boto3", "put_records", 1, "confirmed", (False,)),
    ("boto3-agg", "add_user_record", 1, "per request", (True,)),
)
MOCK_MODES: tuple[tuple[str, str, bool], ...] = (
    ("gokpl", "put_record", True),
    ("gokpl", "put_records", True),
    ("aiokpl-sync", "put_record", True),
    ("boto3", "put_records", False),
)
LATENCY_PRODUCERS = ("gokpl", "aiokpl-sync")
ASYNC_PRODUCERS = ("gokpl-async", "aiokpl-async")
# loop-lag rows: the producer, and whose confirmed peak (200 B, aggregated) half of paces it
LAG_MODES = (("gokpl-async", "gokpl-async"), ("aiokpl-async", "gokpl-async"), ("aiokpl-async", "aiokpl-async"))


@dataclasses.dataclass(frozen=True)
class Profile:
    """How much each row does: full or --quick."""

    reps: int
    seconds: float  # time box of the put phase
    caps: dict[int, int]  # record cap by record size
    mock_records: int
    latency_seconds: float
    rate_seconds: float
    timeout: float
    warm_up: float  # seconds of a throughput row's own workload before its measured section
    lag_seconds: float  # how long loop-lag rows are paced


FULL = Profile(3, 1.25, {200: 400_000, 5000: 80_000}, 1000, 1.5, 6.0, 180.0, 0.5, 3.0)
QUICK = Profile(1, 0.25, {200: 40_000, 5000: 8_000}, 200, 0.5, 2.5, 120.0, 0.1, 1.0)


@dataclasses.dataclass(frozen=True)
class Row:
    """One benchmark row: a producer driven one way against one endpoint."""

    endpoint: str  # fake, mock, fake-rate, or none (the GIL control)
    producer: str
    api: str
    threads: int
    delivery: str
    size: int
    aggregation: bool
    kind: str = "throughput"  # throughput, cold (no warm-up), latency, loop-lag, rate or gil-control
    records: int = 0  # cap
    seconds: float = 0.0  # time box (latency rows: how long they are paced)
    pace: int = 0  # latency rows: records/s
    warm_up: float = 0.0  # seconds of the same workload, unmeasured, before the measured section
    paced_by: str = ""  # loop-lag rows: the producer whose confirmed peak, halved, is the pace

    @property
    def id(self) -> str:
        agg = "agg" if self.aggregation else "noagg"
        text = (
            f"{self.endpoint}/{self.kind}/{self.producer}/{self.api}/{self.threads}t/{self.delivery}/{self.size}B/{agg}"
        )
        return text + (f"/half-{self.paced_by}-peak" if self.paced_by else "")

    @property
    def label(self) -> str:
        names = {"gokpl": "gokpl", "aiokpl-sync": "aiokpl SyncProducer", "aiokpl-async": "aiokpl Producer (async)",
                 "gokpl-async": "gokpl Producer (async)",
                 "boto3": "boto3", "boto3-agg": "aws-kinesis-agg + boto3",
                 "python-stand-in": "pure-Python stand-in"}  # fmt: skip
        text = f"{names[self.producer]} {self.api}"
        if self.api == "put_records":
            text += " x500"
        if self.threads > 1:
            text += f", {self.threads} threads"
        return text

    def spec(self, url: str, region: str) -> dict[str, Any]:
        spec = dataclasses.asdict(self)
        spec.update(endpoint_url=url, region=region, stream=STREAM)
        if self.endpoint == "fake":
            spec["rate_limits"] = RAISED_LIMITS
        return spec


def fast_rows(profile: Profile) -> list[Row]:
    return [
        Row(
            "fake",
            producer,
            api,
            threads,
            delivery,
            size,
            agg,
            records=profile.caps[size],
            seconds=profile.seconds,
            warm_up=profile.warm_up,
        )
        for size in SIZES
        for agg in (True, False)
        for producer, api, threads, delivery, aggs in FAST_MODES
        if agg in aggs
    ]


def cold_row(profile: Profile) -> Row:
    """gokpl's headline row in a fresh process: without the warm-up."""
    cap = profile.caps[200]
    return Row("fake", "gokpl", "put_record", 1, "confirmed", 200, True, "cold", cap, profile.seconds)


def latency_rows(profile: Profile) -> list[Row]:
    return [
        Row("fake", producer, "put_record", 1, "confirmed", size, agg, "latency", seconds=profile.latency_seconds)
        for size in SIZES
        for agg in (True, False)
        for producer in LATENCY_PRODUCERS
    ]


def lag_rows(profile: Profile) -> list[Row]:
    """The event loop's lag while an asyncio Producer puts 200-byte aggregated records at a paced rate."""
    return [
        Row("fake", producer, "put_record", 1, "confirmed", 200, True, "loop-lag", seconds=profile.lag_seconds,
            paced_by=paced_by)
        for producer, paced_by in LAG_MODES
    ]  # fmt: skip


def paces(peak: Row, lag: Row) -> bool:
    """Whether the throughput row peak is the one whose records/s, halved, paces the loop-lag row lag."""
    return peak.kind == "throughput" and same_setup(peak, dataclasses.replace(lag, producer=lag.paced_by))


def rate_row(profile: Profile) -> Row:
    return Row(
        "fake-rate", "gokpl", "put_record", 1, "fire-and-forget", 200, True, "rate", seconds=profile.rate_seconds
    )


def control_rows(profile: Profile) -> list[Row]:
    """The GIL alone: a pure-Python stand-in producer driven from 1 and 8 threads as gokpl is."""
    cap = profile.caps[200]
    return [
        Row(
            "none",
            "python-stand-in",
            "put_record",
            t,
            "confirmed",
            200,
            True,
            "gil-control",
            cap,
            profile.seconds,
            warm_up=profile.warm_up,
        )
        for t in (1, 8)
    ]


def mock_rows(profile: Profile) -> list[Row]:
    return [
        Row("mock", producer, api, 1, "confirmed", 200, agg, records=profile.mock_records, seconds=120.0)
        for producer, api, agg in MOCK_MODES
    ]


def same_setup(a: Row, b: Row) -> bool:
    """Same producer, driven the same way, with the same records, whatever the kind and size of run."""
    fields = ("endpoint", "producer", "api", "threads", "delivery", "size", "aggregation")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


# Running


@dataclasses.dataclass(frozen=True)
class Setup:
    """What every row runs with: the snapshot of gokpl and of the fake endpoint, and the timeout."""

    snapshot: Path
    timeout: float

    @property
    def kinesistest(self) -> Path:
        return self.snapshot / "kinesistest"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
        env["PYTHONPATH"] = str(self.snapshot)  # ahead of the editable install
        return env


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def take_snapshot(directory: Path) -> dict[str, Any]:
    """Copy gokpl as built now (python/gokpl) and the fake endpoint, so that every row measures one build.

    The tree may be rebuilt while the benchmark runs; the copy is not.
    """
    shutil.copytree(REPO / "python" / "gokpl", directory / "gokpl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(KINESISTEST, directory / "kinesistest")
    return {
        "libgokpl_sha256": sha256(directory / "gokpl" / "libgokpl.so"),
        "kinesistest_sha256": sha256(directory / "kinesistest"),
    }


def has_async_producer(setup: Setup) -> bool:
    """Whether gokpl as copied has its asyncio Producer (the gokpl-async rows need it)."""
    probe = subprocess.run(
        [sys.executable, "-c", "import gokpl; print(hasattr(gokpl, 'Producer'))"],
        capture_output=True, text=True, timeout=60, env=setup.env(), cwd=REPO,
    )  # fmt: skip
    return probe.stdout.strip() == "True"


def check_snapshot(setup: Setup) -> None:
    """One tiny gokpl row first: a snapshot taken half-way through a rebuild fails here, not in every row."""
    row = Row("fake", "gokpl", "put_record", 1, "confirmed", 200, True, records=1000, seconds=0.1)
    result = run_on_fake(row, setup)
    if not result["ok"]:
        sys.exit(f"gokpl as copied from python/gokpl does not work (rebuild it, or retry):\n{result['error']}")


def run_worker(spec: dict[str, Any], setup: Setup) -> dict[str, Any]:
    """One row in its own process; a failure or a timeout is a result too."""
    try:
        proc = subprocess.run(
            [sys.executable, str(WORKER), json.dumps(spec)],
            capture_output=True, text=True, timeout=setup.timeout, env=setup.env(), cwd=REPO,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {setup.timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-6:]
        return {"ok": False, "error": "\n".join(tail)}
    result: dict[str, Any] = json.loads(lines[-1])
    result["ok"] = True
    return result


def run_on_fake(row: Row, setup: Setup) -> dict[str, Any]:
    shards = RATE_SHARDS if row.endpoint == "fake-rate" else FAST_SHARDS
    with fake(STREAM, shards, rate_limit=row.endpoint == "fake-rate", binary=setup.kinesistest) as endpoint:
        spec = row.spec(endpoint.endpoint_url, endpoint.config().region or "")
        if row.kind == "rate":
            spec.update(shards=shards, shard_byte_limit=SHARD_BYTE_LIMIT)
        return run_worker(spec, setup)


def describe(result: dict[str, Any]) -> str:
    if not result["ok"]:
        return "FAILED: " + result["error"].splitlines()[-1]
    if "pct_of_byte_limit" in result:
        return f"{result['pct_of_byte_limit']}% of the byte limit, {result['pct_entries_throttled']}% entries throttled"
    text = f"{result['records_per_s']:>12,.0f} records/s, {result['cpu_s_per_million']:8.2f} CPU s/M"
    if pick(result, "loop_lag_ms.p99") is not None:
        lag, achieved = result["loop_lag_ms"], result["achieved_per_s"]
        text += f"; paced {achieved:,.0f}/s, loop lag ms p50 {lag['p50']:.2f} p99 {lag['p99']:.2f} max {lag['max']:.1f}"
    for name, key in (("result", "latency_ms"), ("attempt start", "attempt_start_ms"), ("end", "attempt_end_ms")):
        if pick(result, f"{key}.p99") is not None:
            text += f"; {name} ms p50 {result[key]['p50']:.0f} p99 {result[key]['p99']:.0f}"
    return text


class Runner:
    """Runs rows, repetitions interleaved, and keeps every result."""

    def __init__(self, reps: int) -> None:
        self.reps = reps
        self.results: dict[Row, list[dict[str, Any]]] = {}

    def run(self, rows: list[Row], run_one: Any) -> None:
        for rep in range(self.reps):
            for n, row in enumerate(rows, 1):
                started = time.monotonic()
                result = run_one(row)
                result["wall_seconds"] = round(time.monotonic() - started, 2)
                self.results.setdefault(row, []).append(result)
                print(f"[{rep + 1}/{self.reps} {n:>2}/{len(rows)}] {row.id:<72} {describe(result)}", flush=True)

    def median(self, row: Row, key: str) -> float | None:
        values = [r[key] for r in self.results.get(row, []) if r["ok"] and r.get(key) is not None]
        return statistics.median(values) if values else None


def paced(rows: list[Row], runner: Runner) -> list[Row]:
    """Latency rows with their pace: half the median confirmed single-thread peak, when there is one."""
    out = []
    for row in rows:
        peaks = [r for r in runner.results if r.kind == "throughput" and same_setup(r, row)]
        peak = runner.median(peaks[0], "records_per_s") if peaks else None
        if peak is not None:
            out.append(dataclasses.replace(row, pace=int(peak / 2)))
        else:
            runner.results[row] = [{"ok": False, "error": "no peak measured for it to pace at"}]
    return out


def paced_lag(rows: list[Row], runner: Runner) -> list[Row]:
    """Loop-lag rows with their pace: half the median confirmed peak of the producer that paces them."""
    out = []
    for row in rows:
        peak = next((runner.median(r, "records_per_s") for r in runner.results if paces(r, row)), None)
        if peak is not None:
            out.append(dataclasses.replace(row, pace=int(peak / 2)))
        else:
            runner.results[row] = [{"ok": False, "error": f"no {row.paced_by} peak measured for it to pace at"}]
    return out


def run_mock_rows(rows: list[Row], runner: Runner, setup: Setup) -> None:
    try:
        mock = kinesis_mock({STREAM: MOCK_SHARDS})
    except Exception as exc:  # not installed, or it did not start: every mock row fails with the reason
        for row in rows:
            runner.results[row] = [{"ok": False, "error": f"kinesis-mock: {exc}"}]
        print(f"kinesis-mock rows skipped: {exc}", flush=True)
        return
    with mock:
        runner.run(rows, lambda row: run_worker(row.spec(mock.endpoint_url, mock.region), setup))


# Summaries


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def pick(result: dict[str, Any], path: str) -> Any:
    value: Any = result
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


SUMMARY_FIELDS = (
    "records_per_s", "mb_per_s", "cpu_s_per_million", "call_us.p50", "call_us.p99", "latency_ms.p50",
    "latency_ms.p99", "attempt_start_ms.p50", "attempt_start_ms.p99", "attempt_end_ms.p50", "attempt_end_ms.p99",
    "achieved_per_s", "max_rss_kib", "records", "seconds", "pct_of_byte_limit", "pct_entries_throttled",
    "accepted_bytes_per_s", "loop_lag_ms.p50", "loop_lag_ms.p99", "loop_lag_ms.max", "idle_loop_lag_ms.p50",
    "idle_loop_lag_ms.p99", "loop_thread_busy_pct", "put_calls_over_1ms", "put_call_max_ms",
)  # fmt: skip


def summarize(row: Row, results: list[dict[str, Any]], run: str) -> dict[str, Any]:
    ok = [r for r in results if r["ok"]]
    summary: dict[str, Any] = {}
    for field in SUMMARY_FIELDS:
        values = [pick(r, field) for r in ok]
        stats = spread([v for v in values if v is not None])
        if stats is not None:
            summary[field] = stats
    failed = [r.get("failed") for r in ok if r.get("failed") is not None]
    status = "ok" if len(ok) == len(results) else ("failed" if not ok else "partial")
    entry = dataclasses.asdict(row)
    entry.update(id=row.id, label=row.label, status=status, summary=summary, runs=results, run=run)
    entry["records_failed"] = sum(failed) if failed else (0 if row.producer.startswith("boto3") and ok else None)
    entry["errors"] = sorted({r["error"] for r in results if not r["ok"]})
    return entry


def baseline_key(entry: dict[str, Any]) -> tuple[Any, ...]:
    delivery = "fire-and-forget" if entry["delivery"] == "fire-and-forget" else "confirmed"
    return entry.get("run"), entry["endpoint"], entry["kind"], entry["size"], entry["aggregation"], delivery


def add_ratios(entries: list[dict[str, Any]]) -> None:
    """Each throughput row against aiokpl's SyncProducer with the same endpoint, size, aggregation, delivery,
    in the same run; gokpl's asyncio rows also against aiokpl's asyncio Producer."""
    baselines = {baseline_key(e): e for e in entries if e["producer"] == "aiokpl-sync" and e["kind"] == "throughput"}
    async_bases = {baseline_key(e): e for e in entries if e["producer"] == "aiokpl-async" and e["kind"] == "throughput"}
    for entry in entries:
        base = baselines.get(baseline_key(entry))
        if base is None and entry["producer"].startswith("boto3"):  # no aggregation option: the aggregated one
            base = baselines.get((*baseline_key(entry)[:4], True, "confirmed"))
        entry["vs_aiokpl_sync"] = ratios(entry, base) if base is not None else None
        if entry["producer"] == "gokpl-async":
            base = async_bases.get(baseline_key(entry))
            entry["vs_aiokpl_async"] = ratios(entry, base) if base is not None else None


def ratios(entry: dict[str, Any], base: dict[str, Any]) -> dict[str, Any] | None:
    try:
        rate = entry["summary"]["records_per_s"]["median"] / base["summary"]["records_per_s"]["median"]
        cpu = entry["summary"]["cpu_s_per_million"]["median"] / base["summary"]["cpu_s_per_million"]["median"]
    except (KeyError, ZeroDivisionError):
        return None
    return {"baseline": base["id"], "records_per_s": round(rate, 2), "cpu_per_record": round(cpu, 4)}


def headline(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """gokpl put_record from one thread, confirmed, against aiokpl's SyncProducer, per size and aggregation."""
    lines = []
    for e in entries:
        if (e["endpoint"], e["kind"], e["producer"], e["api"], e["threads"]) != ("fake", "throughput", "gokpl",
                                                                                "put_record", 1):  # fmt: skip
            continue
        if e["delivery"] == "confirmed" and e["vs_aiokpl_sync"]:
            lines.append({"row": e["id"], "size": e["size"], "aggregation": e["aggregation"], **e["vs_aiokpl_sync"]})
    return lines


# Machine and run description


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def command_output(args: list[str]) -> str | None:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30, cwd=REPO).stdout.strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def versions(names: Iterable[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def machine() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": mem_total_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "go": command_output(["go", "version"]),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def repository() -> dict[str, Any]:
    return {
        "commit": command_output(["git", "rev-parse", "HEAD"]),
        "dirty_files": len(
            (command_output(["git", "status", "--porcelain", "--untracked-files=no"]) or "").splitlines()
        ),
    }


# Main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few records, one repetition: about a minute")
    parser.add_argument("--reps", type=int, help="repetitions of every row (default 3; 1 with --quick)")
    parser.add_argument("--seconds", type=float, help="time box of each row's put phase")
    parser.add_argument(
        "--only",
        help="run only the rows whose id contains this text (async: the asyncio Producers' rows), and put them "
        "in place of the same rows of the existing results",
    )
    parser.add_argument("--no-mock", action="store_true", help="leave out the kinesis-mock rows")
    parser.add_argument("--render", action="store_true", help="only regenerate the docs and plots from the JSON")
    parser.add_argument("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def profile_of(args: argparse.Namespace) -> Profile:
    profile = QUICK if args.quick else FULL
    if args.reps:
        profile = dataclasses.replace(profile, reps=args.reps)
    if args.seconds:
        profile = dataclasses.replace(profile, seconds=args.seconds)
    return profile


def with_cold_row(rows: list[Row], cold: list[Row]) -> list[Row]:
    """rows with the cold row (if selected) right after its warm twin, so that both run at about the same time."""
    out = list(rows)
    for row in cold:
        twin = next((i for i, r in enumerate(out) if r.kind == "throughput" and same_setup(r, row)), len(out) - 1)
        out.insert(twin + 1, row)
    return out


def selected(rows: list[Row], only: str | None) -> list[Row]:
    return [row for row in rows if only is None or only in row.id]


def without_gokpl_async(rows: list[Row]) -> list[Row]:
    """rows less those that need gokpl's asyncio Producer: its own, and those paced by its peak."""
    return [r for r in rows if "gokpl-async" not in (r.producer, r.paced_by)]


def run_all(
    args: argparse.Namespace, profile: Profile, setup: Setup, gokpl_async: bool, run: str
) -> list[dict[str, Any]]:
    runner = Runner(profile.reps)
    latency = selected(latency_rows(profile), args.only)
    lag = selected(lag_rows(profile), args.only)
    if not gokpl_async:
        lag = without_gokpl_async(lag)
    fast = [r for r in fast_rows(profile) if r in selected([r], args.only) or any(same_setup(r, x) for x in latency)
            or any(paces(r, x) for x in lag)]  # fmt: skip
    if not gokpl_async:
        fast = without_gokpl_async(fast)
    runner.run(with_cold_row(fast, selected([cold_row(profile)], args.only)), lambda row: run_on_fake(row, setup))
    latency = paced(latency, runner)
    runner.run(latency, lambda row: run_on_fake(row, setup))
    runner.run(paced_lag(lag, runner), lambda row: run_on_fake(row, setup))
    runner.run(selected([rate_row(profile)], args.only), lambda row: run_on_fake(row, setup))
    runner.run(selected(control_rows(profile), args.only), lambda row: run_worker(row.spec("", ""), setup))
    if not args.no_mock:
        mock = selected(mock_rows(profile), args.only)
        if mock:
            run_mock_rows(mock, runner, setup)
    return [summarize(row, results, run) for row, results in runner.results.items()]


def merged_into(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, Any]:
    """The report this run goes into: its own for a full run; with --only, the existing one (when there
    is one), its run described under "reruns"."""
    if args.only is None or not args.output.exists():
        return {**info, "only": args.only, "rows": []}
    report: dict[str, Any] = json.loads(args.output.read_text())
    for entry in report["rows"]:
        entry.setdefault("run", report["date"])
    report["reruns"] = [*report.get("reruns", []), {**info, "only": args.only}]
    return report


def with_rows(report: dict[str, Any], entries: list[dict[str, Any]]) -> dict[str, Any]:
    """report with entries in place of the rows of the same id, its ratios and headline redone, and only
    the reruns that still have rows."""
    fresh = {e["id"]: e for e in entries}
    kept = {e["id"] for e in report["rows"]}
    rows = [fresh.get(e["id"], e) for e in report["rows"]] + [e for e in entries if e["id"] not in kept]
    add_ratios(rows)
    runs = {e["run"] for e in rows}
    reruns = [r for r in report.get("reruns", []) if r["date"] in runs]
    return {**report, "reruns": reruns, "headline": headline(rows), "rows": rows}


def main() -> int:
    args = parse_args()
    from peers_render import render  # matplotlib is imported only when plotting

    if args.render:
        render(json.loads(args.output.read_text()))
        return 0
    if not Path(sys.prefix).resolve().is_relative_to(REPO / "bench" / ".venv"):
        print(f"note: running under {sys.prefix}, not bench/.venv (make bench-venv)", file=sys.stderr)
    profile = profile_of(args)
    started = time.monotonic()
    info = {"machine": machine(), "repository": repository(), "packages": versions(PEER_PACKAGES)}
    info["command"] = shlex.join([os.path.relpath(sys.executable, Path.cwd()), *sys.argv])
    info["date"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    info["profile"] = "quick" if args.quick else "full"
    info["settings"] = {**dataclasses.asdict(profile), "fast_shards": FAST_SHARDS, "mock_shards": MOCK_SHARDS,
                        "rate_shards": RATE_SHARDS, "raised_rate_limits_per_shard": RAISED_LIMITS}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="gokpl-peers-") as directory:
        info["repository"].update(take_snapshot(Path(directory)))
        setup = Setup(Path(directory), profile.timeout)
        check_snapshot(setup)
        info["gokpl_async"] = has_async_producer(setup)
        if not info["gokpl_async"]:
            print("note: gokpl has no asyncio Producer in this build; its rows are left out", file=sys.stderr)
        entries = run_all(args, profile, setup, info["gokpl_async"], info["date"])
    info["machine"]["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    info["total_seconds"] = round(time.monotonic() - started, 1)
    report = with_rows(merged_into(args, info), entries)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"{len(entries)} rows in {info['total_seconds']} s; results in {args.output}")
    render(report)
    failed = [e["id"] for e in entries if e["status"] != "ok"]
    for row_id in failed:
        print("not ok:", row_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
