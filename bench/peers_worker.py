"""One row of the peer benchmark (bench/peers.py), run in a process of its own.

    python bench/peers_worker.py '<row spec as JSON>'

The spec names a producer (gokpl, aiokpl-sync, gokpl-async and
aiokpl-async, the asyncio Producers, boto3, boto3-agg, or python-stand-in,
a control that sends nothing), how it is driven (put_record or
put_records, threads, confirmed or fire-and-forget, paced or flat out) and
the endpoint. The worker makes the producer, warms it up (one record put
and confirmed, so the engine, connections and shard map exist; then, where
the spec has warm_up seconds, the row's own workload for that long,
unmeasured, so that the section measures a process in its steady state, as
a long-running service is, rather than its first moments: a fresh process
also pays for growing its heap), then measures:

- records and seconds of the measured section: puts until the record cap or
  the time box, then, confirmed, a wait for every result or, fire-and-forget,
  one flush (both inside the section);
- the time of each put call (time.perf_counter_ns around it);
- put-to-result latency in paced rows: for gokpl, a done-callback stamps
  the time the result became available (every 8th record); for both gokpl
  and aiokpl (which has no callbacks), the start of the record's first
  attempt (its buffering) and the end of its last, as the producer stamps
  them, minus the time of the put;
- event-loop lag in the asyncio loop-lag rows: a task sleeps 1 ms in a
  loop and records how late it wakes, first with the loop idle (0.5 s, the
  floor), then while put_record is paced (every result awaited after the
  pacing, outside the probe); and the CPU time of the loop's thread over
  the paced section, as a share of its wall time (how busy the loop was),
  and the put calls that held the loop longer than 1 ms;
- CPU seconds of the whole process (every thread, Go's included) over the
  section, from getrusage(RUSAGE_SELF); peak RSS (ru_maxrss) at the end.

It prints one JSON line with the figures; anything else (a traceback) goes
to stderr, and the exit status is non-zero on failure.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import sys
import threading
import time
import urllib.request
from array import array
from collections.abc import Callable, Iterator
from typing import Any

KEYS = [f"user-{i}" for i in range(4096)]
BATCH = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
CALLBACK_SAMPLE = 8  # paced gokpl rows stamp every 8th record's result
CHUNK = 256  # paced asyncio rows yield to the event loop at least every 256 puts
IDLE_PROBE_SECONDS = 0.5  # loop-lag rows probe the idle loop this long before producing

Spec = dict[str, Any]
Result = dict[str, Any]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Section:
    """Wall and CPU time of the measured section."""

    def __enter__(self) -> Section:
        self.wall0, self.cpu0 = time.perf_counter(), cpu_seconds()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.wall0
        self.cpu = cpu_seconds() - self.cpu0


def percentiles(values: Any, scale: float) -> dict[str, float | None]:
    # gokpl is imported only now, after the measured section, so that the rows
    # of other producers do not carry its modules while they are measured.
    from gokpl._percentile import percentile

    if len(values) == 0:
        return {"p50": None, "p99": None}
    return {"p50": round(percentile(values, 0.50) * scale, 3), "p99": round(percentile(values, 0.99) * scale, 3)}


def summary(spec: Spec, section: Section, records: int, call_ns: Any, failed: int | None) -> Result:
    """The figures every row reports."""
    return {
        "records": records,
        "seconds": round(section.seconds, 4),
        "cpu_seconds": round(section.cpu, 4),
        "records_per_s": round(records / section.seconds, 1),
        "mb_per_s": round(records * spec["size"] / section.seconds / 1e6, 3),
        "cpu_s_per_million": round(section.cpu / records * 1e6, 3) if records else None,
        "call_us": percentiles(call_ns, 1e-3),
        "calls": len(call_ns),
        "failed": failed,
    }


def deadline_ns(spec: Spec) -> int:
    return time.perf_counter_ns() + int(spec["seconds"] * 1e9)


def warmed_up(spec: Spec, drive: Callable[[Spec], Any]) -> None:
    """Drive the row's workload for its warm_up seconds, unmeasured: every record confirmed or flushed."""
    if spec.get("warm_up"):
        drive({**spec, "seconds": spec["warm_up"]})


# Sync put_record producers (gokpl and aiokpl's SyncProducer share the call).


def put_loop(put: Callable[..., Any], stream: str, data: bytes, cap: int, until: int, keep: bool) -> tuple[Any, list]:
    """put_record until cap records or the deadline; the call times, and the outcomes if kept."""
    times = array("q")
    outcomes: list[Any] = []
    clock = time.perf_counter_ns
    keys, nkeys = KEYS, len(KEYS)
    for i in range(cap):
        t0 = clock()
        outcome = put(stream=stream, partition_key=keys[i % nkeys], data=data)
        t1 = clock()
        times.append(t1 - t0)
        if keep:
            outcomes.append(outcome)
        if t1 >= until:
            break
    return times, outcomes


def count_failed(outcomes: list[Any]) -> int:
    return sum(1 for outcome in outcomes if not outcome.wait().success)


def threaded(spec: Spec, producer: Any) -> tuple[int, Any, int | None]:
    """put_record from spec["threads"] threads; each waits for its own results when confirmed."""
    confirmed = spec["delivery"] == "confirmed"
    threads = spec["threads"]
    data = os.urandom(spec["size"])
    until = deadline_ns(spec)
    shares: list[tuple[Any, int, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        start.wait()
        times, outcomes = put_loop(
            producer.put_record, spec["stream"], data, spec["records"] // threads, until, confirmed
        )
        failed = count_failed(outcomes) if confirmed else 0
        with lock:
            shares.append((times, len(times), failed))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if not confirmed:
        producer.flush()
    call_ns = array("q")
    for times, _, _ in shares:
        call_ns.extend(times)
    failed = sum(share[2] for share in shares) if confirmed else None
    return sum(share[1] for share in shares), call_ns, failed


def paced(spec: Spec, put: Callable[..., Any], on_put: Callable[[Any, int], None]) -> tuple[int, Any, float]:
    """put_record at spec["pace"] records/s for spec["seconds"], in bursts of what is due every 100 us.

    Returns the records, the call times and how long the paced puts took.
    """
    data = os.urandom(spec["size"])
    stream, rate = spec["stream"], spec["pace"]
    total = int(rate * spec["seconds"])
    times = array("q")
    clock = time.perf_counter_ns
    keys, nkeys = KEYS, len(KEYS)
    t_start = clock()
    i = 0
    while i < total:
        due = min(total, int((clock() - t_start) * rate / 1e9) + 1)
        if due <= i:
            time.sleep(0.0001)
            continue
        for j in range(i, due):
            t0 = clock()
            outcome = put(stream=stream, partition_key=keys[j % nkeys], data=data)
            times.append(clock() - t0)
            on_put(outcome, t0)
        i = due
    return total, times, (clock() - t_start) / 1e9


def attempt_latencies(results: list[tuple[Any, float]]) -> Result:
    """Put to the first attempt's start and to the last attempt's end, from (result, time of the put) pairs
    on the producer's own clock."""
    starts = [r.attempts[0].started_at - put_at for r, put_at in results if r.attempts]
    ends = [r.attempts[-1].ended_at - put_at for r, put_at in results if r.attempts]
    return {"attempt_start_ms": percentiles(starts, 1e3), "attempt_end_ms": percentiles(ends, 1e3)}


def pace_figures(records: int, paced_seconds: float) -> Result:
    return {"paced_seconds": round(paced_seconds, 3), "achieved_per_s": round(records / paced_seconds, 1)}


def warm_up(producer: Any, stream: str) -> None:
    result = producer.put_record(stream=stream, partition_key="warm-up", data=b"warm-up").wait(timeout=60)
    if not result.success:
        raise RuntimeError(f"warm-up record failed: {result}")


# gokpl


def producer_options(spec: Spec) -> dict[str, Any]:
    """The options gokpl and aiokpl share, by the same names: endpoint, aggregation, raised rate limits."""
    options: dict[str, Any] = {"region": spec["region"], "endpoint_url": spec["endpoint_url"]}
    options["aggregation_enabled"] = spec["aggregation"]
    if spec.get("rate_limits"):
        options["rate_limit_records_per_sec_per_shard"] = spec["rate_limits"]["records"]
        options["rate_limit_bytes_per_sec_per_shard"] = spec["rate_limits"]["bytes"]
    return options


def gokpl_config(spec: Spec) -> Any:
    from gokpl import Config

    return Config(**producer_options(spec))


def gokpl_batches(spec: Spec, producer: Any) -> tuple[int, Any, int | None]:
    """put_records of 500 (key, data) tuples until the cap or the time box."""
    confirmed = spec["delivery"] == "confirmed"
    data = os.urandom(spec["size"])
    pool = [(key, data) for key in KEYS]
    pool += pool[:BATCH]
    until = deadline_ns(spec)
    times = array("q")
    outcomes: list[Any] = []
    clock = time.perf_counter_ns
    put = producer.put_records
    stream = spec["stream"]
    records = 0
    while records < spec["records"]:
        offset = records % len(KEYS)
        batch = pool[offset : offset + min(BATCH, spec["records"] - records)]
        t0 = clock()
        batch_outcomes = put(stream, batch)
        t1 = clock()
        times.append(t1 - t0)
        records += len(batch)
        if confirmed:
            outcomes += batch_outcomes
        if t1 >= until:
            break
    if not confirmed:
        producer.flush()
        return records, times, None
    return records, times, count_failed(outcomes)


def gokpl_latency(spec: Spec, producer: Any) -> tuple[int, Any, Result]:
    """Paced put_record; every CALLBACK_SAMPLE-th record's result is stamped by a done-callback.

    The same records' attempts (stamped in Unix time by the engine) tell buffering from sending,
    and give a latency comparable with aiokpl's.
    """
    latencies: list[int] = []
    sampled: list[tuple[Any, int]] = []
    clock = time.perf_counter_ns
    counter = [0]

    def on_put(outcome: Any, t0: int) -> None:
        counter[0] += 1
        if counter[0] % CALLBACK_SAMPLE == 0:
            outcome.add_done_callback(lambda _o, t0=t0: latencies.append(clock() - t0))
            sampled.append((outcome, t0))

    records, times, paced_seconds = paced(spec, producer.put_record, on_put)
    producer.flush()
    offset = time.time() - time.perf_counter()
    figures = attempt_latencies([(outcome.wait(), t0 / 1e9 + offset) for outcome, t0 in sampled])
    figures.update(pace_figures(records, paced_seconds))
    figures.update(latency_ms=percentiles(latencies, 1e-6), latency_samples=len(latencies))
    return records, times, figures


def gokpl_metric(metrics: list[Any], name: str, dimensions: dict[str, str]) -> Any:
    return next((m for m in metrics if m.name == name and m.dimensions == dimensions), None)


def throttled_entries(producer: Any) -> tuple[int, int]:
    """PutRecords entries that came back so far, and those throttled (the global series)."""
    metrics = producer.metrics()
    returned = gokpl_metric(metrics, "KinesisRecordsPut", {})
    throttled = gokpl_metric(metrics, "ErrorsByCode", {"ErrorCode": "ProvisionedThroughputExceededException"})
    return (returned.count if returned else 0), (throttled.count if throttled else 0)


def fake_stats(spec: Spec) -> dict[str, Any]:
    url = f"{spec['endpoint_url']}/_kinesistest/streams/{spec['stream']}/stats"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=10) as response:
        stats: dict[str, Any] = json.loads(response.read())
    return stats


def gokpl_rate(spec: Spec, producer: Any) -> Result:
    """Flat out against a rate-enforcing fake: the share of its byte limit sustained after the first second."""
    data = os.urandom(spec["size"])
    clock = time.monotonic
    start = clock()
    steady = None
    i = 0
    while clock() - start < spec["seconds"]:
        if steady is None and clock() - start >= 1.0:  # the first second spends the buckets' burst
            steady = (clock(), fake_stats(spec)["Bytes"], throttled_entries(producer), producer.stats().requests)
        producer.put_record(stream=spec["stream"], partition_key=KEYS[i % len(KEYS)], data=data)
        i += 1
    if steady is None:
        raise RuntimeError("run shorter than the one-second burst")
    elapsed = clock() - steady[0]
    accepted = fake_stats(spec)["Bytes"] - steady[1]
    returned, throttled = throttled_entries(producer)
    limit = spec["shards"] * spec["shard_byte_limit"]
    return {
        "records": i,
        "seconds": round(clock() - start, 3),
        "steady_seconds": round(elapsed, 3),
        "accepted_bytes_per_s": round(accepted / elapsed),
        "pct_of_byte_limit": round(100 * accepted / elapsed / limit, 1),
        "entries_returned": returned - steady[2][0],
        "entries_throttled": throttled - steady[2][1],
        "pct_entries_throttled": round(100 * (throttled - steady[2][1]) / max(returned - steady[2][0], 1), 2),
        "requests": producer.stats().requests - steady[3],
    }


def run_gokpl(spec: Spec) -> Result:
    from gokpl import SyncProducer

    producer = SyncProducer(gokpl_config(spec), exit_timeout=None)
    with producer:
        warm_up(producer, spec["stream"])
        if spec["kind"] == "rate":
            result = gokpl_rate(spec, producer)
            producer.close(timeout=1.0)  # the backlog left behind is not measured
            return result
        latency: Result = {}
        drive = gokpl_batches if spec["api"] == "put_records" else threaded
        if spec["kind"] != "latency":
            warmed_up(spec, lambda s: drive(s, producer))
        with Section() as section:
            if spec["kind"] == "latency":
                records, call_ns, latency = gokpl_latency(spec, producer)
                failed = producer.stats().records_failed
            else:
                records, call_ns, failed = drive(spec, producer)
        if failed is None:
            failed = producer.stats().records_failed
        result = summary(spec, section, records, call_ns, failed)
        result.update(latency)
    return result


# aiokpl


def aiokpl_config(spec: Spec) -> Any:
    import aiokpl

    return aiokpl.Config(**producer_options(spec))


def aiokpl_latency(spec: Spec, producer: Any) -> tuple[int, Any, Result]:
    """Paced put_record; latencies from every record's attempts, which aiokpl stamps with time.monotonic."""
    stamped: list[tuple[Any, int]] = []
    records, times, paced_seconds = paced(spec, producer.put_record, lambda o, t0: stamped.append((o, t0)))
    offset = time.monotonic() - time.perf_counter()  # the put's stamp is perf_counter_ns
    figures = attempt_latencies([(outcome.wait(), t0 / 1e9 + offset) for outcome, t0 in stamped])
    figures.update(pace_figures(records, paced_seconds))
    figures.update(latency_ms=percentiles([], 1), latency_samples=0)  # no done-callbacks to stamp results with
    return records, times, figures


def run_aiokpl_sync(spec: Spec) -> Result:
    import aiokpl

    with aiokpl.SyncProducer(aiokpl_config(spec)) as producer:
        warm_up(producer, spec["stream"])
        latency: Result = {}
        if spec["kind"] != "latency":
            warmed_up(spec, lambda s: threaded(s, producer))
        with Section() as section:
            if spec["kind"] == "latency":
                records, call_ns, latency = aiokpl_latency(spec, producer)
                failed = None
            else:
                records, call_ns, failed = threaded(spec, producer)
        result = summary(spec, section, records, call_ns, failed)
        result.update(latency)
    return result


# asyncio: gokpl's Producer and aiokpl's, driven alike from one event loop


async def async_puts(spec: Spec, producer: Any) -> tuple[int, Any, int | None]:
    """await put_record until the cap or the time box, then every result (confirmed) or a flush."""
    confirmed = spec["delivery"] == "confirmed"
    data = os.urandom(spec["size"])
    stream = spec["stream"]
    until = deadline_ns(spec)
    times = array("q")
    outcomes = []
    clock = time.perf_counter_ns
    for i in range(spec["records"]):
        t0 = clock()
        outcome = await producer.put_record(stream=stream, partition_key=KEYS[i % len(KEYS)], data=data)
        t1 = clock()
        times.append(t1 - t0)
        if confirmed:
            outcomes.append(outcome)
        if t1 >= until:
            break
    if confirmed:
        return len(times), times, await count_failed_async(outcomes)
    await drained(producer)
    return len(times), times, None


async def count_failed_async(outcomes: list[Any]) -> int:
    return sum([not (await o.wait()).success for o in outcomes])


async def drained(producer: Any) -> None:
    """flush, then wait until no record is outstanding (aiokpl's flush only sends; the records resolve after it)."""
    await producer.flush()
    while producer.outstanding_records > 0:
        await asyncio.sleep(0.005)


class LoopLag:
    """A task that sleeps 1 ms in a loop and records how late it wakes (ns past the 1 ms)."""

    PERIOD = 0.001

    def __init__(self) -> None:
        self.lags = array("q")
        self.task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        clock, period_ns = time.perf_counter_ns, int(self.PERIOD * 1e9)
        while True:
            t0 = clock()
            await asyncio.sleep(self.PERIOD)
            self.lags.append(clock() - t0 - period_ns)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._probe())

    async def stop(self) -> Result:
        """Stop the probe: its wake-ups and their lateness in ms."""
        assert self.task is not None
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        lags = [max(lag, 0) for lag in self.lags]
        figures: Result = {"wakeups": len(lags), **percentiles(lags, 1e-6)}
        figures["max"] = round(max(lags) / 1e6, 3) if lags else None
        return figures


async def probed(seconds: float) -> Result:
    """The probe alone for a while: the loop's lag with nothing else to do (the floor)."""
    probe = LoopLag()
    probe.start()
    await asyncio.sleep(seconds)
    return await probe.stop()


async def paced_async(spec: Spec, producer: Any) -> tuple[int, Any, list[Any], float]:
    """await put_record at spec["pace"] records/s for spec["seconds"]: what is due, in chunks of at most
    CHUNK records with a yield to the loop between them, then a 0.5 ms sleep when nothing is due.

    A producer that cannot keep the pace stops at the time box all the same, behind.
    """
    data = os.urandom(spec["size"])
    stream, rate = spec["stream"], spec["pace"]
    total = int(rate * spec["seconds"])
    times = array("q")
    outcomes: list[Any] = []
    clock = time.perf_counter_ns
    t_start = clock()
    until = t_start + int(spec["seconds"] * 1e9)
    i = 0
    while i < total and clock() < until:
        due = min(total, int((clock() - t_start) * rate / 1e9) + 1, i + CHUNK)
        if due <= i:
            await asyncio.sleep(0.0005)
            continue
        for j in range(i, due):
            t0 = clock()
            outcomes.append(await producer.put_record(stream=stream, partition_key=KEYS[j % len(KEYS)], data=data))
            times.append(clock() - t0)
        i = due
        await asyncio.sleep(0)
    return i, times, outcomes, (clock() - t_start) / 1e9


async def loop_lag(spec: Spec, producer: Any) -> tuple[int, Any, int, Result]:
    """The probe while put_record is paced, and how busy the loop's thread was; then every result,
    outside the probe."""
    probe = LoopLag()
    probe.start()
    cpu0 = time.thread_time()
    records, times, outcomes, paced_seconds = await paced_async(spec, producer)
    busy = (time.thread_time() - cpu0) / paced_seconds
    lag = await probe.stop()
    failed = await count_failed_async(outcomes)
    figures = {"loop_lag_ms": lag, "loop_thread_busy_pct": round(100 * busy, 1)}
    figures["put_calls_over_1ms"] = sum(1 for t in times if t > 1_000_000)
    figures["put_call_max_ms"] = round(max(times) / 1e6, 3) if times else None
    return records, times, failed, {**figures, **pace_figures(records, paced_seconds)}


def async_producer(spec: Spec) -> Any:
    """gokpl's Producer or aiokpl's, by the spec's producer."""
    if spec["producer"] == "gokpl-async":
        from gokpl import Producer

        return Producer(gokpl_config(spec))
    import aiokpl

    return aiokpl.Producer(aiokpl_config(spec))


async def async_rows(spec: Spec) -> Result:
    async with async_producer(spec) as producer:
        outcome = await producer.put_record(stream=spec["stream"], partition_key="warm-up", data=b"warm-up")
        if not (await outcome.wait()).success:
            raise RuntimeError("warm-up record failed")
        if spec["kind"] == "loop-lag":
            idle = await probed(IDLE_PROBE_SECONDS)
            with Section() as section:
                records, times, failed, figures = await loop_lag(spec, producer)
            figures["idle_loop_lag_ms"] = idle
        else:
            if spec.get("warm_up"):
                await async_puts({**spec, "seconds": spec["warm_up"]}, producer)
            with Section() as section:
                records, times, failed = await async_puts(spec, producer)
            figures = {}
        return {**summary(spec, section, records, times, failed), **figures}


def run_async(spec: Spec) -> Result:
    return asyncio.run(async_rows(spec))


# boto3, alone and with aws-kinesis-agg


def boto3_client(spec: Spec) -> Any:
    import boto3

    return boto3.client("kinesis", endpoint_url=spec["endpoint_url"], region_name=spec["region"])


def send(client: Any, stream: str, entries: list[dict[str, Any]], times: Any) -> int:
    """One put_records, then again for the entries that failed; the number of failed tries."""
    retries = 0
    while entries:
        t0 = time.perf_counter_ns()
        response = client.put_records(StreamName=stream, Records=entries)
        times.append(time.perf_counter_ns() - t0)
        if not response["FailedRecordCount"]:
            return retries
        retries += 1
        if retries > 20:
            raise RuntimeError(f"records still failing after 20 retries: {response['Records'][:1]}")
        entries = [e for e, r in zip(entries, response["Records"]) if "ErrorCode" in r]
    return retries


def boto3_batches(spec: Spec, client: Any) -> tuple[int, Any, int]:
    """put_records of 500 entries until the cap or the time box: records, request times, retried requests."""
    stream = spec["stream"]
    data = os.urandom(spec["size"])
    pool = [{"PartitionKey": key, "Data": data} for key in KEYS]
    pool += pool[:BATCH]
    until = deadline_ns(spec)
    times = array("q")
    records = retries = 0
    while records < spec["records"] and time.perf_counter_ns() < until:
        offset = records % len(KEYS)
        batch = pool[offset : offset + min(BATCH, spec["records"] - records)]
        retries += send(client, stream, batch, times)
        records += len(batch)
    return records, times, retries


def run_boto3(spec: Spec) -> Result:
    """put_records of 500 entries, each response checked and its failed entries sent again."""
    client = boto3_client(spec)
    client.put_records(StreamName=spec["stream"], Records=[{"PartitionKey": "warm-up", "Data": b"warm-up"}])
    warmed_up(spec, lambda s: boto3_batches(s, client))
    with Section() as section:
        records, times, retries = boto3_batches(spec, client)
    result = summary(spec, section, records, times, 0)
    result["retried_requests"] = retries
    return result


def aggregated(spec: Spec, aggregator: Any, until: int, times: Any) -> Iterator[Any]:
    """add_user_record until the cap or the time box; yields each full aggregated record, then the rest."""
    data = os.urandom(spec["size"])
    clock = time.perf_counter_ns
    keys, nkeys = KEYS, len(KEYS)
    for i in range(spec["records"]):
        t0 = clock()
        full = aggregator.add_user_record(keys[i % nkeys], data)
        if full is not None:
            yield full
        t1 = clock()
        times.append(t1 - t0)  # the call's time includes the request it triggered
        if t1 >= until:
            break
    rest = aggregator.clear_and_get()
    if rest is not None:
        yield rest


def aggregated_batches(spec: Spec, client: Any, aggregator: Any) -> tuple[Any, Any]:
    """Aggregate until the cap or the time box, sending put_records as they fill: call and request times."""
    stream = spec["stream"]
    times = array("q")
    request_ns = array("q")
    entries: list[dict[str, Any]] = []
    size = 0
    for record in aggregated(spec, aggregator, deadline_ns(spec), times):
        key, hash_key, blob = record.get_contents()
        if len(entries) == BATCH or size + len(blob) + len(key) > MAX_REQUEST_BYTES:
            send(client, stream, entries, request_ns)
            entries, size = [], 0
        entry = {"PartitionKey": key, "Data": blob}
        if hash_key:
            entry["ExplicitHashKey"] = hash_key
        entries.append(entry)
        size += len(blob) + len(key)
    if entries:
        send(client, stream, entries, request_ns)
    return times, request_ns


def run_boto3_agg(spec: Spec) -> Result:
    """aws-kinesis-agg's RecordAggregator (50 KiB records, as the KPL's default) and boto3 put_records."""
    from aws_kinesis_agg.aggregator import RecordAggregator

    client = boto3_client(spec)
    client.put_records(StreamName=spec["stream"], Records=[{"PartitionKey": "warm-up", "Data": b"warm-up"}])
    aggregator = RecordAggregator(max_size=51200)
    warmed_up(spec, lambda s: aggregated_batches(s, client, aggregator))
    with Section() as section:
        times, request_ns = aggregated_batches(spec, client, aggregator)
    result = summary(spec, section, len(times), times, 0)
    result["requests"] = len(request_ns)
    result["request_us"] = percentiles(request_ns, 1e-3)
    return result


# A control: the GIL alone


class _Done:
    """The result of a stand-in put: already done, successful."""

    __slots__ = ()
    success = True

    def wait(self) -> _Done:
        return self


class StandIn:
    """A producer in pure Python that sends nothing: a put hashes the
    partition key and returns a result that is already done, about as much
    work with the GIL held as a gokpl put. Driven like gokpl from 1 and from
    8 threads, it shows what CPython's GIL costs this driver by itself, with
    no library, no native call and no lock of a producer."""

    done = _Done()

    def put_record(self, *, stream: str, partition_key: str, data: bytes) -> _Done:
        hashlib.md5(partition_key.encode() + data[:16]).digest()
        return self.done

    def flush(self) -> None:
        pass


def run_stand_in(spec: Spec) -> Result:
    producer = StandIn()
    warmed_up(spec, lambda s: threaded(s, producer))
    with Section() as section:
        records, call_ns, failed = threaded(spec, producer)
    return summary(spec, section, records, call_ns, failed)


RUNNERS: dict[str, Callable[[Spec], Result]] = {
    "gokpl": run_gokpl,
    "aiokpl-sync": run_aiokpl_sync,
    "aiokpl-async": run_async,
    "gokpl-async": run_async,
    "boto3": run_boto3,
    "boto3-agg": run_boto3_agg,
    "python-stand-in": run_stand_in,
}


def main() -> None:
    spec: Spec = json.loads(sys.argv[1])
    result = RUNNERS[spec["producer"]](spec)
    result["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
