"""An AWS Lambda function that publishes the records of its event to Kinesis.

Deploy it with the gokpl layer (``make lambda-layers``, docs/install.md) and
the handler ``lambda_handler.handler``. The event is
``{"records": [{"partition_key": "user-1", "data": {...}}, ...]}``; each
``data`` is sent as JSON (a string as its UTF-8 bytes). The answer counts
the records that succeeded, failed (by error code) or were still pending
when the invocation had to end.

Settings come from the function's environment, so the same code runs
against Kinesis and against an emulator: GOKPL_STREAM (default "events"),
AWS_REGION (Lambda sets it), GOKPL_ENDPOINT_URL (unset for Kinesis itself),
any other option as GOKPL_<OPTION>, and the function's role for credentials.

The pattern:

- The producer is made once, at module level, when Lambda loads the
  function, and reused by every warm invocation of that execution
  environment: its engine, connections and credentials stay up between them.
- Each invocation ends with ``producer.flush(timeout=...)``, bounded by the
  time the invocation has left minus a margin. Between invocations Lambda
  freezes the process: a frozen process sends nothing, so a record still
  buffered when the handler returns would wait for the next invocation, which
  may come minutes later or never (an idle environment is shut down).
"""

from __future__ import annotations

import json
import os
from typing import Any

from gokpl import Config, SyncProducer

STREAM = os.environ.get("GOKPL_STREAM", "events")
MARGIN_MS = 500  # left to the handler after the flush, to build its answer and return

producer = SyncProducer(Config.from_env())  # GOKPL_<OPTION> variables; region and credentials as boto3 finds them
producer.__enter__()


def encode(data: Any) -> bytes:
    return data.encode() if isinstance(data, str) else json.dumps(data, separators=(",", ":")).encode()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Put the event's records, flush them before the invocation ends, and summarize their results."""
    records = [(str(r["partition_key"]), encode(r["data"])) for r in event.get("records", [])]
    outcomes = producer.put_records(STREAM, records)
    remaining_ms = context.get_remaining_time_in_millis() - MARGIN_MS
    try:
        producer.flush(timeout=max(remaining_ms, 0) / 1000)
    except TimeoutError:
        pass  # the records carry on; those still pending are counted below and sent after the next thaw
    summary: dict[str, Any] = {"records": len(outcomes), "succeeded": 0, "failed": 0, "pending": 0, "errors": {}}
    for outcome in outcomes:
        if not outcome.done():
            summary["pending"] += 1
            continue
        result = outcome.wait()
        if result.success:
            summary["succeeded"] += 1
        else:
            summary["failed"] += 1
            summary["errors"][result.error_code] = summary["errors"].get(result.error_code, 0) + 1
    return summary
