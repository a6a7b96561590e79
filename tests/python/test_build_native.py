"""build_native.py compiles the declarations derived from gokpl.h, and stops with where the header went wrong."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
import build_native  # noqa: E402


def test_the_declarations_are_those_of_the_repository_header() -> None:
    ffi = build_native.cffi_declarations()
    assert ffi.dlopen(None).GOKPL_ABI_VERSION >= 1
    assert ffi.typeof("gokpl_status").relements["GOKPL_OK"] == 0
    assert ffi.typeof("gokpl_record").fields[0][0] == "partition_key"


def test_a_header_cffi_cannot_take_stops_the_build_naming_the_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header = tmp_path / "gokpl.h"
    text = (REPO / "capi" / "gokpl.h").read_text()
    header.write_text(text.replace("#include <stdint.h>", "#include <stdint.h>\n#if 1"))
    monkeypatch.setattr(build_native, "HEADER", header)
    with pytest.raises(SystemExit) as info:
        build_native.cffi_declarations()
    message = str(info.value)
    assert message.startswith(f"gokpl: cannot derive cffi's declarations from {header}: line ")
    assert "'#if 1'" in message
