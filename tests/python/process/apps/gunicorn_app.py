"""The seed's Flask app (examples/seed/flask_app.py, unchanged) as gunicorn serves it, plus probes.

The seed module makes its producer at import and enters it, so under
``gunicorn --preload`` both happen in the master, before the workers fork.
This module adds what the process test needs to see from outside: each
response names the worker's pid, ``/fire`` puts through a second
module-level producer that buffers for a minute (only a flush sends its
records, so they show the exit-time flush when the worker stops), and
``/loaded`` says whether this process has loaded the library.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Response, jsonify, request

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "examples" / "seed"))

import flask_app
import gokpl._native
from gokpl import Config, SyncProducer

app = flask_app.app
lazy = SyncProducer(Config(region="us-east-1", record_max_buffered_time_ms=60_000))
lazy.__enter__()


@app.after_request
def name_the_worker(response: Response) -> Response:
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response


@app.route("/fire", methods=["POST"])
def fire() -> Response:
    lazy.put_record(stream="events", partition_key="fire", data=request.get_data())
    return jsonify(pid=os.getpid())


@app.route("/loaded")
def loaded() -> Response:
    return jsonify(pid=os.getpid(), loaded=gokpl._native.is_loaded())
