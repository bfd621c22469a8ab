"""The far side of a job: resolve a task by name and run it, in a thread here or in a worker process.

A worker process (``main``) reads commands from its pipe and answers with pickled messages:

- parent → worker: ``("run", job_id, target, kwargs)``, ``("cancel", job_id)``, ``("exit",)``
- worker → parent: ``("event", job_id, payload)``, ``("done", job_id, result)``, ``("error", job_id, exc)``

Every job runs on a thread of its own, so one process can serve several jobs that share what it has
loaded (one SmolLM2 for every visitor's answers). Messages are plain pickles (``pickle.dumps``): tensors
travel by value, with no shared-memory handles that could outlive the job.
"""

from __future__ import annotations

import importlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from slm_lib.jobs.job import JobContext, JobError

__all__ = ["main", "portable_error", "resolve", "run_task"]


def resolve(target: str) -> Callable[..., object]:
    """The function named ``"package.module:function"``."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"task {target!r} must look like 'package.module:function'")
    fn = getattr(importlib.import_module(module), name, None)
    if not callable(fn):
        raise ValueError(f"task {target!r} is not a function")
    return fn


def run_task(target: str, ctx: JobContext, kwargs: dict[str, Any]) -> object:
    """Call the task; its exceptions propagate."""
    return resolve(target)(ctx, **kwargs)


def portable_error(exc: BaseException) -> BaseException:
    """``exc`` itself when it survives a pickle round trip, else a ``JobError`` carrying its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # an exception whose __init__ takes other arguments than its args
        return JobError(f"{type(exc).__name__}: {exc}")
    return exc


def _limit_threads(threads: int) -> None:
    """One busy worker per core: cap torch's intra-op threads (set before torch starts its pool)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    torch = sys.modules.get("torch")  # preloaded by the fork server when available
    if torch is not None:
        torch.set_num_threads(threads)


def main(conn: Connection, threads: int = 1, nice: int = 0, cpus: frozenset[int] | None = None) -> None:
    """Entry point of a worker process: serve commands until told to exit or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent decides
    if cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, cpus)  # out of the page server's core, where this process was started
    if nice:
        os.nice(nice)  # page serving in the parent comes first when the CPU is contended
    _limit_threads(threads)
    send_lock = threading.Lock()
    contexts: dict[int, JobContext] = {}

    def send(message: tuple[object, ...]) -> None:
        try:
            data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an unpicklable payload or result: report it instead
            error = JobError(f"the task's {message[0]} could not be sent back: {type(exc).__name__}: {exc}")
            data = pickle.dumps(("error", message[1], error))
        with send_lock:
            try:
                conn.send_bytes(data)
            except OSError:
                pass  # the parent is gone: the read loop ends too

    def work(job_id: int, target: str, kwargs: dict[str, Any]) -> None:
        ctx = contexts[job_id]
        try:
            result = run_task(target, ctx, kwargs)
        except BaseException as exc:  # every failure goes back to the caller, never kills the worker
            print(f"job {job_id} ({target}) failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            send(("error", job_id, portable_error(exc)))
        else:
            send(("done", job_id, result))
        finally:
            contexts.pop(job_id, None)

    while True:
        try:
            message = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            break  # the parent closed the pipe (exited or crashed): stop serving
        command = message[0]
        if command == "run":
            _, job_id, target, kwargs = message
            contexts[job_id] = JobContext(job_id, lambda p, i=job_id: send(("event", i, p)))
            threading.Thread(target=work, args=(job_id, target, kwargs), daemon=True, name=f"job-{job_id}").start()
        elif command == "cancel":
            ctx = contexts.get(message[1])
            if ctx is not None:
                ctx.stop()
        elif command == "exit":
            break
    for ctx in list(contexts.values()):
        ctx.stop()
    conn.close()
