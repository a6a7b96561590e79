"""A Flask app that publishes each POSTed event to Kinesis and answers with the record's result.

Run it (from the repository root):

    GOKPL_STREAM=events flask --app examples/flask_app run
    curl -X POST -H 'X-User: user-42' --data '{"clicked": "buy"}' http://127.0.0.1:5000/event

or under gunicorn, which may fork its workers after importing the app:

    gunicorn --preload --workers 2 --chdir examples --bind 127.0.0.1:8000 flask_app:app

Settings come from the environment, so the same code runs against Kinesis
and against an emulator: GOKPL_STREAM (default "events"), AWS_REGION,
GOKPL_ENDPOINT_URL (unset for Kinesis itself; e.g. http://127.0.0.1:4567
for a local emulator), any other option as GOKPL_<OPTION> (e.g.
GOKPL_RECORD_MAX_BUFFERED_TIME_MS=50 to answer sooner), and the AWS SDK's
usual credentials (environment, profile or instance role).

The producer is made and entered at import, the lifecycle of the app.
That loads nothing native: the Go engine starts on the first put, in the
process that serves the request, so the module-level producer is safe in
gunicorn's pre-forked workers. When the process exits, gokpl flushes what
is still buffered (for at most ``exit_timeout``, 5 s by default).
"""

from __future__ import annotations

import os

from flask import Flask, Response, jsonify, request
from gokpl import BackpressureTimeoutError, Config, SyncProducer

STREAM = os.environ.get("GOKPL_STREAM", "events")
PUT_TIMEOUT = 1.0  # seconds to wait for room when the producer is full, before answering 503
RESULT_TIMEOUT = 2.0  # seconds to wait for the record's result, before answering 202

app = Flask(__name__)
producer = SyncProducer(Config.from_env())  # GOKPL_<OPTION> variables; the region and credentials as boto3 finds them
producer.__enter__()


@app.post("/event")
def event() -> tuple[Response, int]:
    """Publish the request body, keyed by the X-User header, and report where it landed."""
    try:
        outcome = producer.put_record(
            stream=STREAM,
            partition_key=request.headers.get("X-User", "anon"),
            data=request.get_data(),
            timeout=PUT_TIMEOUT,
        )
    except BackpressureTimeoutError:
        return jsonify(error="the producer is full; retry later"), 503
    try:
        result = outcome.wait(timeout=RESULT_TIMEOUT)
    except TimeoutError:
        return jsonify(pending=True), 202  # still on its way; it may yet succeed
    body = jsonify(
        success=result.success,
        shard_id=result.shard_id,
        sequence_number=result.sequence_number,
        attempts=len(result.attempts),
        error_code=result.error_code,
        pid=os.getpid(),
    )
    return body, 200 if result.success else 502
