"""Lanes: the asyncio Producer's blocking native waits, off the event loop.

A lane is one daemon thread and a FIFO queue of jobs. A job does one slice
of a blocking native wait at a time (at most ``WAIT_SLICE_MS``: a put while
the producer is full, a flush, the close) and answers either ``AGAIN`` or
its value; the lane runs the head job slice after slice until it answers,
then hands the value (or the exception it raised) to the future of the loop
that submitted it, with one ``loop.call_soon_threadsafe``. Between slices it
looks whether that future was cancelled, and if so drops the job, calling
its ``abandon`` with AGAIN, or with the value that arrived for a future
cancelled meanwhile (a put withdraws the record it just put).

Concurrency: ``submit`` is called on a loop's thread, anything else runs on
the lane's thread; the queue is guarded by a condition. The thread starts
with the first job and ends once the lane is closed and its queue empty. No
job ever runs on the loop; the loop never waits for the lane. A forked child
starts with empty lanes (the parent's threads and jobs are not its own), and
its jobs then meet the library's ForkedProcessError.
"""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

#: A job's answer while its native wait has not finished: run another slice.
AGAIN: Any = object()


class Job:
    """One blocking operation, in slices: ``step()`` returns AGAIN or the value (or raises).

    ``abandon(value)`` runs, on the lane's thread or the loop's, when the
    awaiting task was cancelled: value is AGAIN if the job did not finish.
    """

    __slots__ = ("abandon", "step")

    def __init__(self, step: Callable[[], Any], abandon: Callable[[Any], None] | None = None) -> None:
        self.step = step
        self.abandon = abandon


class Lane:
    """One thread running jobs in the order they were submitted, one slice at a time."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._ready = threading.Condition(threading.Lock())
        #: The jobs queued or running, the head first: empty while the lane is idle.
        self.jobs: deque[tuple[asyncio.Future[Any], Job]] = deque()
        self._thread: threading.Thread | None = None
        self._closed = False
        _lanes.add(self)

    def submit(self, job: Job) -> asyncio.Future[Any]:
        """Queue job; the returned future, of the running loop's, resolves with its value."""
        future = asyncio.get_running_loop().create_future()
        with self._ready:
            self.jobs.append((future, job))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._ready.notify()
        return future

    def close(self) -> None:
        """Let the thread end once the jobs queued now are done."""
        with self._ready:
            self._closed = True
            self._ready.notify()

    def _forget(self) -> None:
        """In a forked child: the thread and the jobs were the parent's."""
        self._ready = threading.Condition(threading.Lock())
        self.jobs.clear()
        self._thread = None

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self.jobs and not self._closed:
                    self._ready.wait()
                if not self.jobs:
                    self._thread = None
                    return
                future, job = self.jobs[0]
            try:
                _run_job(future, job)
            finally:
                with self._ready:
                    self.jobs.popleft()


_lanes: weakref.WeakSet[Lane] = weakref.WeakSet()


def _forget_lanes() -> None:
    for lane in list(_lanes):
        lane._forget()


os.register_at_fork(after_in_child=_forget_lanes)


def _run_job(future: asyncio.Future[Any], job: Job) -> None:
    """Run job's slices until it answers or its future is cancelled; hand the answer to the future's loop."""
    value: Any = AGAIN
    error: BaseException | None = None
    while value is AGAIN:
        if future.cancelled():
            _abandon(job, AGAIN)
            return
        try:
            value = job.step()
        except Exception as exc:  # handed to the awaiting task
            error = exc
            break
    if error is None and future.cancelled():
        _abandon(job, value)
        return
    try:
        future.get_loop().call_soon_threadsafe(_settle, future, job, value, error)
    except RuntimeError:  # the loop is closed: nobody awaits the value
        if error is None:
            _abandon(job, value)


def _settle(future: asyncio.Future[Any], job: Job, value: Any, error: BaseException | None) -> None:
    """On the future's loop: resolve it, or give the value up if the wait was cancelled meanwhile."""
    if future.cancelled():
        if error is None:
            _abandon(job, value)
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


def _abandon(job: Job, value: Any) -> None:
    if job.abandon is not None:
        job.abandon(value)
