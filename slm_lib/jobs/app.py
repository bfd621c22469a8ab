"""The app's job pool: ``generate``, ``train`` and ``measure`` lanes sized by the deployment's caps."""

from __future__ import annotations

from slm_lib import settings
from slm_lib.jobs.cpus import available_cpus, confine_this_process, plan_cpus
from slm_lib.jobs.lanes import GENERATE, MEASURE, SCORE, TRAIN, Lane
from slm_lib.jobs.pool import JobPool

__all__ = ["app_pool"]


def app_pool(limits: settings.Limits | None = None, workers: settings.WorkerSettings | None = None) -> JobPool:
    """The app's pool: ``generate``, ``train`` and ``measure`` lanes sized by the deployment's caps (``settings``).

    On-board answers share one worker process (and so one loaded model) between
    ``max_concurrent_generations`` threads; each training job gets a process of its own; the short
    measurements a page needs (the teacher's scores) run one at a time in a process of their own; answers are
    scored by the embedding model in one more (two batches at a time share it).

    With worker processes and at least two cores, this process (the page server) is confined to
    ``page_cpus`` cores of its own and the workers may use all of them (``slm_lib.jobs.cpus``).
    """
    caps = limits or settings.limits()
    conf = workers or settings.workers()
    plan = plan_cpus(available_cpus(), conf.page_cpus) if conf.mode == "process" else None
    if plan is not None:
        confine_this_process(plan.pages)
    lanes = [
        Lane(GENERATE, 1, caps.max_concurrent_generations, caps.max_waiting_jobs, max_run_s=600),
        Lane(TRAIN, caps.max_concurrent_trainings, 1, caps.max_waiting_jobs, max_run_s=1800),
        Lane(MEASURE, 1, 1, caps.max_waiting_jobs, max_run_s=300),
        Lane(SCORE, 1, 2, caps.max_waiting_jobs, max_run_s=300),
    ]
    return JobPool(
        lanes,
        conf.mode,  # type: ignore[arg-type]
        idle_exit_s=conf.idle_exit_s,
        worker_threads=conf.threads,
        nice=conf.nice,
        worker_cpus=plan.workers if plan is not None else None,
        preload=("torch", "slm_lib.tiny"),
    )
