"""Jupyter: a notebook run cell by cell by a real IPython kernel (nbclient), as a person would.

Create a producer in a cell, put and wait, re-run cells, close, create
another; then interrupt the kernel while a cell is blocked in wait(): the
cell gets KeyboardInterrupt promptly and the producer stays usable.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from typing import Any

import nbformat
from conftest import FakeKinesis
from nbclient import NotebookClient
from support import read_back


def outputs_text(cell: Any) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif "data" in out:
            parts.append(out["data"].get("text/plain", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "\n".join(parts)


def test_a_notebook_session(fake_kinesis: FakeKinesis, fake_stream: str) -> None:
    cells = [
        f"""
import time
from gokpl import Config, SyncProducer
STREAM = {fake_stream!r}
config = Config(region="us-east-1", endpoint_url={fake_kinesis.endpoint_url!r}, record_max_buffered_time_ms=10)
""",
        "producer = SyncProducer(config)\nproducer.__enter__()",
        "n = globals().get('n', 0) + 1\n"
        "outcome = producer.put_record(stream=STREAM, partition_key='nb', data=b'cell-%d' % n)\n"
        "outcome.wait(timeout=10)",
        "producer.close()\nproducer",
        # Ctrl-C (an interrupt from the notebook) while wait() blocks: the
        # record buffers for a minute, so only a flush or the interrupt ends it.
        """
slow = SyncProducer(Config(region="us-east-1", endpoint_url=config.endpoint_url, record_max_buffered_time_ms=60_000))
slow.__enter__()
pending = slow.put_record(stream=STREAM, partition_key='nb', data=b'interrupted-wait')
print("WAITING", flush=True)
try:
    pending.wait()
except KeyboardInterrupt:
    print("INTERRUPTED", time.monotonic(), flush=True)
    raise
""",
        "slow.flush(timeout=10)\npending.wait(timeout=1).success",
        "slow.close()",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True)
    interrupted_at: list[float] = []

    def interrupt_later() -> None:
        time.sleep(1.0)
        interrupted_at.append(time.monotonic())
        result = client.km.interrupt_kernel()
        if inspect.isawaitable(result):
            asyncio.run(result)  # type: ignore[arg-type]

    def run(index: int) -> str:
        client.execute_cell(nb.cells[index], index)
        return outputs_text(nb.cells[index])

    with client.setup_kernel():
        run(0)
        run(1)
        first = run(2)
        assert first.startswith("<RecordResult ok shard_id='shardId-"), first
        again = run(2)  # re-run the put cell
        assert again.startswith("<RecordResult ok"), again
        closed = run(3)
        assert "<SyncProducer closed" in closed, closed
        run(1)  # a new producer in the same kernel, after the old one closed
        assert run(2).startswith("<RecordResult ok")
        run(1)  # and another, replacing one that was never closed
        assert run(2).startswith("<RecordResult ok")

        thread = threading.Thread(target=interrupt_later)
        thread.start()
        text = run(4)
        thread.join()
        assert "WAITING" in text and "KeyboardInterrupt" in text, text
        caught = float(next(line for line in text.splitlines() if line.startswith("INTERRUPTED")).split()[1])
        latency = caught - interrupted_at[0]
        assert run(5) == "True"
        run(6)
    assert latency < 0.5, f"kernel interrupt took {latency * 1000:.0f} ms to reach wait()"
    datas = sorted(r.data for r in read_back(fake_kinesis.endpoint_url, fake_stream))
    assert datas == sorted([b"cell-1", b"cell-2", b"cell-3", b"cell-4", b"interrupted-wait"]), datas
    print(f"jupyter: kernel interrupt reached wait() after {latency * 1000:.0f} ms")
