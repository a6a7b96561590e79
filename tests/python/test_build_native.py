"""build_native.py: the cffi extension keeps the GIL through the short calls, and only those."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import cffi

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from gokpl._cdef import CDEF  # noqa: E402

import build_native  # noqa: E402


def wrappers(source: str) -> dict[str, str]:
    """Each cffi wrapper's body in a generated source, by function name."""
    return {
        m.group(1): m.group(2) for m in re.finditer(r"\n_cffi_f_(\w+)\(PyObject[^\n]*\n\{\n(.*?)\n\}\n", source, re.S)
    }


def test_the_short_calls_keep_the_gil_and_the_others_release_it(tmp_path: Path) -> None:
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
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


def test_an_unexpected_wrapper_shape_leaves_the_source_alone(capsys: object) -> None:
    source = "\n_cffi_f_gokpl_outcome_state(PyObject *self)\n{\n  result = gokpl_outcome_state(x0);\n}\n"
    assert build_native.keep_gil(source, ("gokpl_outcome_state",)) == source
