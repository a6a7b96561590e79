from __future__ import annotations

import os

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .apps import EventsConfig


@csrf_exempt
@require_POST
def publish(request: HttpRequest) -> JsonResponse:
    """Publish the request body and answer with the record's result."""
    producer = EventsConfig.producer
    assert producer is not None, "EventsConfig.ready has not run"
    outcome = producer.put_record(
        stream=settings.GOKPL_STREAM,
        partition_key=request.headers.get("X-User", "anon"),
        data=request.body,
    )
    result = outcome.wait(timeout=5.0)
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
