"""The pages under docs/ that are generated from the code match it.

``docs/gen_docs.py --check`` must pass: options.md, api.md and
operations.md's tables are what the generator makes of the code now. The
aggregated record shown byte by byte in aggregation.md is checked twice:
its bytes must de-aggregate into the records the page says were put, and
putting those records through the engine again must write exactly those
bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from conftest import missing
from gokpl.testing import FakeKinesis, deaggregate, hash_key_of, is_aggregated

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
GEN_DOCS = DOCS / "gen_docs.py"

# What aggregation.md says was put, written out here rather than taken from
# the generator, so that the page is checked against an independent account.
EXAMPLE = [("user-1", b"login", None), ("user-2", b"click", "7"), ("user-1", b"logout", None)]


@pytest.fixture(scope="module")
def gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", GEN_DOCS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def example_block() -> str:
    text = (DOCS / "aggregation.md").read_text()
    m = re.search(r"<!-- gen_docs:example:begin -->\n(.*?)\n<!-- gen_docs:example:end -->", text, re.S)
    assert m, "docs/aggregation.md lost its generated example block"
    return m.group(1)


def example_bytes(block: str) -> bytes:
    """The data of the hex dump in the block, read as a reader of the page would."""
    dump = re.search(r"```text\n(.*?)```", block, re.S)
    assert dump, "the example has no hex dump"
    data = bytearray()
    offsets = []
    for line in dump.group(1).splitlines():
        m = re.match(r"^([0-9a-f]{8})  ((?:[0-9a-f]{2} {1,2})*[0-9a-f]{2})\s+\|", line)
        if m:
            offsets.append(int(m.group(1), 16))
            data += bytes.fromhex(m.group(2))
        else:
            assert re.fullmatch(r"[0-9a-f]{8}", line), f"unexpected line in the hex dump: {line!r}"
            assert int(line, 16) == len(data), "the dump's final offset is not its length"
    assert offsets == list(range(0, len(data), 16)), "the dump's offsets are not every 16 bytes"
    return bytes(data)


def test_generated_pages_are_current() -> None:
    done = subprocess.run(
        [sys.executable, str(GEN_DOCS), "--check"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{done.stderr}{done.stdout}(run: python docs/gen_docs.py)"


def test_check_fails_on_a_stale_page(gen_docs: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("options.md", "api.md", "operations.md"):
        (tmp_path / name).write_text((DOCS / name).read_text())
    monkeypatch.setattr(gen_docs, "DOCS", tmp_path)
    assert gen_docs.main(["--check"]) == 0
    options = tmp_path / "options.md"
    options.write_text(options.read_text().replace("| `51200 (50 KiB)` |", "| `51201` |"))
    assert gen_docs.main(["--check"]) == 1
    assert gen_docs.main([]) == 0  # rewrites it
    assert gen_docs.main(["--check"]) == 0
    assert options.read_text() == (DOCS / "options.md").read_text()


def test_every_option_is_in_options_md(gen_docs: ModuleType) -> None:
    text = (DOCS / "options.md").read_text()
    for spec in gen_docs.load_options():
        assert f'<a id="{spec["name"]}"></a>`{spec["name"]}`' in text


def test_aggregation_example_decodes_to_the_records_put() -> None:
    block = example_block()
    data = example_bytes(block)
    assert data[:4] == bytes.fromhex("f3899ac2")
    assert data[-16:] == hashlib.md5(data[4:-16]).digest()
    assert is_aggregated(data)
    assert [tuple(r) for r in deaggregate("a", data)] == EXAMPLE
    assert "partition key `a`" in block
    assert f"explicit hash key\n`{hash_key_of('user-1')}`" in block
    assert f"these {len(data)} bytes of data" in block
    # Each row of the byte-by-byte table names bytes that are where it says.
    rows = re.findall(r"^\| 0x([0-9a-f]+) \| `([0-9a-f ]+)` \|", block, re.M)
    assert rows, "the example lost its table"
    covered = bytearray()
    for offset, raw in rows:
        part = bytes.fromhex(raw)
        assert data[int(offset, 16) : int(offset, 16) + len(part)] == part, f"table row at 0x{offset}"
        if int(offset, 16) == len(covered):
            covered += part
    assert bytes(covered) == data, "the table's top-level rows do not cover the record"


def test_aggregation_example_is_what_the_engine_writes(gen_docs: ModuleType) -> None:
    if not FakeKinesis().binary.is_file():
        missing("the fake Kinesis endpoint (python/gokpl/kinesistest) is not built")
    assert [(k, d, h) for k, d, h in gen_docs.EXAMPLE_RECORDS] == EXAMPLE
    example = gen_docs.produce_example()
    block = example_block()
    assert example.data == example_bytes(block), (
        "the encoder writes other bytes: run python docs/gen_docs.py --aggregation"
    )
    assert (example.partition_key, int(example.explicit_hash_key)) == ("a", hash_key_of("user-1"))
    assert gen_docs.render_aggregation_example(example) == block


# The pages whose links are checked: those generated or kept with the generator.
LINKED_PAGES = ("README.md", "aggregation.md", "api.md", "operations.md", "options.md", "tuning.md")


def anchors(page: Path) -> set[str]:
    """The anchors of a Markdown page as GitHub makes them: headings and <a id=...>."""
    text = page.read_text()
    found = set(re.findall(r'<a id="([^"]+)"', text))
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.*)$", re.sub(r"```.*?```", "", text, flags=re.S), re.M):
        anchor = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        found.add(anchor if n == 0 else f"{anchor}-{n}")
    return found


@pytest.mark.parametrize("name", LINKED_PAGES)
def test_relative_links_resolve(name: str) -> None:
    page = DOCS / name
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # an absolute URL
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such anchor")
    assert not broken, f"docs/{name}: " + "; ".join(broken)


def test_every_name_api_md_lists_under_gokpl_is_exported_by_gokpl() -> None:
    import gokpl

    text = (DOCS / "api.md").read_text()
    section = text.split("- [`gokpl`]", 1)[1].split("\n- [", 1)[0]
    names = [n for n in re.findall(r"^  - \[([A-Za-z_]+)\]", section, re.M) if n != "Exceptions"]
    assert "SyncProducer" in names and "Data" in names
    for name in names:
        assert hasattr(gokpl, name), f"api.md lists gokpl.{name}, which gokpl does not have"
        assert name in gokpl.__all__, f"gokpl.{name} is not in gokpl.__all__"
