"""Tasks for the job-pool tests (importable by worker processes as ``tests.jobs.tasks``)."""

from __future__ import annotations

import os
import signal
import time


def hold(ctx, seconds: float = 30.0, tag: str = ""):
    """Emit "started", then wait until cancelled or ``seconds`` pass; returns how it ended."""
    ctx.emit(("started", tag, os.getpid()))
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if ctx.stopped():
            return "stopped"
        time.sleep(0.02)
    return "finished"


def crash(ctx):
    """Die the way an out-of-memory kill does: no answer, no exception."""
    ctx.emit("about to crash")
    time.sleep(0.1)  # let the event reach the parent first
    os.kill(os.getpid(), signal.SIGKILL)


def ignore_stop(ctx, seconds: float = 60.0):
    """A task that never checks ``ctx.stopped()``."""
    ctx.emit("started")
    time.sleep(seconds)
    return "done"


def pid(ctx):
    return os.getpid()


class Unpicklable(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


def raise_unpicklable(ctx):
    raise Unpicklable("x", "y")


def niceness(ctx):
    return os.getpriority(os.PRIO_PROCESS, 0)


def affinity(ctx):
    return sorted(os.sched_getaffinity(0))
