"""The gokpl command, run as a real process (``python -m gokpl`` and the installed ``gokpl`` script)
against the fake endpoint; what it wrote is read back through the fake's control API."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from gokpl._percentile import percentile
from support import control, deaggregate

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("gokpl")

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue"
FAST = ["--set", "record_max_buffered_time_ms=10"]


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a gokpl process: fixed credentials, no AWS files, no GOKPL_* leftovers, no proxy."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GOKPL_", "AWS_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_SESSION_TOKEN=SESSION_TOKEN,
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY="127.0.0.1,localhost",
    )
    env.update(extra)
    return env


def gokpl(
    args: Sequence[str], env: dict[str, str], stdin: bytes = b"", script: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run gokpl to completion: ``python -m gokpl``, or the console script when ``script``."""
    command = [str(SCRIPT)] if script else [sys.executable, "-m", "gokpl"]
    done = subprocess.run(
        [*command, *args], input=stdin, env=env, capture_output=True, timeout=60, cwd=REPO, check=False
    )
    return subprocess.CompletedProcess(done.args, done.returncode, done.stdout.decode(), done.stderr.decode())


def stored(endpoint_url: str, stream: str) -> list[Any]:
    """Every user record in the stream, de-aggregated, from the fake's control API."""
    records = control(endpoint_url, "GET", f"streams/{stream}/records")["Records"]
    out = []
    for r in records:
        boto_record = {
            "Data": base64.b64decode(r["Data"]),
            "PartitionKey": r["PartitionKey"],
            "SequenceNumber": r["SequenceNumber"],
            "ApproximateArrivalTimestamp": r["ArrivalTime"],
        }
        out += deaggregate(r["ShardID"], [boto_record])
    return out


def summary_counts(stdout: str) -> tuple[int, int]:
    match = re.search(r"^records\s+([\d,]+) ok, ([\d,]+) failed", stdout, re.MULTILINE)
    assert match, stdout
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


# put


def test_put_lines_from_stdin(fake_kinesis: Any, fake_stream: str, tmp_path: Path) -> None:
    lines = [f"line {i} é" for i in range(200)]
    stdin = ("\n".join(lines[:100]) + "\n\n" + "\r\n".join(lines[100:]) + "\n").encode()
    done = gokpl(["put", "--stream", fake_stream, "--endpoint-url", fake_kinesis.endpoint_url, *FAST],
                 cli_env(tmp_path), stdin)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert summary_counts(done.stdout) == (200, 0)
    assert re.search(r"^bytes\s+[\d,]+$", done.stdout, re.MULTILINE) and "records/s" in done.stdout
    records = stored(fake_kinesis.endpoint_url, fake_stream)
    assert sorted(r.data.decode() for r in records) == sorted(lines)
    keys = {r.partition_key for r in records}
    assert len(keys) == 200 and all(re.fullmatch(r"[0-9a-f]{32}", k) for k in keys)  # a random uuid each
    assert done.stderr == ""  # no progress when stderr is not a terminal


def test_put_json_lines_with_data_and_key_fields_from_files(
    fake_kinesis: Any, fake_stream: str, tmp_path: Path
) -> None:
    first = tmp_path / "a.jsonl"
    first.write_text(
        '{"user": "u1", "event": {"kind": "click"}, "n": 1}\n'
        '{"user": 42, "event": "plain text", "n": 2}\n'
        "not json\n"
        '{"event": "no user", "n": 3}\n',
        encoding="utf-8",
    )
    second = tmp_path / "b.jsonl"
    second.write_text('{"user": "u2", "n": 4}\n{"user": "u3", "event": [1, 2], "n": 5}\n', encoding="utf-8")
    env = cli_env(tmp_path, GOKPL_AGGREGATION_ENABLED="false", GOKPL_ENDPOINT_URL=fake_kinesis.endpoint_url)
    fields = ["--json", "--data-field", "event", "--key-field", "user"]
    done = gokpl(["put", "--stream", fake_stream, *fields, str(first), str(second), *FAST], env, script=True)
    assert done.returncode == 1, done.stderr
    assert summary_counts(done.stdout) == (4, 2)
    assert "InvalidInput: 2" in done.stdout
    assert f"{first}:3: InvalidInput: not JSON" in done.stderr
    assert f"{second}:1: InvalidInput: no field 'event'" in done.stderr
    records = {r.data.decode(): r.partition_key for r in stored(fake_kinesis.endpoint_url, fake_stream)}
    assert records.pop('{"kind":"click"}') == "u1"
    assert records.pop("plain text") == "42"
    assert records.pop("[1,2]") == "u3"
    assert re.fullmatch(r"[0-9a-f]{32}", records.pop("no user"))  # no key field: a random key
    assert records == {}


def test_put_checks_every_file_before_sending_any(fake_kinesis: Any, fake_stream: str, tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("".join(f"line {i}\n" for i in range(100)))
    env = cli_env(tmp_path, GOKPL_ENDPOINT_URL=fake_kinesis.endpoint_url)
    done = gokpl(["put", "--stream", fake_stream, str(good), str(tmp_path / "missing.txt"), *FAST], env)
    assert done.returncode == 2, done.stderr
    assert "cannot read" in done.stderr and "missing.txt" in done.stderr
    assert stored(fake_kinesis.endpoint_url, fake_stream) == []  # nothing half sent


def test_put_json_null_and_lone_surrogates(fake_kinesis: Any, fake_stream: str, tmp_path: Path) -> None:
    lines = ['{"d": null, "k": null}', '{"d": "ok"}', '{"d": "\\ud800"}', '{"k": 1}']
    env = cli_env(tmp_path, GOKPL_ENDPOINT_URL=fake_kinesis.endpoint_url)
    fields = ["--json", "--data-field", "d", "--key-field", "k"]
    done = gokpl(["put", "--stream", fake_stream, *fields, *FAST], env, "\n".join(lines).encode())
    assert done.returncode == 1, done.stderr
    assert summary_counts(done.stdout) == (2, 2)
    assert "<stdin>:3: InvalidInput: field 'd' is not valid Unicode text" in done.stderr
    assert "<stdin>:4: InvalidInput: no field 'd'" in done.stderr
    records = {r.data.decode(): r.partition_key for r in stored(fake_kinesis.endpoint_url, fake_stream)}
    assert records == {"null": "null", "ok": records["ok"]}  # a JSON null is a value, not a missing field


def test_put_json_whole_line_with_a_fixed_partition_key(fake_kinesis: Any, fake_stream: str, tmp_path: Path) -> None:
    lines = ['{"a": 1}', '{"b": [1, 2]}', '"just a string"']
    env = cli_env(tmp_path, GOKPL_ENDPOINT_URL=fake_kinesis.endpoint_url)
    done = gokpl(
        ["put", "--stream", fake_stream, "--json", "--partition-key", "k-1", *FAST], env, "\n".join(lines).encode()
    )
    assert done.returncode == 0, done.stderr
    records = stored(fake_kinesis.endpoint_url, fake_stream)
    assert sorted(r.data.decode() for r in records) == sorted(lines)  # the lines exactly as given
    assert {r.partition_key for r in records} == {"k-1"}


def test_put_to_a_missing_stream_fails_with_exit_1(fake_kinesis: Any, tmp_path: Path) -> None:
    done = gokpl(["put", "--stream", "no-such-stream", "--endpoint-url", fake_kinesis.endpoint_url, *FAST],
                 cli_env(tmp_path), b"a\nb\nc\n")  # fmt: skip
    assert done.returncode == 1
    assert summary_counts(done.stdout) == (0, 3)
    assert "ResourceNotFoundException: 3" in done.stdout
    assert "<stdin>:1: ResourceNotFoundException" in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["put", "--stream", "s", "--key-field", "k"], {}, "need --json"),
        (["put", "--stream", "s", "--set", "max_connection=3"], {}, "did you mean 'max_connections'"),
        (["put", "--stream", "s", "--set", "max_connections"], {}, "--set takes NAME=VALUE"),
        (["put", "--stream", "s"], {"GOKPL_MAX_CONNECTIONS": "lots"}, "environment variable GOKPL_MAX_CONNECTIONS"),
        (["put", "--stream", "s", "/nonexistent/input"], {}, "cannot read /nonexistent/input"),
        (["put"], {}, "--stream"),
        (["bench", "--stream", "s", "--records", "0"], {}, "must be at least 1"),
    ],
)
def test_usage_and_config_errors_exit_2(tmp_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    done = gokpl(args, cli_env(tmp_path, **env))
    assert done.returncode == 2, done
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_ctrl_c_flushes_prints_the_summary_and_exits_130(fake_kinesis: Any, fake_stream: str, tmp_path: Path) -> None:
    args = ["put", "--stream", fake_stream, "--endpoint-url", fake_kinesis.endpoint_url, "--progress",
            "--set", "record_max_buffered_time_ms=60000"]  # fmt: skip
    proc = subprocess.Popen([sys.executable, "-m", "gokpl", *args], env=cli_env(tmp_path), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write("one\ntwo\nthree\n")
    proc.stdin.flush()  # stdin stays open: the process waits for more, the records stay buffered for a minute
    progress = [proc.stderr.readline() for _ in range(2)]  # one line a second
    assert "gokpl: 3 put  0 ok  0 failed  3 in flight" in progress[-1], progress
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 130, stderr
    assert summary_counts(stdout) == (3, 0)  # the brief flush sent them
    assert "[interrupted]" in stdout and "interrupted: flushing" in stderr
    assert sorted(r.data for r in stored(fake_kinesis.endpoint_url, fake_stream)) == [b"one", b"three", b"two"]


# check


def test_check_shows_region_endpoint_credentials_and_shards_never_a_secret(fake_kinesis: Any, tmp_path: Path) -> None:
    done = gokpl(["check", "--stream", "fake-4", "--endpoint-url", fake_kinesis.endpoint_url], cli_env(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"^region\s+us-east-1 \(environment AWS_REGION\)$", out, re.M)
    assert re.search(rf"^endpoint\s+{re.escape(fake_kinesis.endpoint_url)} \(--endpoint-url\)$", out, re.M)
    assert re.search(r"^credentials\s+environment \(AWS_ACCESS_KEY_ID=AKIA…MPLE\)$", out, re.M)
    assert "fake-4: 4 open shards" in out
    assert re.findall(r"shardId-\d{12}", out) == [f"shardId-{i:012d}" for i in range(4)]
    assert "340282366920938463463374607431768211455" in out and "25.0%" in out
    for secret in (SECRET_KEY, SESSION_TOKEN, ACCESS_KEY):
        assert secret not in out + done.stderr


def test_check_with_keys_in_the_config_masks_them(fake_kinesis: Any, tmp_path: Path) -> None:
    env = cli_env(
        tmp_path, GOKPL_AWS_ACCESS_KEY_ID="AKIACONFIGKEY0001234", GOKPL_AWS_SECRET_ACCESS_KEY="config-secret-xyz"
    )
    done = gokpl(["check", "--endpoint-url", fake_kinesis.endpoint_url], env, script=True)
    assert done.returncode == 0, done.stderr
    assert "explicit in config (aws_access_key_id=AKIA…1234, GOKPL_AWS_ACCESS_KEY_ID)" in done.stdout
    assert "aws_secret_access_key = (set) (GOKPL_AWS_SECRET_ACCESS_KEY)" in done.stdout
    assert "config-secret-xyz" not in done.stdout + done.stderr
    assert "AKIACONFIGKEY0001234" not in done.stdout + done.stderr


def test_check_reports_where_each_option_came_from(fake_kinesis: Any, tmp_path: Path) -> None:
    props = tmp_path / "kpl.properties"
    props.write_text(
        f"KinesisEndpoint = {fake_kinesis.endpoint_url}\nRegion = eu-west-1\n"
        "RecordMaxBufferedTime = 500\nRecordTtl = 40000\nMaxConnections = 5\nThreadingModel = POOLED\n",
        encoding="utf-8",
    )
    env = cli_env(tmp_path, GOKPL_RECORD_MAX_BUFFERED_TIME_MS="250", GOKPL_RECORD_TTL_MS="45000")
    done = gokpl(["check", "--stream", "fake-1", "--properties", str(props),
                  "--set", "record_max_buffered_time_ms=75"], env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"region       eu-west-1 (properties file {props})" in out
    assert f"endpoint     {fake_kinesis.endpoint_url} (properties file {props})" in out
    assert "record_max_buffered_time_ms = 75.0 (--set record_max_buffered_time_ms)" in out
    assert "record_ttl_ms = 45000.0 (GOKPL_RECORD_TTL_MS)" in out
    assert f"max_connections = 5 (properties file {props})" in out
    assert "fake-1: 1 open shard" in out
    assert "warning: KPL properties ignored: ThreadingModel" in done.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--set", "collection_max_count=501"], {}, "'collection_max_count' must be an integer in [1, 500]"),
        ([], {"AWS_REGION": ""}, "no region"),
        (["--properties", "PROPS"], {}, "unknown KPL properties: Frobnicate"),
    ],
)
def test_check_exits_2_on_an_invalid_config(tmp_path: Path, args: list[str], env: dict[str, str], message: str) -> None:
    props = tmp_path / "bad.properties"
    props.write_text("Frobnicate = 1\n", encoding="utf-8")
    args = [str(props) if a == "PROPS" else a for a in args]
    done = gokpl(["check", *args], cli_env(tmp_path, **env))
    assert done.returncode == 2, done
    assert message in done.stderr


def test_check_of_a_missing_stream_exits_1(fake_kinesis: Any, tmp_path: Path) -> None:
    done = gokpl(
        ["check", "--stream", "no-such-stream", "--endpoint-url", fake_kinesis.endpoint_url], cli_env(tmp_path)
    )
    assert done.returncode == 1
    assert "stream no-such-stream: " in done.stderr and "ResourceNotFoundException" in done.stderr


def test_check_reports_the_credentials_of_the_profile_the_engine_reads(fake_kinesis: Any, tmp_path: Path) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[work]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    env = cli_env(tmp_path, AWS_PROFILE="work", AWS_SHARED_CREDENTIALS_FILE=str(credentials))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        del env[name]
    done = gokpl(["check", "--stream", "fake-1", "--endpoint-url", fake_kinesis.endpoint_url], env)
    assert done.returncode == 0, done.stderr
    assert f"credentials  shared credentials file {credentials} (aws_access_key_id=AKIA…MPLE)" in done.stdout
    assert "fake-1: 1 open shard" in done.stdout
    assert SECRET_KEY not in done.stdout + done.stderr and ACCESS_KEY not in done.stdout + done.stderr


def test_check_without_credentials_exits_2_and_lists_nothing(fake_kinesis: Any, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        del env[name]
    done = gokpl(["check", "--stream", "fake-1", "--endpoint-url", fake_kinesis.endpoint_url], env)
    assert done.returncode == 2, done
    assert re.search(r"^credentials\s+none found: ", done.stdout, re.M)
    assert "no AWS credentials found" in done.stderr
    assert "open shard" not in done.stdout


def test_check_into_a_closed_pipe_exits_quietly(fake_kinesis: Any, tmp_path: Path) -> None:
    env = cli_env(tmp_path, GOKPL_ENDPOINT_URL=fake_kinesis.endpoint_url)
    done = subprocess.run(
        f"{sys.executable} -m gokpl check --stream fake-4 | head -c 1 > /dev/null; echo ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stdout.strip() == "0"


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "fast"])
def test_bench_refuses_a_rate_that_is_not_a_finite_number_of_records(tmp_path: Path, value: str) -> None:
    done = gokpl(["bench", "--stream", "s", "--rate", value], cli_env(tmp_path))
    assert done.returncode == 2 and "--rate" in done.stderr, done


def test_check_takes_the_endpoint_the_aws_sdk_is_told_to_use(fake_kinesis: Any, tmp_path: Path) -> None:
    env = cli_env(tmp_path, AWS_ENDPOINT_URL_KINESIS=fake_kinesis.endpoint_url)
    done = gokpl(["check", "--stream", "fake-4"], env)
    assert done.returncode == 0, done.stderr
    endpoint = re.escape(fake_kinesis.endpoint_url)
    assert re.search(rf"^endpoint\s+{endpoint} \(the AWS SDK's endpoint settings", done.stdout, re.M)
    assert "fake-4: 4 open shards" in done.stdout


# bench


def test_bench_prints_throughput_and_latency(fake_kinesis: Any, fake_stream: str, tmp_path: Path) -> None:
    args = ["bench", "--stream", fake_stream, "--endpoint-url", fake_kinesis.endpoint_url,
            "--records", "2000", "--size", "50", "--threads", "2", *FAST]  # fmt: skip
    done = gokpl(args, cli_env(tmp_path), script=True)
    assert done.returncode == 0, done.stderr
    table = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in done.stdout.splitlines())
    assert table["ok"] == "2,000" and table["failed"] == "0"
    assert table["records"] == "2,000 x 50 B from 2 threads"
    for row in ("throughput", "throughput MB/s", "latency p50", "latency p99", "put rate"):
        assert re.fullmatch(r"[\d,.]+( records/s| ms)?", table[row]), row
    assert len(stored(fake_kinesis.endpoint_url, fake_stream)) == 2000


# helpers, in process


def test_percentile_nearest_rank() -> None:
    values = [float(i) for i in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert percentile([], 0.5) == 0.0
