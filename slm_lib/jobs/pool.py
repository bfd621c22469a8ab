"""A job pool with one bounded, first-come-first-served line per kind of work, run by threads or processes.

Each ``Lane`` caps how many jobs of its kind run at once (``processes × per_process``) and how many may wait;
a job over the cap waits its turn and always knows its place. In ``"process"`` mode jobs run in worker
processes, so model work never holds the page-serving interpreter, uses every core, and a worker that
crashes fails its jobs instead of the app; idle workers exit after ``idle_exit_s`` and give their memory
back. ``"thread"`` mode runs the same jobs on threads of this process (tests, a single local user).

Example:
    >>> pool = JobPool([Lane("demo", processes=1, per_process=2)], mode="thread")
    >>> pool.submit("demo", "slm_lib.jobs.pool:echo_task", {"items": [1, 2]}).result(timeout=10)
    [1, 2]
    >>> pool.shutdown()
"""

from __future__ import annotations

import multiprocessing
import pickle
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from slm_lib.jobs.job import Job, JobCancelled, JobContext, JobError, Place, QueueFull, WorkerCrashed
from slm_lib.jobs.lanes import Lane, LaneStats
from slm_lib.jobs.workers import ProcessWorker, ThreadWorker, Worker

__all__ = ["JobPool", "Mode", "echo_task"]

Mode = Literal["thread", "process"]


class _LaneState:
    def __init__(self, lane: Lane) -> None:
        self.lane = lane
        self.waiting: deque[Job] = deque()
        self.workers: list[Worker] = []
        self.starting = 0  # worker processes being started by the dispatcher


class JobPool:
    """Run named tasks (``"package.module:function"``) per kind, capped and queued; see the module docstring.

    Args:
        lanes: one per kind of job.
        mode: ``"thread"`` (in this process) or ``"process"`` (worker processes, started on demand).
        idle_exit_s: a worker process with nothing to do for this long exits (its memory is freed).
        worker_threads: torch threads per worker process.
        nice: added to the worker processes' niceness, so page serving wins a contended CPU.
        worker_cpus: the cores worker processes may run on (``None``: those of this process).
        preload: modules the fork server imports once, so each new worker starts without importing them.
        kill_after_s: a cancelled task that has not returned after this long has its worker process killed.
    """

    def __init__(
        self,
        lanes: Sequence[Lane],
        mode: Mode = "thread",
        *,
        idle_exit_s: float = 120.0,
        worker_threads: int = 1,
        nice: int = 0,
        worker_cpus: Iterable[int] | None = None,
        preload: Iterable[str] = (),
        kill_after_s: float = 10.0,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode={mode!r} must be 'thread' or 'process'")
        kinds = [lane.kind for lane in lanes]
        if not kinds or len(set(kinds)) != len(kinds):
            raise ValueError(f"lanes need distinct kinds, got {kinds}")
        if idle_exit_s <= 0 or kill_after_s <= 0 or worker_threads < 1:
            raise ValueError("idle_exit_s and kill_after_s must be > 0 and worker_threads >= 1")
        self.mode: Mode = mode
        self.idle_exit_s, self.kill_after_s = idle_exit_s, kill_after_s
        self.worker_threads, self.nice = worker_threads, nice
        self.worker_cpus = frozenset(worker_cpus) if worker_cpus is not None else None
        self._lanes = {lane.kind: _LaneState(lane) for lane in lanes}
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._next_id = 0
        self._closed = False
        self._mp = None
        if mode == "process":
            method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
            self._mp = multiprocessing.get_context(method)
            if method == "forkserver":  # the worker module always: it carries sys.path to the fork server
                self._mp.set_forkserver_preload(["slm_lib.jobs.worker", *preload])
        self._dispatcher = threading.Thread(target=self._dispatch_loop, daemon=True, name="job-dispatcher")
        self._dispatcher.start()

    # -------------------------------------------------------------------------------- public API
    @property
    def lanes(self) -> dict[str, Lane]:
        return {kind: state.lane for kind, state in self._lanes.items()}

    def submit(self, kind: str, target: str, kwargs: Mapping[str, Any] | None = None) -> Job:
        """Queue ``target(ctx, **kwargs)`` as a job of ``kind``; returns at once.

        Raises:
            QueueFull: ``max_waiting`` jobs of this kind already wait.
            ValueError: unknown kind, or (process mode) arguments that cannot be pickled.
        """
        if kind not in self._lanes:
            raise ValueError(f"unknown job kind {kind!r}; this pool runs {', '.join(self._lanes)}")
        args = dict(kwargs or {})
        if self.mode == "process":
            try:
                pickle.dumps(args)
            except Exception as exc:
                raise ValueError(f"the arguments of {target} cannot be sent to a worker: {exc}") from exc
        with self._lock:
            if self._closed:
                raise JobError("the job pool is shut down")
            state = self._lanes[kind]
            beyond_cap = self._running(state) + len(state.waiting) - state.lane.cap  # jobs that really wait
            if beyond_cap >= state.lane.max_waiting:
                raise QueueFull(
                    f"{max(0, beyond_cap)} jobs of this kind are already waiting (the most this server queues)",
                    kind,
                    max(0, beyond_cap),
                )
            self._next_id += 1
            job = Job(self, self._next_id, kind, target, args)
            state.waiting.append(job)
            self._assign_locked(state)
            self._wake.notify_all()
        return job

    def place(self, job: Job) -> Place | None:
        """Where ``job`` waits (position 1 starts next), or None when it is not waiting."""
        with self._lock:
            state = self._lanes[job.kind]
            if job.state != "queued":
                return None
            try:
                index = state.waiting.index(job)
            except ValueError:
                return None
            return Place(
                kind=job.kind,
                position=index + 1,
                waiting=len(state.waiting),
                running=self._running(state),
                cap=state.lane.cap,
                waited_s=time.monotonic() - job.submitted_at,
            )

    def cancel(self, job: Job) -> None:
        """Take ``job`` out of its line, or tell its worker to stop; its caller gets ``JobCancelled`` now."""
        with self._lock:
            state = self._lanes[job.kind]
            if job in state.waiting:
                state.waiting.remove(job)
                job._finish("cancelled", error=JobCancelled("cancelled while waiting"))
            elif job.state == "running" and job._finish("cancelled", error=JobCancelled("cancelled while running")):
                for worker in state.workers:
                    if job.id in worker.running:
                        worker.cancel(job.id)  # the slot stays taken until the task really returns
            self._wake.notify_all()

    def stats(self) -> dict[str, LaneStats]:
        """Running and waiting jobs and live worker processes, per kind."""
        with self._lock:
            return {
                kind: LaneStats(
                    kind,
                    self._running(s),
                    len(s.waiting),
                    s.lane.cap,
                    sum(isinstance(w, ProcessWorker) for w in s.workers),
                )
                for kind, s in self._lanes.items()
            }

    def worker_pids(self) -> list[int]:
        """Process ids of the live worker processes (empty in thread mode)."""
        with self._lock:
            return [w.pid for s in self._lanes.values() for w in s.workers if isinstance(w, ProcessWorker)]

    def shutdown(self, timeout: float = 5.0) -> None:
        """Cancel every job and stop every worker process (waits up to ``timeout`` seconds for each)."""
        with self._lock:
            self._closed = True
            jobs = [j for s in self._lanes.values() for j in s.waiting]
            jobs += [j for s in self._lanes.values() for w in s.workers for j in w.running.values()]
            workers = [w for s in self._lanes.values() for w in s.workers]
            self._wake.notify_all()
        for job in jobs:
            job.cancel()
        for worker in workers:
            worker.stop(timeout)
        with self._lock:
            for state in self._lanes.values():
                state.workers.clear()
        self._dispatcher.join(timeout)

    # ------------------------------------------------------------------------ called by workers
    def on_event(self, worker: Worker, job_id: int, payload: object) -> None:
        job = worker.running.get(job_id)
        if job is not None:
            job._emit(payload)

    def on_finished(self, worker: Worker, job_id: int, result: object, error: BaseException | None) -> None:
        with self._lock:
            job = worker.running.pop(job_id, None)
            if job is not None:
                job._finish("failed" if error is not None else "done", result, error)
            worker.idle_since = time.monotonic() if not worker.running else worker.idle_since
            self._assign_locked(self._lanes[worker.kind])
            self._wake.notify_all()

    def on_worker_exit(self, worker: Worker, exitcode: int | None) -> None:
        """A worker process ended: its unfinished jobs fail (never hang) and the lane starts a new one."""
        with self._lock:
            state = self._lanes[worker.kind]
            if worker in state.workers:
                state.workers.remove(worker)
            how = f"exit code {exitcode}" if exitcode is None or exitcode >= 0 else f"signal {-exitcode}"
            for job in worker.running.values():
                job._finish(
                    "failed",
                    error=WorkerCrashed(
                        f"The worker process running this job stopped unexpectedly ({how}); it may have run out "
                        "of memory. Try again: a fresh worker starts."
                    ),
                )
            worker.running.clear()
            self._assign_locked(state)
            self._wake.notify_all()

    # -------------------------------------------------------------------------------- internals
    def _running(self, state: _LaneState) -> int:
        return sum(len(w.running) for w in state.workers)

    def _free(self, state: _LaneState) -> int:
        return state.lane.cap - self._running(state)

    def _assign_locked(self, state: _LaneState) -> None:
        """Start waiting jobs on workers with room, first come first served (caller holds the lock)."""
        lane = state.lane
        if self.mode == "thread" and not state.workers:
            state.workers.append(ThreadWorker(self, lane.kind, lane.cap))
        while state.waiting:
            worker = next((w for w in state.workers if w.alive and len(w.running) < w.capacity), None)
            if worker is None:
                return  # the dispatcher starts another process if the lane may have one
            job = state.waiting.popleft()
            job._started()
            worker.running[job.id] = job
            try:
                worker.run(job)
            except OSError as exc:  # the pipe broke: the worker died between jobs
                worker.running.pop(job.id, None)
                job._finish("failed", error=WorkerCrashed(f"the worker could not take the job: {exc}"))

    def _dispatch_loop(self) -> None:
        """Start worker processes when jobs wait, retire idle ones, enforce time limits, kill stuck ones."""
        while True:
            with self._lock:
                if self._closed:
                    return
                to_start, to_stop = self._housekeeping_locked(time.monotonic())
                if not to_start and not to_stop:
                    self._wake.wait(timeout=0.5)
                    continue
            for worker in to_stop:
                worker.stop(2.0)  # jobs still on it are failed by on_worker_exit
            for state in to_start:
                self._start_worker(state)

    def _housekeeping_locked(self, now: float) -> tuple[list[_LaneState], list[Worker]]:
        to_start: list[_LaneState] = []
        to_stop: list[Worker] = []
        for state in self._lanes.values():
            lane = state.lane
            for worker in list(state.workers):
                for job in list(worker.running.values()):
                    over = lane.max_run_s is not None and now - (job.started_at or now) > lane.max_run_s
                    if over and job._finish(
                        "cancelled", error=JobCancelled(f"stopped at the {lane.max_run_s:g} s limit")
                    ):
                        worker.cancel(job.id)
                if not isinstance(worker, ProcessWorker):
                    continue  # a thread cannot be killed: a task that ignores Stop keeps its slot
                stuck = any(
                    j.state == "cancelled" and now - (j.finished_at or now) > self.kill_after_s
                    for j in worker.running.values()
                )
                idle = not worker.running and now - worker.idle_since > self.idle_exit_s
                if stuck or idle:
                    state.workers.remove(worker)
                    to_stop.append(worker)
            if self.mode == "process":
                room = sum(w.capacity - len(w.running) for w in state.workers if w.alive)
                if state.waiting and room == 0 and len(state.workers) + state.starting < lane.processes:
                    state.starting += 1
                    to_start.append(state)
        return to_start, to_stop

    def _start_worker(self, state: _LaneState) -> None:
        lane = state.lane
        try:
            worker = ProcessWorker(
                self, self._mp, lane.kind, lane.per_process, self.worker_threads, self.nice, self.worker_cpus
            )
        except Exception as exc:  # the system refused a process: fail the waiting jobs, never hang them
            error = WorkerCrashed(f"a worker process could not be started: {type(exc).__name__}: {exc}")
            with self._lock:
                state.starting -= 1
                while state.waiting:
                    state.waiting.popleft()._finish("failed", error=error)
            return
        with self._lock:
            state.starting -= 1
            closed = self._closed
            if not closed:
                state.workers.append(worker)
                self._assign_locked(state)
                self._wake.notify_all()
        if closed:
            worker.stop(1.0)


def echo_task(ctx: JobContext, items: Sequence[object] = (), delay_s: float = 0.0, fail: str = "") -> list[object]:
    """A task for tests and examples: emit each item (waiting ``delay_s`` before each), then return them all.

    With ``fail`` it raises ``ValueError(fail)`` after emitting; it returns early once cancelled.
    """
    sent = []
    for item in items:
        if ctx.stopped():
            break
        time.sleep(delay_s)
        ctx.emit(item)
        sent.append(item)
    if fail:
        raise ValueError(fail)
    return sent
