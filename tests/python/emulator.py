"""Run the Kinesis emulator (kinesis-mock) for Python tests.

This module starts the ``kinesismock`` command (built from
``internal/kinesismock/cmd/kinesismock``), which runs kinesis-mock on free
loopback ports and reports where it listens.  It is standard library only, so
it works without boto3, and has no pytest dependency.  A fixture would look
like::

    @pytest.fixture
    def kinesis():
        try:
            mock = KinesisMock(streams={"s1": 2})
        except EmulatorNotInstalled as e:
            if os.environ.get("CI") == "true":
                pytest.fail(str(e))
            pytest.skip(f"KINESIS EMULATOR NOT INSTALLED: {e}")
        with mock:
            yield mock

The command binary is taken from the ``binary`` argument, else
``$GOKPL_KINESISMOCK_BIN``, else ``build/kinesismock`` under the repository
root (``make`` builds it; ``make emulator`` installs the emulator itself).

A ``KinesisMock`` owns one command process, which owns one emulator.  The
process is stopped by ``close()`` (also on leaving the ``with`` block, on
garbage collection and at interpreter exit); if this Python process dies
without any of those, the command sees end of file on its stdin and stops the
emulator itself.  ``call`` and ``create_stream`` make independent HTTP
requests and may be used from several threads; ``close`` is idempotent.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import hmac
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "EmulatorError",
    "EmulatorNotInstalled",
    "KinesisApiError",
    "KinesisMock",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
BINARY_ENV = "GOKPL_KINESISMOCK_BIN"
DEFAULT_BINARY = REPO_ROOT / "build" / "kinesismock"

_EXIT_NOT_INSTALLED = 2  # the command's exit status when the emulator is missing
_READY_TIMEOUT = 90.0  # the command itself gives up after 60 s
_STOP_TIMEOUT = 10.0
_STREAM_TIMEOUT = 30.0
_HTTP_TIMEOUT = 10.0
_TARGET_PREFIX = "Kinesis_20131202."

# Loopback requests must never go through an HTTP proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    """The emulator could not be started or did not behave."""


class EmulatorNotInstalled(EmulatorError):
    """The command binary or the emulator it runs is missing.

    Tests should fail on this when ``CI=true`` and skip otherwise.
    """


class KinesisApiError(EmulatorError):
    """The emulator answered a Kinesis API call with an error."""

    def __init__(self, operation: str, status: int, code: str, message: str):
        super().__init__(f"{operation}: HTTP {status} {code}: {message}")
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message


class KinesisMock:
    """One running Kinesis emulator; a context manager.

    Construction starts the emulator and returns once it serves requests
    and every stream in ``streams`` (name to shard count) is ACTIVE.
    """

    #: Dummy credentials. The emulator requires requests to be signed but does
    #: not check signatures; a 12-digit access key id would select another
    #: emulated account, so this one is not 12 digits.
    access_key_id = "gokpl-test"
    secret_access_key = "gokpl-test"

    endpoint_url: str
    tls_endpoint_url: str
    region: str

    def __init__(self, streams: dict[str, int] | None = None, binary: str | None = None) -> None:
        self.endpoint_url = ""
        self.tls_endpoint_url = ""
        self.region = ""
        self._finalizer: Callable[[], object] | None = None

        path = Path(binary or os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise EmulatorNotInstalled(
                f"kinesismock command not found at {path}: build it with `go build "
                f"-o build/kinesismock ./internal/kinesismock/cmd/kinesismock` "
                f"(or point ${BINARY_ENV} at it) and install the emulator with "
                f"`make emulator`"
            )
        args = [str(path)]
        for name, shards in sorted((streams or {}).items()):
            args += ["--stream", f"{name}:{int(shards)}"]

        stderr = tempfile.TemporaryFile()
        try:
            proc = subprocess.Popen(
                args,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                cwd=REPO_ROOT,
            )
        except OSError as e:
            stderr.close()
            raise EmulatorNotInstalled(f"cannot run {path}: {e}") from e
        self._proc = proc
        self._stderr = stderr
        self._finalizer = weakref.finalize(self, _stop, proc, stderr)
        try:
            info = self._await_ready()
        except BaseException:
            self.close()
            raise
        self.endpoint_url = info["endpoint_url"]
        self.tls_endpoint_url = info["tls_endpoint_url"]
        self.region = info["region"]

    def __enter__(self) -> KinesisMock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"KinesisMock(endpoint_url={self.endpoint_url!r})"

    def close(self) -> None:
        """Stop the emulator and wait for it; idempotent."""
        if self._finalizer is not None:
            self._finalizer()

    def create_stream(self, name: str, shards: int) -> None:
        """Create a provisioned stream and return once it is ACTIVE."""
        self.call("CreateStream", {"StreamName": name, "ShardCount": int(shards)})
        deadline = time.monotonic() + _STREAM_TIMEOUT
        last = ""
        while True:
            try:
                out = self.call("DescribeStreamSummary", {"StreamName": name})
                status = out["StreamDescriptionSummary"]["StreamStatus"]
                if status == "ACTIVE":
                    return
                last = f"status {status}"
            except KinesisApiError as e:
                if e.code != "ResourceNotFoundException":
                    raise
                last = str(e)
            if time.monotonic() > deadline:
                raise EmulatorError(f"stream {name!r} not ACTIVE after {_STREAM_TIMEOUT:.0f}s ({last})")
            time.sleep(0.025)

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Make one Kinesis API call (JSON 1.1 over plain HTTP, SigV4-signed).

        ``operation`` is the API action, e.g. ``"ListShards"``; blobs in
        ``body`` and in the result are base64 strings, as on the wire.
        Raises ``KinesisApiError`` when the emulator answers with an error.
        """
        if not self.endpoint_url:
            raise EmulatorError("emulator is not running")
        data = json.dumps(body).encode()
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": _TARGET_PREFIX + operation,
        }
        headers.update(
            _sigv4_headers(
                self.endpoint_url + "/",
                headers,
                data,
                self.region,
                self.access_key_id,
                self.secret_access_key,
            )
        )
        req = urllib.request.Request(self.endpoint_url + "/", data=data, headers=headers, method="POST")
        try:
            with _OPENER.open(req, timeout=_HTTP_TIMEOUT) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)
                code = err.get("__type", "").rsplit("#", 1)[-1]
                message = err.get("message") or err.get("Message") or ""
            except ValueError:
                code, message = "", raw.decode(errors="replace")
            raise KinesisApiError(operation, e.code, code or "UnknownError", message) from None
        return json.loads(raw) if raw else {}

    def _await_ready(self) -> dict[str, str]:
        """Read the command's one ready line, or explain why there is none."""
        box: list[bytes] = []
        stdout = self._proc.stdout
        assert stdout is not None
        reader = threading.Thread(
            target=lambda: box.append(stdout.readline()),
            name="kinesismock-ready",
            daemon=True,
        )
        reader.start()
        reader.join(_READY_TIMEOUT)
        line = box[0] if box else b""
        if line.strip():
            try:
                info: dict[str, str] = json.loads(line)
                return info
            except ValueError:
                raise EmulatorError(f"kinesismock printed {line!r}, want one JSON line") from None
        if reader.is_alive():
            text = self._stderr_text()
            raise EmulatorError(f"kinesismock not ready after {_READY_TIMEOUT:.0f}s:\n{text}")
        try:
            code = self._proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        text = self._stderr_text()
        if code == _EXIT_NOT_INSTALLED:
            raise EmulatorNotInstalled(text)
        raise EmulatorError(f"kinesismock exited (status {code}) before it was ready:\n{text}")

    def _stderr_text(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace").strip()


def _stop(proc: subprocess.Popen[bytes], stderr: Any) -> None:
    """Stop the command: EOF on stdin, then SIGTERM, then SIGKILL."""
    try:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(_STOP_TIMEOUT / 2)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
        stderr.close()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _sigv4_headers(
    url: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    access_key: str,
    secret_key: str,
    service: str = "kinesis",
) -> dict[str, str]:
    """Return the X-Amz-Date and Authorization headers signing a POST."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    parts = urllib.parse.urlsplit(url)
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed["host"] = parts.netloc
    signed["x-amz-date"] = amz_date
    names = sorted(signed)
    signed_headers = ";".join(names)
    canonical_request = "\n".join(
        [
            "POST",
            parts.path or "/",
            parts.query,
            "".join(f"{n}:{signed[n]}\n" for n in names),
            signed_headers,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            scope,
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = _hmac(("AWS4" + secret_key).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return {
        "X-Amz-Date": amz_date,
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
    }
