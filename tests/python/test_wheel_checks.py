"""The release wheels' run-checks (tests/wheels/wheel_checks.py), run here against the development build.

`make test-wheels` runs the same script inside an installed wheel (arm64 under
qemu); running it in `make test` too catches a change that breaks the script's
use of the package before the slower wheel stage does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHECKS = Path(__file__).resolve().parents[1] / "wheels" / "wheel_checks.py"


def test_the_wheel_checks_pass_on_the_development_build() -> None:
    run = subprocess.run([sys.executable, str(CHECKS)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    summary = run.stdout.strip().splitlines()[-1]
    assert summary.startswith("PASS: 7 of 7 checks passed"), run.stdout
