"""The pool's side of a worker: a thread runner in this process, or a handle on one worker process.

Both offer the same small interface to :class:`slm_lib.jobs.JobPool`: ``run(job)``, ``cancel(job_id)``,
``stop(timeout)``, and report back through ``pool.on_event``, ``pool.on_finished`` and (a process that
ended) ``pool.on_worker_exit``. ``running`` and ``idle_since`` are only changed under the pool's lock.
"""

from __future__ import annotations

import pickle
import sys
import threading
import time
from typing import Any, Protocol

import slm_lib.jobs.worker as worker_main
from slm_lib.jobs.job import Job, JobContext
from slm_lib.jobs.worker import run_task

__all__ = ["ProcessWorker", "ThreadWorker", "Worker"]


class _Reports(Protocol):
    """Where a worker reports (``JobPool``)."""

    def on_event(self, worker: Worker, job_id: int, payload: object) -> None: ...

    def on_finished(self, worker: Worker, job_id: int, result: object, error: BaseException | None) -> None: ...

    def on_worker_exit(self, worker: Worker, exitcode: int | None) -> None: ...


class Worker(Protocol):
    kind: str
    capacity: int
    running: dict[int, Job]
    alive: bool
    idle_since: float

    def run(self, job: Job) -> None: ...

    def cancel(self, job_id: int) -> None: ...

    def stop(self, timeout: float) -> None: ...


class ThreadWorker:
    """Runs each job on a daemon thread of this process (``capacity`` at once)."""

    def __init__(self, pool: _Reports, kind: str, capacity: int) -> None:
        self._pool, self.kind, self.capacity = pool, kind, capacity
        self.running: dict[int, Job] = {}
        self.alive = True
        self.idle_since = time.monotonic()
        self._contexts: dict[int, JobContext] = {}

    def run(self, job: Job) -> None:
        ctx = JobContext(job.id, lambda payload: self._pool.on_event(self, job.id, payload))
        self._contexts[job.id] = ctx
        threading.Thread(target=self._work, args=(job, ctx), daemon=True, name=f"job-{job.id}").start()

    def _work(self, job: Job, ctx: JobContext) -> None:
        try:
            result = run_task(job.target, ctx, dict(job.kwargs))
        except BaseException as exc:  # reported to the caller, never lost on a thread
            self._pool.on_finished(self, job.id, None, exc)
        else:
            self._pool.on_finished(self, job.id, result, None)
        finally:
            self._contexts.pop(job.id, None)

    def cancel(self, job_id: int) -> None:
        ctx = self._contexts.get(job_id)
        if ctx is not None:
            ctx.stop()

    def stop(self, timeout: float) -> None:
        for ctx in list(self._contexts.values()):
            ctx.stop()


class ProcessWorker:
    """One worker process running up to ``capacity`` jobs, and the thread that reads its messages."""

    def __init__(
        self,
        pool: _Reports,
        mp: Any,  # noqa: ANN401 - a multiprocessing context
        kind: str,
        capacity: int,
        threads: int,
        nice: int,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self._pool, self.kind, self.capacity = pool, kind, capacity
        self.running: dict[int, Job] = {}
        self.alive = True
        self.idle_since = time.monotonic()
        parent, child = mp.Pipe(duplex=True)
        self.process = mp.Process(
            target=worker_main.main,
            args=(child, threads, nice, cpus),
            daemon=True,
            name=f"slm-explorer-{kind}-worker",
        )
        self.process.start()
        child.close()  # only the worker holds its end now: its exit shows up here as end-of-file
        self.pid: int = self.process.pid
        self._conn = parent
        self._send_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name=f"job-reader-{self.pid}").start()

    def _send(self, message: tuple[object, ...]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        with self._send_lock:
            self._conn.send_bytes(data)

    def run(self, job: Job) -> None:
        self._send(("run", job.id, job.target, dict(job.kwargs)))

    def cancel(self, job_id: int) -> None:
        try:
            self._send(("cancel", job_id))
        except OSError:
            pass  # already gone: on_worker_exit reports it

    def stop(self, timeout: float) -> None:
        """Ask the process to exit; terminate, then kill it if it does not within ``timeout`` seconds."""
        try:
            self._send(("exit",))
        except OSError:
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)

    def _read(self) -> None:
        pool = self._pool
        while True:
            try:
                message = pickle.loads(self._conn.recv_bytes())
            except (EOFError, OSError):
                break
            except Exception as exc:  # a message this process cannot unpickle: treat the worker as broken
                print(f"job worker {self.pid}: unreadable message: {exc!r}", file=sys.stderr)
                self.process.kill()
                break
            command, job_id = message[0], message[1]
            if command == "event":
                pool.on_event(self, job_id, message[2])
            elif command == "done":
                pool.on_finished(self, job_id, message[2], None)
            elif command == "error":
                pool.on_finished(self, job_id, None, message[2])
        self.alive = False
        self.process.join(5.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(1.0)
        self._conn.close()
        pool.on_worker_exit(self, self.process.exitcode)
