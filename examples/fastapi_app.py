"""A FastAPI app that publishes each POSTed event to Kinesis from its event loop, with gokpl's asyncio Producer.

Run it (from the repository root):

    GOKPL_STREAM=events uvicorn --app-dir examples fastapi_app:app --port 8000
    curl -X POST -H 'X-User: user-42' --data '{"clicked": "buy"}' http://127.0.0.1:8000/event
    curl -X POST -H 'X-User: user-42' --data '{"viewed": "home"}' http://127.0.0.1:8000/event/fire-and-forget

Two routes: ``POST /event`` waits for the record's result and answers with
its shard and sequence number; ``POST /event/fire-and-forget`` answers 202
as soon as the record is buffered. Neither blocks the event loop: while a
request awaits its result, the loop serves the others.

Settings come from the environment, as in the Flask example: GOKPL_STREAM
(default "events"), AWS_REGION, GOKPL_ENDPOINT_URL (unset for Kinesis
itself), any other option as GOKPL_<OPTION>, and the AWS SDK's usual
credentials.

The app's lifespan makes one producer when the server starts and, when it
stops (Ctrl-C or SIGTERM: uvicorn finishes the requests in progress, then
runs the lifespan's shutdown), flushes it, so that the fire-and-forget
records still buffered are delivered before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from gokpl import Config, Outcome, Producer, RecordResult

STREAM = os.environ.get("GOKPL_STREAM", "events")
PUT_TIMEOUT = 1.0  # seconds to wait for room when the producer is full, before answering 503
RESULT_TIMEOUT = 2.0  # seconds to wait for the record's result, before answering 202
FLUSH_TIMEOUT = 10.0  # seconds the shutdown waits for what is still buffered

log = logging.getLogger("uvicorn.error")  # printed as uvicorn prints its own messages


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One producer for the life of the server, flushed when it stops."""
    async with Producer(Config.from_env()) as producer:
        app.state.producer = producer
        yield
        log.info("flushing %d records before exit", producer.outstanding_records)
        await asyncio.wait_for(producer.flush(), FLUSH_TIMEOUT)
        log.info("flushed; records left: %d", producer.outstanding_records)


app = FastAPI(lifespan=lifespan)


async def put(request: Request) -> Outcome[RecordResult] | None:
    """Put the request body, keyed by the X-User header; the outcome, or None when the producer stays full."""
    producer: Producer = request.app.state.producer
    data = await request.body()
    key = request.headers.get("X-User", "anon")
    try:
        return await asyncio.wait_for(producer.put_record(stream=STREAM, partition_key=key, data=data), PUT_TIMEOUT)
    except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11
        return None


@app.post("/event")
async def event(request: Request) -> JSONResponse:
    """Publish the request body and report where it landed."""
    outcome = await put(request)
    if outcome is None:
        return JSONResponse({"error": "the producer is full; retry later"}, status_code=503)
    try:
        result = await asyncio.wait_for(outcome.wait(), RESULT_TIMEOUT)
    except asyncio.TimeoutError:  # TimeoutError itself from Python 3.11
        return JSONResponse({"pending": True}, status_code=202)  # still on its way; it may yet succeed
    body = {
        "success": result.success,
        "shard_id": result.shard_id,
        "sequence_number": result.sequence_number,
        "attempts": len(result.attempts),
        "error_code": result.error_code,
        "pid": os.getpid(),
    }
    return JSONResponse(body, status_code=200 if result.success else 502)


@app.post("/event/fire-and-forget", status_code=202)
async def event_fire_and_forget(request: Request) -> JSONResponse:
    """Publish the request body without waiting for its result."""
    if await put(request) is None:
        return JSONResponse({"error": "the producer is full; retry later"}, status_code=503)
    return JSONResponse({"accepted": True}, status_code=202)
