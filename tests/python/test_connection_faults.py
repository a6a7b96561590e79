"""A request the service answered is never reported failed, so no record is stored twice.

Faults that are not applied (503s, connection resets after the request was
read) store nothing, so every record must be stored exactly once, however
often it was retried. Each round uses a new producer, so its requests go
over new connections, where the engine once closed a connection while a 200
answer was still being read: the request was reported as a NetworkError and
its records sent and stored again (about one round in a hundred).
"""

from __future__ import annotations

import collections
import itertools

from conftest import fake_endpoint
from gokpl import SyncProducer

ROUNDS = 250
RECORDS_PER_ROUND = 1000  # two full PutRecords requests without aggregation


def test_unapplied_faults_store_every_record_once() -> None:
    fake = fake_endpoint({"s": 4})
    try:
        lost_answers = []
        keys = itertools.count()
        for round_ in range(ROUNDS):
            if round_ % 5 == 0:
                fake.inject_fault(error="ServiceUnavailable", times=1)
                fake.inject_fault(reset_connection=True, times=1)
            config = fake.config(aggregation_enabled=False, record_max_buffered_time_ms=5)
            with SyncProducer(config) as producer:
                records = [(f"k{next(keys)}", b"r%03d-%05d" % (round_, i)) for i in range(RECORDS_PER_ROUND)]
                results = [o.wait(timeout=30) for o in producer.put_records("s", records)]
            assert all(r.success for r in results), [r for r in results if not r.success][:3]
            lost_answers += [a for r in results for a in r.attempts if "StatusCode: 200" in (a.error_message or "")]
        copies = collections.Counter(r.data for r in fake.records("s"))
        duplicated = {data: n for data, n in copies.items() if n > 1}
        assert len(copies) == ROUNDS * RECORDS_PER_ROUND
        assert not duplicated, f"{len(duplicated)} records stored more than once, e.g. {list(duplicated)[:3]}"
        assert not lost_answers, lost_answers[:3]
    finally:
        fake.stop()
