"""Logging: the engine's records reach logging.getLogger("gokpl") with their levels and no credentials.

The engine logs with log/slog into a queue inside the library; a gokpl-logs
thread re-emits the records on the "gokpl" logger (Go never calls into
Python). Checked in a child process that owns its logging setup.
"""

from __future__ import annotations

import json
import logging

from conftest import FakeKinesis
from proc_support import child_env, lines_with, run_script

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKEN"

SCRIPT = """
import json, logging, os, time, urllib.request
records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append({"logger": record.name, "level": record.levelname, "message": record.getMessage(),
                        "age": time.time() - record.created})
logging.getLogger("gokpl").addHandler(Keep())
logging.getLogger("gokpl").setLevel(logging.DEBUG)
from gokpl import Config, SyncProducer
URL, STREAM = os.environ["FAKE_URL"], os.environ["FAKE_STREAM"]
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# The next ListShards fails: the engine warns, then retries and succeeds.
fault = json.dumps({"Operation": "ListShards", "StatusCode": 500}).encode()
opener.open(urllib.request.Request(URL + "/_kinesistest/faults", data=fault, method="POST")).read()
config = Config(region="us-east-1", endpoint_url=URL, record_max_buffered_time_ms=10, verify_ssl=False,
                aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=os.environ["SECRET"],
                aws_session_token=os.environ["TOKEN"])
producers = [SyncProducer(config).__enter__() for _ in range(2)]
results = [p.put_record(stream=STREAM, partition_key="k", data=b"x").wait(timeout=20) for p in producers]
assert all(r.success for r in results), results
deadline = time.monotonic() + 5
def seen(text):
    return any(text in r["message"] for r in records)
while time.monotonic() < deadline and not (seen("listing shards failed") and seen("shard map updated")):
    time.sleep(0.05)
for p in producers:
    p.close()
print("RECORDS", json.dumps(records), flush=True)
"""


def test_engine_logs_reach_the_gokpl_logger(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    env = child_env(FAKE_URL=fake_kinesis.endpoint_url, FAKE_STREAM=fake_stream, SECRET=SECRET, TOKEN=TOKEN)
    proc = run_script(SCRIPT, env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = json.loads(lines_with("RECORDS", proc.stdout)[0])
    assert all(r["logger"] == "gokpl" for r in records), records
    failed = [r for r in records if r["message"].startswith("listing shards failed")]
    assert failed and all(r["level"] == "WARNING" for r in failed), records
    assert f"stream={fake_stream}" in failed[0]["message"] and "retry_in=" in failed[0]["message"], failed
    updated = [r for r in records if r["message"].startswith("shard map updated")]
    assert updated and all(r["level"] == "DEBUG" for r in updated), records
    assert all(-1 < r["age"] < 10 for r in records), records  # the engine's own timestamps
    # verify_ssl=False warns once, however many producers use it.
    insecure = [r for r in records if "verify_ssl=False" in r["message"]]
    assert len(insecure) == 1 and insecure[0]["level"] == "WARNING", records
    everything = proc.stdout + proc.stderr
    assert SECRET not in everything and TOKEN not in everything
    print(*(f"{r['level']} {r['message']}" for r in records), sep="\n")


def test_levels_map_both_ways() -> None:
    from gokpl._logs import python_level, slog_threshold

    assert [python_level(x) for x in (-8, -4, 0, 2, 4, 8, 12)] == [
        logging.DEBUG,
        logging.DEBUG,
        logging.INFO,
        logging.INFO,
        logging.WARNING,
        logging.ERROR,
        logging.CRITICAL,
    ]
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL):
        # The threshold lets through exactly the slog levels that map to level or above.
        threshold = slog_threshold(level)
        assert python_level(threshold) >= level or threshold < -4
        assert all(python_level(x) < level for x in range(-12, threshold) if x >= -4)
    assert slog_threshold(logging.CRITICAL + 1) > 100
