"""The package builds the Go library itself: a wheel is platform-tagged and
carries it, and a fresh virtualenv can install and import gokpl."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def pip(python: Path | str, *args: str, cwd: Path = REPO) -> None:
    result = subprocess.run([str(python), "-m", "pip", *args], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_wheel_is_platform_tagged_and_carries_the_library(tmp_path: Path) -> None:
    pip(sys.executable, "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(REPO))
    (wheel,) = tmp_path.glob("gokpl-*.whl")
    assert "-cp39-abi3-" in wheel.name and "linux" in wheel.name, wheel.name
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "gokpl/libgokpl.so",
        "gokpl/_gokpl_cffi.abi3.so",
        "gokpl/kinesistest",
        "gokpl/options.json",
        "gokpl/py.typed",
        "gokpl/__init__.py",
    ):
        assert expected in names, expected


def test_sdist_carries_the_go_sources(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(REPO)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (sdist,) = tmp_path.glob("gokpl-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for expected in ("go.mod", "go.sum", "capi/gokpl.h", "capi/producer.go", "core/producer.go", "core/options.json"):
        assert expected in names, expected
    for built in ("libgokpl.so", "_gokpl_cffi.abi3.so", "kinesistest", "options.json"):
        assert f"python/gokpl/{built}" not in names, built
    assert "build_native.py" in names


def test_pip_install_into_a_fresh_virtualenv(tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    pip(python, "install", "--quiet", str(REPO))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    check = (
        "import gokpl, pathlib; "
        "assert pathlib.Path(gokpl.__file__).with_name('libgokpl.so').exists(); "
        "ffi, lib = gokpl._native.ffi_lib(); "
        "assert type(lib).__name__ == 'Lib', 'the compiled extension, not ABI mode'; "
        "print(gokpl.__version__, lib.gokpl_abi_version())"
    )
    result = subprocess.run([str(python), "-c", check], cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [__import__("gokpl").__version__, "1"]
