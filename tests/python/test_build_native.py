"""build_native.py compiles the declarations derived from gokpl.h, stops with where the header went wrong, and
keeps the GIL through the one short call it names and no other."""

from __future__ import annotations

import re
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


def wrappers(source: str) -> dict[str, str]:
    """Each cffi wrapper's body in a generated source, by function name."""
    return {
        m.group(1): m.group(2) for m in re.finditer(r"\n_cffi_f_(\w+)\(PyObject[^\n]*\n\{\n(.*?)\n\}\n", source, re.S)
    }


def test_the_short_call_keeps_the_gil_and_the_others_release_it(tmp_path: Path) -> None:
    ffi = build_native.cffi_declarations()
    ffi.set_source("_gokpl_cffi", '#include "gokpl.h"')
    path = tmp_path / "gen.c"
    ffi.emit_c_code(str(path))
    patched = wrappers(build_native.keep_gil(path.read_text(), build_native.KEEP_GIL))
    assert set(build_native.KEEP_GIL) <= set(patched)
    for name, body in patched.items():
        releases = "Py_BEGIN_ALLOW_THREADS" in body and "Py_END_ALLOW_THREADS" in body
        assert releases == (name not in build_native.KEEP_GIL), name
    # A blocking call must never keep the GIL.
    assert not {"gokpl_outcome_wait", "gokpl_producer_put", "gokpl_producer_flush_wait"} & set(build_native.KEEP_GIL)


def test_an_unexpected_wrapper_shape_leaves_the_source_alone() -> None:
    source = "\n_cffi_f_gokpl_producer_put_quick(PyObject *self)\n{\n  result = gokpl_producer_put_quick(x0);\n}\n"
    assert build_native.keep_gil(source, ("gokpl_producer_put_quick",)) == source
