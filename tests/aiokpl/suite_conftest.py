"""Fixtures for aiokpl's own tests run against gokpl; installed as ``tests/conftest.py`` of the run directory.

It takes the place of aiokpl's two conftest files. aiokpl's tests reach
Kinesis through a mocked aiobotocore client (``fake_client`` of its
tests/test_sync.py) or a kinesis-mock container (``kinesis_client``); here
both are the kinesis-mock that gokpl's suite started, whose endpoints and
credentials the environment gives (``GOKPL_AIOKPL_KINESIS_URL``, plain HTTP,
and ``GOKPL_AIOKPL_KINESIS_TLS_URL``). gokpl names no endpoint in a Config
made without one, so the AWS SDK's own setting, AWS_ENDPOINT_URL_KINESIS,
points it there, as it would at any Kinesis-compatible endpoint.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

HTTP_URL = os.environ["GOKPL_AIOKPL_KINESIS_URL"]
TLS_URL = os.environ["GOKPL_AIOKPL_KINESIS_TLS_URL"]
REGION = "us-east-1"
ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_KINESIS"

#: The streams aiokpl's sync tests put to through their fake client.
FAKE_CLIENT_STREAMS = ("s", *(f"stream-{i}" for i in range(5)))


@pytest.fixture(params=["asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """asyncio only: trio is not installed, and gokpl's engine runs outside any event loop."""
    return str(request.param)


@pytest.fixture(scope="session")
def kinesis_client() -> Any:
    """A botocore Kinesis client for kinesis-mock over TLS (a self-signed certificate, as aiokpl's container)."""
    from botocore.session import Session

    return Session().create_client(
        "kinesis",
        endpoint_url=TLS_URL,
        region_name=REGION,
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        verify=False,
    )


@pytest.fixture(scope="session")
def fake_client_streams(kinesis_client: Any) -> Iterator[tuple[str, ...]]:
    """The fake client's streams, one shard each, ACTIVE on kinesis-mock for the session.

    A stream of that name that already exists (the emulator is shared) is
    used as it is and left in place.
    """
    created = [name for name in FAKE_CLIENT_STREAMS if _create(kinesis_client, name)]
    for name in FAKE_CLIENT_STREAMS:
        _wait_active(kinesis_client, name)
    yield FAKE_CLIENT_STREAMS
    for name in created:
        kinesis_client.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def _create(client: Any, name: str) -> bool:
    try:
        client.create_stream(StreamName=name, ShardCount=1)
    except client.exceptions.ResourceInUseException:
        return False
    return True


def _wait_active(client: Any, name: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        assert time.monotonic() < deadline, f"stream {name} not ACTIVE after {timeout} s"
        time.sleep(0.1)


@pytest.fixture(scope="session")
def refusing_endpoint() -> Iterator[str]:
    """A loopback port bound but not listening: every connection to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class ScriptedKinesis:
    """What aiokpl's fake client offers its tests, with real endpoints behind it.

    aiokpl's fake answers PutRecords with the responses a test queued and
    has nothing to answer with when none is queued. Here a test that queues
    a response before making its Config gets kinesis-mock, which stores the
    records and makes its own sequence numbers; one that queues none gets an
    endpoint that refuses connections, so its records stay pending (gokpl
    retries them until their record_ttl_ms), as with aiokpl's empty queue.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, refusing_url: str) -> None:
        self._monkeypatch = monkeypatch
        self.put_responses: list[Any] = []
        self.put_calls: list[dict[str, Any]] = []
        self.list_shards_responses: list[dict[str, Any]] = []
        self.list_calls: list[dict[str, Any]] = []
        monkeypatch.setenv(ENDPOINT_VARIABLE, refusing_url)

    def queue_put(self, response: Any) -> None:
        self.put_responses.append(response)
        self._monkeypatch.setenv(ENDPOINT_VARIABLE, HTTP_URL)

    def queue_list_shards(self, response: dict[str, Any]) -> None:
        """Kept, not served: the streams' shards are kinesis-mock's (one each)."""
        self.list_shards_responses.append(response)

    async def put_records(self, **kwargs: Any) -> dict[str, Any]:
        """Present so that a test may wrap it; gokpl's engine sends the requests itself."""
        raise AssertionError("gokpl's engine sends PutRecords itself; nothing calls this")


@pytest.fixture
def fake_client(
    monkeypatch: pytest.MonkeyPatch, fake_client_streams: tuple[str, ...], refusing_endpoint: str
) -> ScriptedKinesis:
    return ScriptedKinesis(monkeypatch, refusing_endpoint)
