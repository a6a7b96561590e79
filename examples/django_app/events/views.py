"""The view that publishes a request body to Kinesis."""

from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from gokpl import BackpressureTimeoutError

from .apps import EventsConfig

PUT_TIMEOUT = 1.0  # seconds to wait for room when the producer is full, before answering 503
RESULT_TIMEOUT = 5.0  # seconds to wait for the record's result, before answering 202


@csrf_exempt
@require_POST
def publish(request: HttpRequest) -> JsonResponse:
    """Publish the request body, keyed by the X-User header, and answer with the record's result."""
    producer = EventsConfig.producer
    assert producer is not None, "EventsConfig.ready has not run"
    try:
        outcome = producer.put_record(
            stream=settings.GOKPL_STREAM,
            partition_key=request.headers.get("X-User", "anon"),
            data=request.body,
            timeout=PUT_TIMEOUT,
        )
    except BackpressureTimeoutError:
        return JsonResponse({"error": "the producer is full; retry later"}, status=503)
    try:
        result = outcome.wait(timeout=RESULT_TIMEOUT)
    except TimeoutError:
        return JsonResponse({"pending": True}, status=202)  # still on its way; it may yet succeed
    return JsonResponse(
        {
            "success": result.success,
            "shard_id": result.shard_id,
            "sequence_number": result.sequence_number,
            "error_code": result.error_code,
            "pid": os.getpid(),
        },
        status=200 if result.success else 502,
    )
