"""One job seen from the page that asked for it: its place in the queue, its progress, its result, Stop.

A ``Job`` is created by :class:`slm_lib.jobs.JobPool.submit`. The caller follows it with :meth:`Job.events`,
which yields what the task emits (text chunks, training steps) and keeps the caller informed while the job
waits (``on_place``), and cancels it when the caller stops listening: Stop, a closed tab, an exception.

Example:
    job = pool.submit("train", "slm_lib.compress.tasks:distill_task", {"config": config})
    for step in job.events(on_place=lambda place: print(place)):
        print(step)
    result = job.result()
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = [
    "Job",
    "JobCancelled",
    "JobContext",
    "JobError",
    "JobState",
    "Place",
    "QueueFull",
    "WorkerCrashed",
]

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class JobError(RuntimeError):
    """A job could not run or finish; the message says why."""


class QueueFull(JobError):
    """Too many jobs of this kind are already waiting: try again later."""

    def __init__(self, message: str, kind: str = "", waiting: int = 0) -> None:
        super().__init__(message)
        self.kind, self.waiting = kind, waiting

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.kind, self.waiting))


class JobCancelled(JobError):
    """The job was cancelled (Stop, a closed tab, or a time limit) before it finished."""


class WorkerCrashed(JobError):
    """The worker process running the job stopped without an answer (killed, out of memory, a crash)."""


@dataclass(frozen=True)
class Place:
    """Where a queued job stands: ``position`` 1 starts next.

    ``running`` jobs of this kind are in progress out of ``cap`` allowed at once; ``waiting`` is the length of
    the whole line, ``waited_s`` how long this job has waited so far.
    """

    kind: str
    position: int
    waiting: int
    running: int
    cap: int
    waited_s: float


class JobContext:
    """What a task receives: ``emit`` sends progress to the caller, ``stopped()`` says when to give up.

    A task is a plain function ``task(ctx, **kwargs) -> result`` that calls ``ctx.emit(payload)`` for each
    piece of progress and checks ``ctx.stopped()`` between steps.
    """

    def __init__(self, job_id: int, emit: Callable[[object], None]) -> None:
        self.job_id = job_id
        self._emit = emit
        self._stop = threading.Event()

    def emit(self, payload: object) -> None:
        """Send ``payload`` (picklable) to whoever follows the job; dropped once the job is cancelled."""
        if not self._stop.is_set():
            self._emit(payload)

    def stopped(self) -> bool:
        """True once the job was cancelled: return as soon as possible (the result is discarded)."""
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()


_END = object()  # queued after the last event of a finished, failed or cancelled job


class _Line(Protocol):
    """What a job asks of the pool that holds it (``JobPool``)."""

    def place(self, job: Job) -> Place | None: ...

    def cancel(self, job: Job) -> None: ...


class Job:
    """A submitted job; created by ``JobPool.submit``, never directly."""

    def __init__(self, pool: _Line, job_id: int, kind: str, target: str, kwargs: Mapping[str, Any]) -> None:
        self.id, self.kind, self.target = job_id, kind, target
        self.kwargs = kwargs
        self.state: JobState = "queued"
        self.submitted_at = time.monotonic()
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self._pool = pool
        self._events: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._done = threading.Event()
        self._result: object = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        return f"Job(id={self.id}, kind={self.kind!r}, target={self.target!r}, state={self.state!r})"

    # ------------------------------------------------------------------------------------- asking
    @property
    def done(self) -> bool:
        """True once the job finished, failed or was cancelled."""
        return self._done.is_set()

    def place(self) -> Place | None:
        """Where the job waits, or None once it has started (or ended)."""
        return self._pool.place(self)

    def cancel(self) -> None:
        """Leave the queue, or stop the running task; a no-op once the job has ended."""
        self._pool.cancel(self)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (at most ``timeout`` seconds); True when it has."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> object:
        """The task's return value; raises its exception, ``JobCancelled`` or ``WorkerCrashed`` instead."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"job {self.id} still {self.state} after {timeout} s")
        if self._error is not None:
            raise self._error
        return self._result

    def events(
        self,
        *,
        on_place: Callable[[Place | None], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        poll_s: float = 0.2,
        heartbeat_s: float = 1.0,
    ) -> Iterator[object]:
        """Yield the task's payloads as they arrive, then raise its error if it failed.

        While the job waits, ``on_place(place)`` is called at once, whenever the place changes and at least
        every ``heartbeat_s`` seconds; ``on_place(None)`` once when it starts. ``should_stop()`` is polled
        every ``poll_s`` seconds and between payloads: True cancels the job (``JobCancelled``). Leaving the
        loop early (``break``, an exception, garbage collection) cancels the job too.
        """
        told: tuple[int, int] | None = None
        told_at, started_told, ended = 0.0, False, False
        try:
            while True:
                if should_stop is not None and should_stop():
                    self.cancel()
                    raise JobCancelled("stopped before the job finished")
                if on_place is not None and not started_told:
                    place = self.place()
                    now = time.monotonic()
                    if place is None and self.state != "queued":
                        on_place(None)
                        started_told = True
                    elif place is not None and (
                        (place.position, place.running) != told or now - told_at >= heartbeat_s
                    ):
                        on_place(place)
                        told, told_at = (place.position, place.running), now
                try:
                    item = self._events.get(timeout=poll_s)
                except queue.Empty:
                    continue
                if item is _END:
                    ended = True
                    break
                if on_place is not None and not started_told:
                    on_place(None)  # it started: the first payload is here
                    started_told = True
                yield item
        finally:
            if not ended:
                self.cancel()
        if self._error is not None:
            raise self._error

    # --------------------------------------------------------------------- called by the pool only
    def _started(self) -> None:
        self.state = "running"
        self.started_at = time.monotonic()

    def _emit(self, payload: object) -> None:
        if not self._done.is_set():
            self._events.put(payload)

    def _finish(self, state: JobState, result: object = None, error: BaseException | None = None) -> bool:
        """Record the outcome once; False when the job had already ended (a late result is dropped)."""
        if self._done.is_set():
            return False
        self.state, self._result, self._error = state, result, error
        self.finished_at = time.monotonic()
        self._done.set()
        self._events.put(_END)
        return True
