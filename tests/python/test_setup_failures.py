"""Setup problems fail records within seconds, with their own error code and one warning.

No credentials anywhere, credentials the service refuses (static ones, which
refreshing cannot renew), and an endpoint whose certificate cannot be
verified each fail every record at once, instead of retrying it until
record_ttl_ms (30 s here, the default) and ending as Expired. The engine
logs one warning on the "gokpl" logger naming the cause. Each case runs in
a fresh process without credentials in its environment, a HOME without an
.aws directory, and IMDS disabled, so no request leaves the loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import missing
from gokpl.testing import FakeKinesis

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys, time
    from gokpl import Config, SyncProducer, _logs

    endpoint, stream, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    warnings = []

    class Keep(logging.Handler):
        def emit(self, record):
            if record.levelno >= logging.WARNING:
                warnings.append(record.getMessage())

    logging.getLogger("gokpl").addHandler(Keep())
    config = Config(region="us-east-1", endpoint_url=endpoint, **options)
    start = time.monotonic()
    with SyncProducer(config) as producer:
        outcomes = [producer.put_record(stream=stream, partition_key=f"k{i}", data=b"x") for i in range(20)]
        results = [o.wait(timeout=60) for o in outcomes]
        elapsed = time.monotonic() - start
    time.sleep(0.3)
    _logs.drain()
    print("RESULT " + json.dumps({
        "codes": sorted({r.error_code or "" for r in results}),
        "attempts": sorted({len(r.attempts) for r in results}),
        "elapsed": elapsed,
        "warnings": warnings,
    }))
    """
)

#: How long the records of a setup problem may take to fail.
DEADLINE = 5.0


def run(endpoint: str, stream: str, tmp_path: Path, **options: Any) -> dict[str, Any]:
    """The script's result, run without credentials, with an empty HOME and IMDS disabled."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, endpoint, stream, json.dumps(options)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stdout + done.stderr[-3000:]
    result: dict[str, Any] = json.loads(lines[0].removeprefix("RESULT "))
    return result


def check_fails_fast(result: dict[str, Any], code: str) -> None:
    assert result["codes"] == [code], result
    assert result["attempts"] == [1], result
    assert result["elapsed"] < DEADLINE, result
    assert len(result["warnings"]) == 1 and code in result["warnings"][0], result


def test_no_credentials(fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path) -> None:
    result = run(fake_kinesis.endpoint_url, fake_stream, tmp_path)
    check_fails_fast(result, "NoCredentials")


@pytest.mark.parametrize("refusal", ["UnrecognizedClientException", "ExpiredTokenException"])
def test_refused_credentials(fake_kinesis: FakeKinesis, fake_stream: str, tmp_path: Path, refusal: str) -> None:
    fake_kinesis.inject_fault(operation=None, error=refusal, times=None)
    result = run(
        fake_kinesis.endpoint_url,
        fake_stream,
        tmp_path,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        aws_session_token="token",
    )
    check_fails_fast(result, "CredentialsRejected")


@pytest.fixture
def untrusted_tls_endpoint(tmp_path: Path) -> Iterator[str]:
    """https://127.0.0.1:PORT, presenting a self-signed certificate nobody trusts."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("openssl is not installed", "install Debian's openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    self_signed = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1"
    subprocess.run(
        [openssl, *self_signed.split(), "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass  # the client refuses the handshake
            except (OSError, ssl.SSLError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_tls_verification_failed(untrusted_tls_endpoint: str, tmp_path: Path) -> None:
    result = run(
        untrusted_tls_endpoint,
        "s",
        tmp_path,
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
    )
    check_fails_fast(result, "TLSVerificationFailed")


def test_check_shows_the_engines_warning(untrusted_tls_endpoint: str, tmp_path: Path) -> None:
    """gokpl check reports the setup problem a producer would log: the engine's warning reaches stderr."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true",
               AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret")  # fmt: skip
    command = [sys.executable, "-m", "gokpl", "check", "--region", "us-east-1",
               "--endpoint-url", untrusted_tls_endpoint, "--stream", "s"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done
    warnings = [line for line in done.stderr.splitlines() if "records fail at once (TLSVerificationFailed)" in line]
    assert len(warnings) == 1, done.stderr


def test_a_profile_that_does_not_exist_is_a_config_error_about_the_aws_setup(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(home), AWS_EC2_METADATA_DISABLED="true", AWS_PROFILE="no-such-profile")
    script = textwrap.dedent(
        """
        from gokpl import Config, ConfigError, SyncProducer
        with SyncProducer(Config(region="us-east-1", endpoint_url="http://127.0.0.1:9")) as producer:
            try:
                producer.put_record(stream="s", partition_key="k", data=b"x")
            except ConfigError as exc:
                print("ERROR", exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("ERROR ")]
    assert lines, done.stdout + done.stderr[-3000:]
    assert lines[0].startswith("ERROR AWS setup:") and "no-such-profile" in lines[0], lines[0]
