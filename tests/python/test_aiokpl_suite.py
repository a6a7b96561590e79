"""aiokpl's own tests and README samples, run against gokpl with the package name changed.

aiokpl 0.2.0's sdist is downloaded from the package index at test time,
checked against its pinned sha256 and cached under build/aiokpl
(tests/aiokpl/aiokpl_sdist.py); none of its files is kept here. Its test
files listed in SUITE are written to a fresh directory with ``aiokpl``
renamed ``gokpl`` (plus the few EDITS, each with its reason), next to its
pyproject.toml (so its own pytest settings apply, warnings as errors
included) and to tests/aiokpl/suite_conftest.py, which replaces its conftest
files: the mocked aiobotocore client and the Docker kinesis-mock become the
kinesis-mock this session started, and anyio's backend is asyncio alone
(trio is not installed). They run in a pytest subprocess; DESELECTED lists,
by node id, the tests that do not apply to gokpl and why. The test fails if
any selected test does not pass or fewer pass than SUITE expects.

Without the package index the tests skip loudly, or fail under CI=true
(conftest.missing); GOKPL_AIOKPL_SDIST may name a local copy of the tarball.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import gokpl
import gokpl.config
import gokpl.result
import gokpl.sync
import pytest
from conftest import fake_endpoint, missing
from emulator import KinesisMock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "aiokpl"))

import aiokpl_sdist

SUITE_CONFTEST = Path(aiokpl_sdist.__file__).with_name("suite_conftest.py")
CHILD_TIMEOUT = 600.0


class SuiteFile(NamedTuple):
    """One of aiokpl's test files, relative to its sdist, and how many of its tests must pass."""

    path: str
    passes: int


#: aiokpl's test files run against gokpl: one line each.
SUITE = [
    SuiteFile("tests/test_config.py", passes=3),
    SuiteFile("tests/test_sync.py", passes=14),
    SuiteFile("tests/integration/test_sync_integration.py", passes=1),
    SuiteFile("tests/test_producer.py", passes=7),
    SuiteFile("tests/integration/test_producer_integration.py", passes=1),
]

#: Tests of those files that do not apply to gokpl, by node id, with the reason.
DESELECTED = {
    "tests/test_config.py::test_slots": (
        "gokpl's Config has no __slots__: dataclass(slots=True) needs Python 3.10 and gokpl supports 3.9"
    ),
    "tests/test_sync.py::test_put_record_returns_sync_outcome": (
        "asserts the sequence number its mocked client made up ('seq-A'); kinesis-mock assigns real ones"
    ),
    "tests/test_sync.py::test_multiple_records_one_thread": (
        "asserts the sequence numbers its mocked client made up ('seq-X', 'seq-Y'); kinesis-mock assigns real ones"
    ),
    "tests/test_sync.py::test_exit_flush_swallows_timeout": (
        "patches aiokpl.sync._DEFAULT_EXIT_FLUSH_TIMEOUT_S, a private constant of aiokpl's portal bridge"
    ),
    "tests/test_sync.py::test_dispatcher_swallows_producer_aexit_error": (
        "patches __aexit__ of the async Producer behind aiokpl's dispatcher (SyncProducer._producer_ref)"
    ),
    "tests/test_sync.py::test_enter_failure_cleans_up_portal": (
        "replaces aiokpl.sync.Producer and checks the anyio portal's private attributes (_portal, _portal_cm)"
    ),
    "tests/test_producer.py::test_happy_path_single_record": (
        "asserts the sequence number its mocked client made up ('seq-A')"
    ),
    "tests/test_producer.py::test_two_records_different_shards": (
        "scripts a two-shard ListShards answer and asserts the sequence numbers its mocked client made up"
    ),
    "tests/test_producer.py::test_aggregation_merges_same_shard": (
        "asserts its mock's sequence number and recorded PutRecords calls, and needs the shard map within"
        " the 20 ms buffering time (its mock answers ListShards at once; a record due before gokpl's map"
        " loads goes unaggregated)"
    ),
    "tests/test_producer.py::test_retry_then_success": (
        "scripts a failed answer, then a success ('seq-RETRY'), on its mocked client"
    ),
    "tests/test_producer.py::test_throttle_fail_if_throttled": (
        "scripts a throttled answer on its mocked client; kinesis-mock does not throttle one record"
    ),
    "tests/test_producer.py::test_expired_via_tiny_ttl": (
        "record_ttl_ms=1 is below gokpl's minimum of 100 ms (a ConfigError)"
    ),
    "tests/test_producer.py::test_multi_stream_lazy_pipelines": (
        "asserts the sequence numbers its mocked client made up and the streams of its recorded calls"
    ),
    "tests/test_producer.py::test_expired_via_limiter_synthetic_outcome": (
        "record_ttl_ms=2 and rate limits of 0 are outside gokpl's ranges (a ConfigError)"
    ),
    "tests/test_producer.py::test_request_error_raises_no_double_set": (
        "scripts a request error, then a success ('seq-OK'), on its mocked client"
    ),
    "tests/test_producer.py::test_finish_callback_handles_unknown_buffered": (
        "calls into aiokpl's per-stream pipelines (Producer._pipelines)"
    ),
    "tests/test_producer.py::test_producer_metrics_property_default_none": (
        "reads aiokpl's MetricsManager (producer.metrics.level); gokpl's metrics() is SyncProducer's method"
    ),
    "tests/test_producer.py::test_producer_metrics_records_user_records_received_and_put": (
        "reads aiokpl.metrics (MetricsManager, MetricKey), a module gokpl does not have"
    ),
    "tests/test_producer.py::test_pending_reporter_emits_with_injected_sink": (
        "patches aiokpl.producer._PENDING_REPORT_INTERVAL_S and reads aiokpl.metrics"
    ),
    "tests/test_producer.py::test_put_record_releases_semaphore_on_internal_failure": (
        "breaks aiokpl's per-stream pipeline (Producer._pipelines) to fail a put from inside"
    ),
    "tests/integration/test_producer_integration.py::test_producer_metrics_counts_after_100_records": (
        "reads aiokpl's MetricsManager (producer.metrics.snapshot(), MetricsLevel), which gokpl does not have"
    ),
}


class Edit(NamedTuple):
    """A change to one test file beyond the package name, made exactly once."""

    path: str
    old: str
    new: str
    reason: str


EDITS = [
    *(
        edit
        for path in ("tests/test_sync.py", "tests/test_producer.py")
        for edit in (
            Edit(
                path,
                "import gokpl.producer as producer_mod\n",
                "",
                "imported only to patch aiobotocore's session, which gokpl does not use",
            ),
            Edit(
                path,
                "def fake_client(monkeypatch: pytest.MonkeyPatch)",
                "def aiobotocore_fake_client(monkeypatch: pytest.MonkeyPatch)",
                "the module's fake_client patches aiobotocore; renamed, conftest's (kinesis-mock behind it) is used",
            ),
        )
    ),
    Edit(
        "tests/integration/test_producer_integration.py",
        "from gokpl.metrics import (\n    NAME_REQUEST_TIME,\n    NAME_USER_RECORDS_PUT,\n"
        "    NAME_USER_RECORDS_RECEIVED,\n    MetricsLevel,\n)\n",
        "",
        "gokpl has no aiokpl.metrics; only the test that reads it (deselected) uses these names",
    ),
]


@pytest.fixture(scope="module")
def aiokpl_tarball() -> Path:
    try:
        return aiokpl_sdist.sdist()
    except aiokpl_sdist.Unavailable as exc:
        missing(
            str(exc), hint=f"needs the package index, or ${aiokpl_sdist.LOCAL_COPY_ENV} naming {aiokpl_sdist.FILENAME}"
        )
        raise  # not reached: missing() skips or fails


def write_suite(tarball: Path, root: Path) -> None:
    """aiokpl's pytest settings, SUITE's files renamed and edited, and the replacement conftest, under root."""
    aiokpl_sdist.copy_file(tarball, "pyproject.toml", root)
    for name in ("tests/__init__.py", "tests/integration/__init__.py"):
        aiokpl_sdist.copy_file(tarball, name, root)
    for entry in SUITE:
        text = aiokpl_sdist.as_gokpl(aiokpl_sdist.read_text(tarball, entry.path))
        for edit in (e for e in EDITS if e.path == entry.path):
            assert text.count(edit.old) == 1, f"{entry.path}: expected {edit.old!r} once ({edit.reason})"
            text = text.replace(edit.old, edit.new)
        assert not re.search(r"\b(import|from)\s+aiokpl\b", text), f"{entry.path} still imports aiokpl"
        aiokpl_sdist.copy_file(tarball, entry.path, root, text=text)
    (root / "tests" / "conftest.py").write_text(SUITE_CONFTEST.read_text())


def suite_environment(mock: KinesisMock) -> dict[str, str]:
    """The child's environment: gokpl importable from this checkout, kinesis-mock's endpoints and credentials."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "PYTEST_"))}
    package_root = str(Path(gokpl.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.update(
        GOKPL_AIOKPL_KINESIS_URL=mock.endpoint_url,
        GOKPL_AIOKPL_KINESIS_TLS_URL=mock.tls_endpoint_url,
        AWS_ACCESS_KEY_ID=mock.access_key_id,
        AWS_SECRET_ACCESS_KEY=mock.secret_access_key,
        AWS_REGION="us-east-1",
    )
    env.pop("AWS_SESSION_TOKEN", None)
    env.pop("AWS_PROFILE", None)
    return env


class Outcomes(NamedTuple):
    passed: list[str]
    not_passed: dict[str, str]  # test to "failed", "error" or "skipped"


def read_junit(path: Path) -> Outcomes:
    passed: list[str] = []
    not_passed: dict[str, str] = {}
    for case in ET.parse(path).iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        bad = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        if bad:
            not_passed[name] = bad[0]
        else:
            passed.append(name)
    return Outcomes(passed, not_passed)


def test_the_deselected_tests_exist(aiokpl_tarball: Path) -> None:
    files = {entry.path for entry in SUITE}
    for node in DESELECTED:
        path, name = node.split("::")
        assert path in files, f"{node} is not in a SUITE file"
        assert f"def {name}(" in aiokpl_sdist.read_text(aiokpl_tarball, path), f"{node} is not a test of {path}"


def test_aiokpl_suite_passes_on_gokpl(aiokpl_tarball: Path, kinesis_mock: KinesisMock, tmp_path: Path) -> None:
    write_suite(aiokpl_tarball, tmp_path)
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--junitxml", str(junit)]
    command += [entry.path for entry in SUITE] + [f"--deselect={node}" for node in DESELECTED]
    run = subprocess.run(
        command, cwd=tmp_path, env=suite_environment(kinesis_mock), capture_output=True, text=True,
        timeout=CHILD_TIMEOUT, check=False,
    )  # fmt: skip
    report = f"aiokpl's suite on gokpl:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
    assert junit.is_file(), report
    outcomes = read_junit(junit)
    assert not outcomes.not_passed, report
    assert run.returncode == 0, report
    assert f"{len(DESELECTED)} deselected" in run.stdout, report
    assert len(outcomes.passed) >= sum(entry.passes for entry in SUITE), report


def test_aiokpl_module_paths_are_gokpls_classes() -> None:
    assert (gokpl.sync.SyncProducer, gokpl.sync.SyncOutcome) == (gokpl.SyncProducer, gokpl.SyncOutcome)
    assert gokpl.sync.SyncOutcomeCancelled is gokpl.SyncOutcomeCancelled
    assert (gokpl.config.Config, gokpl.config.ConfigError) == (gokpl.Config, gokpl.ConfigError)
    assert gokpl.config.UnknownOptionError is gokpl.UnknownOptionError
    assert (gokpl.result.RecordResult, gokpl.result.Attempt) == (gokpl.RecordResult, gokpl.Attempt)


def test_aiokpl_module_paths_load_no_native_code() -> None:
    code = "import gokpl.sync, gokpl.config, gokpl.result; print(gokpl._native.is_loaded())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_a_tarball_without_the_pinned_sha256_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    impostor = tmp_path / aiokpl_sdist.FILENAME
    impostor.write_bytes(b"not aiokpl")
    monkeypatch.setenv(aiokpl_sdist.LOCAL_COPY_ENV, str(impostor))
    with pytest.raises(AssertionError, match="sha256"):
        aiokpl_sdist.sdist()


# aiokpl's README: its python samples, renamed, run against gokpl's fake endpoint.
#
# The README has two, both run as written: the asynchronous one (Producer,
# anyio.run on asyncio) and the synchronous one (SyncProducer). The SDK's
# AWS_ENDPOINT_URL_KINESIS points them at the fake endpoint, where each one's
# record is then looked for. Its other fenced blocks are shell commands and a
# diagram. No sample uses a metrics sink (gokpl.sinks has aiokpl's, but no
# DatadogSink).


def readme_samples(tarball: Path) -> list[str]:
    """The fenced python blocks of aiokpl's README, renamed to gokpl."""
    readme = aiokpl_sdist.read_text(tarball, "README.md")
    return [aiokpl_sdist.as_gokpl(code) for code in re.findall(r"^```python\n(.*?)^```", readme, re.M | re.S)]


def test_aiokpl_readme_samples_run_on_gokpl(aiokpl_tarball: Path) -> None:
    samples = readme_samples(aiokpl_tarball)
    assert [("async with Producer(" in code, "SyncProducer(" in code) for code in samples] == [
        (True, False),
        (False, True),
    ], "aiokpl's README has an asyncio sample, then a sync one"
    fake = fake_endpoint({"my-stream": 1})
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_ENDPOINT_URL_KINESIS"] = fake.endpoint_url
        env["AWS_ACCESS_KEY_ID"] = fake.client_kwargs()["aws_access_key_id"]
        env["AWS_SECRET_ACCESS_KEY"] = fake.client_kwargs()["aws_secret_access_key"]
        env["PYTHONPATH"] = str(Path(gokpl.__file__).resolve().parents[1])
        for code in samples:
            run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
            assert run.returncode == 0, f"{code}\n{run.stderr}"
        stored = [(r.partition_key, r.data) for r in fake.records("my-stream")]
        assert stored == [("user-123", b"hello")] * len(samples)
    finally:
        fake.stop()
