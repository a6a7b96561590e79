"""Build gokpl: compile the Go engine into libgokpl.so and ship it in the package.

The shared library is built by the Go toolchain (cgo, -buildmode=c-shared).
Beside it go a small cffi extension module, `_gokpl_cffi`, compiled against
gokpl.h with the C compiler that cgo needs anyway (calls through it cost a
fraction of cffi's ABI mode), and `kinesistest`, the fake Kinesis endpoint
that gokpl.testing runs. Both `pip install .` and `pip install -e .` run the
build; the sdist carries the Go sources (see MANIFEST.in).
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Command, setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from build_native import GENERATED, build_native  # noqa: E402


class BuildGo(Command):
    """setup.py build_go: build libgokpl.so into the source package (for development)."""

    description = "build libgokpl.so with the Go toolchain"
    user_options: list[tuple[str, str | None, str]] = []

    def initialize_options(self) -> None:
        pass

    def finalize_options(self) -> None:
        pass

    def run(self) -> None:
        build_native(ROOT / "python" / "gokpl")


class BuildPyWithGo(build_py):
    """build_py that also builds the Go library into the built (or, editable, source) package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            build_native(ROOT / "python" / "gokpl")
        else:
            build_native(Path(self.build_lib) / "gokpl")

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, "editable_mode", False):
            outputs += [str(Path(self.build_lib) / "gokpl" / name) for name in GENERATED]
        return outputs


class BinaryDistribution(Distribution):
    """The package carries a platform-specific shared library."""

    def has_ext_modules(self) -> bool:
        return True


cmdclass: dict[str, type[Command]] = {"build_py": BuildPyWithGo, "build_go": BuildGo}

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70
    try:
        from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]
    except ImportError:  # neither: not building a wheel (e.g. `setup.py build_go`)
        bdist_wheel = None

if bdist_wheel is not None:

    class PlatformWheel(bdist_wheel):  # type: ignore[misc,valid-type]
        """Tag wheels cp39-abi3-<platform>: the extension uses CPython's stable ABI,
        so one wheel serves every CPython from 3.9 on its platform."""

        def get_tag(self) -> tuple[str, str, str]:
            _, _, platform = super().get_tag()
            return "cp39", "abi3", platform

    cmdclass["bdist_wheel"] = PlatformWheel

setup(distclass=BinaryDistribution, cmdclass=cmdclass)
