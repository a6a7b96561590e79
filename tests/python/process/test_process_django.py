"""Django: a minimal project (examples/django_app) whose view publishes through a producer made at app ready.

Driven once by Django's test client and once by a real server process
(``manage.py runserver --noreload``), each in a process of its own.
"""

from __future__ import annotations

import signal
import sys

from conftest import FakeKinesis
from proc_support import REPO, child_env, free_port, http, lines_with, run_script, server, stop, wait_http
from support import read_back

PROJECT = REPO / "examples" / "django_app"


def django_env(fake: FakeKinesis, stream: str) -> dict[str, str]:
    return child_env(
        DJANGO_SETTINGS_MODULE="kplsite.settings",
        GOKPL_ENDPOINT_URL=fake.endpoint_url,
        GOKPL_STREAM=stream,
        PYTHONPATH=str(PROJECT),
    )


def test_the_view_publishes_through_django_s_test_client(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    proc = run_script(
        """
        import json, django
        django.setup()
        import gokpl._native
        from django.test import Client
        from events.apps import EventsConfig
        assert EventsConfig.producer is not None and not gokpl._native.is_loaded()
        client = Client()
        for i in range(5):
            response = client.post("/events/", data=b"test-client-%d" % i,
                                   content_type="application/octet-stream", HTTP_X_USER=f"user-{i}")
            print("RESPONSE", response.status_code, json.dumps(response.json()), flush=True)
        assert client.get("/events/").status_code == 405
        """,
        django_env(fake_kinesis, fake_stream),
    )
    assert proc.returncode == 0, proc.stderr
    responses = lines_with("RESPONSE", proc.stdout)
    assert len(responses) == 5 and all(r.startswith('200 {"success": true') for r in responses), responses
    datas = sorted(r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream))
    assert datas == sorted(b"test-client-%d" % i for i in range(5))


def test_the_view_publishes_under_runserver(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = [str(PROJECT / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"]
    with server([sys.executable, *args], django_env(fake_kinesis, fake_stream), cwd=PROJECT) as proc:
        wait_http(base + "/events/", proc)
        for i in range(10):
            status, _, body = http("POST", base + "/events/", b"runserver-%d" % i, {"X-User": f"user-{i}"})
            assert status == 200 and body["success"] is True and body["pid"] == proc.pid, body
            assert body["shard_id"].startswith("shardId-")
        took, output = stop(proc, signal.SIGINT, timeout=20)
        assert "Traceback" not in output, output
    datas = sorted(r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream))
    assert datas == sorted(b"runserver-%d" % i for i in range(10))
    assert took < 10, f"runserver took {took:.1f}s to stop"
