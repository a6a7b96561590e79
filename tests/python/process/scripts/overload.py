"""A producer against an endpoint that throttles every PutRecords, for a while; RSS sampled as it goes.

    python overload.py ENDPOINT_URL STREAM SECONDS MAX_OUTSTANDING_RECORDS RECORD_BYTES

The fake endpoint answers every PutRecords with
ProvisionedThroughputExceededException: the script keeps its queue of
one-shot faults (the control API's POST /_kinesistest/faults) ahead of the
requests it has counted. The main thread puts records as fast as the
producer takes them (puts block on backpressure, with a short timeout),
records retry until their TTL, which is longer than the run, and RSS is
sampled every quarter second. One line of JSON reports the samples, the
puts, and the backpressure timeouts; the caller judges them against the
budget (MAX_OUTSTANDING_RECORDS x RECORD_BYTES).
"""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.request

from gokpl import BackpressureTimeoutError, Config, SyncProducer

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
THROTTLE = {"Operation": "PutRecords", "StatusCode": 400, "ErrorType": "ProvisionedThroughputExceededException"}


def control(endpoint: str, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{endpoint}/_kinesistest/{path}", data=data, method=method)
    with _OPENER.open(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


class Throttler(threading.Thread):
    """Keeps at least `ahead` throttling faults queued beyond the PutRecords requests seen."""

    def __init__(self, endpoint: str, ahead: int = 400) -> None:
        super().__init__(name="throttler", daemon=True)
        self.endpoint, self.ahead = endpoint, ahead
        self.injected = 0
        self.stopped = threading.Event()
        self.top_up()

    def requests(self) -> int:
        counts = control(self.endpoint, "GET", "requests")
        return int(counts.get("PutRecords", 0)) if isinstance(counts, dict) else 0

    def top_up(self) -> None:
        missing = self.ahead - (self.injected - self.requests())
        for _ in range(max(missing, 0)):
            control(self.endpoint, "POST", "faults", THROTTLE)
            self.injected += 1

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            self.top_up()


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main() -> None:
    endpoint, stream = sys.argv[1], sys.argv[2]
    seconds, max_records, record_bytes = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    throttler = Throttler(endpoint)
    throttler.start()
    config = Config(
        region="us-east-1",
        endpoint_url=endpoint,
        record_max_buffered_time_ms=20,
        max_outstanding_records=max_records,
        record_ttl_ms=int((seconds + 600) * 1000),
    )
    producer = SyncProducer(config)
    producer.__enter__()
    start_rss = rss_kib()
    samples: list[tuple[float, int]] = []
    puts = timeouts = 0
    data = b"o" * record_bytes
    start = next_sample = time.monotonic()
    while (now := time.monotonic()) < start + seconds:
        if now >= next_sample:
            samples.append((round(now - start, 2), rss_kib()))
            next_sample = now + 0.25
        try:
            producer.put_record(stream=stream, partition_key=f"k{puts}", data=data, timeout=0.05)
            puts += 1
        except BackpressureTimeoutError:
            timeouts += 1
    stats = producer.stats()
    throttler.stopped.set()
    producer.close(timeout=0)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "max_outstanding_records": max_records,
                "record_bytes": record_bytes,
                "budget_kib": max_records * record_bytes // 1024,
                "puts": puts,
                "backpressure_timeouts": timeouts,
                "requests_throttled": throttler.requests(),
                "records_succeeded": stats.records_succeeded,
                "records_retried": stats.records_retried,
                "outstanding_records": stats.outstanding_records,
                "rss_start_kib": start_rss,
                "rss_max_kib": max(r for _, r in samples),
                "rss_end_kib": samples[-1][1],
                "samples": samples,
            }
        )
    )


if __name__ == "__main__":
    main()
