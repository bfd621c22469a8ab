"""Model work off the page-serving interpreter: capped, queued jobs with places, progress and Stop.

- :mod:`slm_lib.jobs.pool`: ``JobPool`` (one bounded line per ``Lane``, :mod:`slm_lib.jobs.lanes`; threads
  or worker processes); :mod:`slm_lib.jobs.app`: ``app_pool`` (the app's lanes from the deployment's caps),
- :mod:`slm_lib.jobs.job`: ``Job`` (place, events, result, cancel), ``Place``, ``JobContext`` and the errors,
- :mod:`slm_lib.jobs.gate`: ``FifoGate``, a first-come-first-served gate for work done elsewhere (Ollama),
- :mod:`slm_lib.jobs.watch`: ``watching`` / ``current_watch``, how a waiting caller hears its place,
- :mod:`slm_lib.jobs.worker`: the worker process and how a task is found and run.

Example:
    >>> pool = JobPool([Lane("demo")])
    >>> job = pool.submit("demo", "slm_lib.jobs.pool:echo_task", {"items": ["a", "b"]})
    >>> list(job.events())
    ['a', 'b']
    >>> pool.shutdown()
"""

from __future__ import annotations

from slm_lib.jobs.app import app_pool
from slm_lib.jobs.gate import FifoGate
from slm_lib.jobs.job import Job, JobCancelled, JobContext, JobError, Place, QueueFull, WorkerCrashed
from slm_lib.jobs.lanes import GENERATE, MEASURE, SCORE, TRAIN, Lane, LaneStats
from slm_lib.jobs.pool import JobPool, echo_task
from slm_lib.jobs.watch import Watch, current_watch, watching

__all__ = [
    "GENERATE",
    "MEASURE",
    "SCORE",
    "TRAIN",
    "FifoGate",
    "Job",
    "JobCancelled",
    "JobContext",
    "JobError",
    "JobPool",
    "Lane",
    "LaneStats",
    "Place",
    "QueueFull",
    "Watch",
    "WorkerCrashed",
    "app_pool",
    "current_watch",
    "echo_task",
    "watching",
]
