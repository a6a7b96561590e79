"""An aiohttp app that publishes each POSTed event to Kinesis from its event loop, with gokpl's asyncio Producer.

Run it (from the repository root), with aiohttp's own runner or as a script:

    GOKPL_STREAM=events python -m aiohttp.web -H 127.0.0.1 -P 8080 aiohttp_app:make_app   # from examples/
    GOKPL_STREAM=events python examples/aiohttp_app.py --port 8080
    curl -X POST -H 'X-User: user-42' --data '{"clicked": "buy"}' http://127.0.0.1:8080/event
    curl -X POST -H 'X-User: user-42' --data '{"viewed": "home"}' http://127.0.0.1:8080/event/fire-and-forget

The same two routes as the FastAPI example: ``POST /event`` waits for the
record's result and answers with its shard and sequence number;
``POST /event/fire-and-forget`` answers 202 once the record is buffered.

Settings come from the environment: GOKPL_STREAM (default "events"),
AWS_REGION, GOKPL_ENDPOINT_URL (unset for Kinesis itself), any other option
as GOKPL_<OPTION>, and the AWS SDK's usual credentials.

The producer lives in a cleanup context: made when the app starts, and,
when it stops (Ctrl-C or SIGTERM: aiohttp's runner stops accepting, lets
the requests in progress finish, then runs the cleanups), flushed, so that
the fire-and-forget records still buffered are delivered before the
process exits.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import AsyncIterator

from aiohttp import web
from gokpl import Config, Outcome, Producer, RecordResult

STREAM = os.environ.get("GOKPL_STREAM", "events")
PUT_TIMEOUT = 1.0  # seconds to wait for room when the producer is full, before answering 503
RESULT_TIMEOUT = 2.0  # seconds to wait for the record's result, before answering 202
FLUSH_TIMEOUT = 10.0  # seconds the shutdown waits for what is still buffered

PRODUCER = web.AppKey("producer", Producer)
log = logging.getLogger("aiohttp_app")


async def producer_context(app: web.Application) -> AsyncIterator[None]:
    """One producer for the life of the app, flushed when it stops."""
    async with Producer(Config.from_env()) as producer:
        app[PRODUCER] = producer
        yield
        log.info("flushing %d records before exit", producer.outstanding_records)
        await asyncio.wait_for(producer.flush(), FLUSH_TIMEOUT)
        log.info("flushed; records left: %d", producer.outstanding_records)


async def put(request: web.Request) -> Outcome[RecordResult] | None:
    """Put the request body, keyed by the X-User header; the outcome, or None when the producer stays full."""
    producer = request.app[PRODUCER]
    data = await request.read()
    key = request.headers.get("X-User", "anon")
    try:
        return await asyncio.wait_for(producer.put_record(stream=STREAM, partition_key=key, data=data), PUT_TIMEOUT)
    except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11
        return None


async def event(request: web.Request) -> web.Response:
    """Publish the request body and report where it landed."""
    outcome = await put(request)
    if outcome is None:
        return web.json_response({"error": "the producer is full; retry later"}, status=503)
    try:
        result = await asyncio.wait_for(outcome.wait(), RESULT_TIMEOUT)
    except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11
        return web.json_response({"pending": True}, status=202)  # still on its way; it may yet succeed
    body = {
        "success": result.success,
        "shard_id": result.shard_id,
        "sequence_number": result.sequence_number,
        "attempts": len(result.attempts),
        "error_code": result.error_code,
        "pid": os.getpid(),
    }
    return web.json_response(body, status=200 if result.success else 502)


async def event_fire_and_forget(request: web.Request) -> web.Response:
    """Publish the request body without waiting for its result."""
    if await put(request) is None:
        return web.json_response({"error": "the producer is full; retry later"}, status=503)
    return web.json_response({"accepted": True}, status=202)


def make_app(argv: list[str] | None = None) -> web.Application:
    """The application, as ``python -m aiohttp.web`` asks for it (with its extra arguments)."""
    app = web.Application()
    app.cleanup_ctx.append(producer_context)
    app.router.add_post("/event", event)
    app.router.add_post("/event/fire-and-forget", event_fire_and_forget)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description="Publish POSTed events to Kinesis.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    web.run_app(make_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
