"""A producer sees the environment as it is when it starts, os.environ changes included.

Each case runs a fresh process with no credentials in its environment and
a HOME without an .aws directory, loads the library, then changes
os.environ and puts one record to the fake endpoint. The fake does not check
signatures, but the engine signs every request and fails without
credentials, so a success means it found the ones the change points to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from gokpl.testing import FakeKinesis

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from gokpl import Config, SyncProducer, _native

    endpoint, stream, changes = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    _native.ffi_lib()  # the library (and its copy of the environment) loads first, as for an earlier producer
    os.environ.update(changes)
    config = Config(region="us-east-1", endpoint_url=endpoint, record_max_buffered_time_ms=10, record_ttl_ms=2000)
    with SyncProducer(config) as producer:
        result = producer.put_record(stream=stream, partition_key="k", data=b"x").wait(30)
    print("RESULT", result.success, result.error_code)
    """
)

CREDENTIALS = "[{profile}]\naws_access_key_id = AKIDFROMFILE\naws_secret_access_key = secret-from-file\n"


def run(fake: FakeKinesis, stream: str, tmp_path: Path, changes: dict[str, str]) -> str:
    """The script's RESULT line, run without credentials and with an empty HOME."""
    import json

    empty_home = tmp_path / "empty-home"
    empty_home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(empty_home), AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, fake.endpoint_url, stream, json.dumps(changes)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr[-3000:]
    return lines[0]


def home_with(tmp_path: Path, profile: str) -> Path:
    home = tmp_path / f"home-{profile}"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(CREDENTIALS.format(profile=profile))
    return home


def test_without_credentials_the_record_fails(fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path) -> None:
    assert run(fake_kinesis, fake_stream, tmp_path, {}) != "RESULT True None"


@pytest.mark.parametrize("case", ["HOME", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"])
def test_credentials_found_through_variables_set_in_process(
    fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path, case: str
) -> None:
    changes: dict[str, Any]
    if case == "HOME":
        changes = {"HOME": str(home_with(tmp_path, "default"))}
    elif case == "AWS_SHARED_CREDENTIALS_FILE":
        changes = {"AWS_SHARED_CREDENTIALS_FILE": str(home_with(tmp_path, "default") / ".aws" / "credentials")}
    else:
        changes = {"HOME": str(home_with(tmp_path, "named")), "AWS_PROFILE": "named"}
    assert run(fake_kinesis, fake_stream, tmp_path, changes) == "RESULT True None"
