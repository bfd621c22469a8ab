"""The job pool: places in line, caps per kind, cancel, crashed workers, no leaked processes; threads and processes."""

from __future__ import annotations

import os
import threading
import time

import pytest

from slm_lib.jobs import (
    JobCancelled,
    JobError,
    JobPool,
    Lane,
    Place,
    QueueFull,
    WorkerCrashed,
    current_watch,
    watching,
)

HOLD = "tests.jobs.tasks:hold"
ECHO = "slm_lib.jobs.pool:echo_task"


def wait_until(check, timeout=15.0):
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


_FOLLOWED = []  # generators kept alive: dropping one cancels its job, as a page that stops listening does


@pytest.fixture(autouse=True)
def _forget_followed():
    yield
    _FOLLOWED.clear()


def first_event(job, timeout=15.0):
    """The job's first payload (it is running by then), and its still-open event stream."""
    events = job.events(poll_s=0.02)
    _FOLLOWED.append(events)
    end = time.monotonic() + timeout
    for payload in events:
        return payload, events
    raise AssertionError(f"no event (job {job.state}) within {timeout} s; started {end - timeout}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead too: look at its state (gone between the two looks: dead)
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(params=["thread", "process"])
def pool(request):
    lanes = [Lane("gen", processes=1, per_process=2, max_waiting=3), Lane("train", processes=2, max_waiting=1)]
    pool = JobPool(lanes, mode=request.param, idle_exit_s=60, kill_after_s=2.0)
    yield pool
    pool.shutdown()


def test_places_are_first_come_first_served_and_move_up(pool):
    running = [pool.submit("gen", HOLD, {"tag": str(i)}) for i in range(2)]
    for job in running:
        first_event(job)
    waiting = [pool.submit("gen", HOLD, {"tag": f"w{i}"}) for i in range(3)]
    assert [j.place().position for j in waiting] == [1, 2, 3]
    place = waiting[2].place()
    assert (place.kind, place.waiting, place.running, place.cap) == ("gen", 3, 2, 2)
    running[0].cancel()  # one slot frees: the first in line starts, the others move up
    wait_until(lambda: waiting[0].state != "queued")
    assert waiting[1].place().position == 1 and waiting[2].place().position == 2
    heard: list[Place | None] = []

    def move_line():  # two slots free up while the last in line listens
        for job in (running[1], waiting[0]):
            time.sleep(0.3)
            job.cancel()

    threading.Thread(target=move_line).start()
    assert next(waiting[2].events(on_place=heard.append, poll_s=0.02))[1] == "w2"
    positions = [p.position for p in heard if p is not None]
    assert positions[0] == 2 and positions == sorted(positions, reverse=True) and heard[-1] is None
    for job in waiting:
        job.cancel()


def test_caps_are_per_kind_and_a_full_line_is_refused(pool):
    gen = [pool.submit("gen", HOLD) for _ in range(2)]
    train = [pool.submit("train", HOLD) for _ in range(2)]
    for job in gen + train:
        first_event(job)  # both lanes run at their caps at the same time
    stats = pool.stats()
    assert (stats["gen"].running, stats["train"].running) == (2, 2)
    line = [pool.submit("gen", HOLD) for _ in range(3)]
    with pytest.raises(QueueFull) as info:
        pool.submit("gen", HOLD)
    assert info.value.waiting == 3 and info.value.kind == "gen"
    assert pool.submit("train", HOLD).place().position == 1  # the other lane still queues
    with pytest.raises(QueueFull):
        pool.submit("train", HOLD)
    with pytest.raises(ValueError, match="unknown job kind"):
        pool.submit("nope", HOLD)
    for job in gen + train + line:
        job.cancel()


def test_results_errors_and_events_come_back_in_order(pool):
    job = pool.submit("gen", ECHO, {"items": list(range(20))})
    assert list(job.events(poll_s=0.02)) == list(range(20)) and job.result(5) == list(range(20))
    failing = pool.submit("gen", ECHO, {"items": ["a"], "fail": "bad setting"})
    with pytest.raises(ValueError, match="bad setting"):
        list(failing.events(poll_s=0.02))
    assert failing.state == "failed"
    odd = pool.submit("gen", "tests.jobs.tasks:raise_unpicklable")
    with pytest.raises(Exception, match="x/y"):
        odd.result(15)
    missing = pool.submit("gen", "tests.jobs.tasks:no_such_task")
    with pytest.raises((ValueError, JobError), match="not a function"):
        missing.result(15)


def test_cancel_a_queued_job_and_a_running_one(pool):
    blockers = [pool.submit("gen", HOLD) for _ in range(2)]
    queued = pool.submit("gen", HOLD)
    for job in blockers:
        first_event(job)
    queued.cancel()
    assert queued.state == "cancelled" and queued.place() is None
    with pytest.raises(JobCancelled):
        queued.result(1)
    started = time.monotonic()
    blockers[0].cancel()
    with pytest.raises(JobCancelled):
        blockers[0].result(1)  # the caller hears it at once
    wait_until(lambda: pool.stats()["gen"].running == 1, timeout=5)  # the task returned: its slot is free
    assert time.monotonic() - started < 5
    blockers[1].cancel()


def test_should_stop_and_leaving_the_loop_cancel_the_job(pool):
    blockers = [pool.submit("gen", HOLD) for _ in range(2)]
    streams = [first_event(job)[1] for job in blockers]
    waiting = pool.submit("gen", HOLD)
    stop = {"now": False}
    heard = []

    def on_place(place):
        heard.append(place)
        stop["now"] = True  # a closed tab: the next poll gives up the place

    with pytest.raises(JobCancelled):
        list(waiting.events(on_place=on_place, should_stop=lambda: stop["now"], poll_s=0.02))
    assert heard[0].position == 1 and waiting.state == "cancelled" and pool.stats()["gen"].waiting == 0
    streams[0].close()  # the page stopped following the job (Stop, an exception): it is cancelled
    assert blockers[0].state == "cancelled"
    blockers[1].cancel()


def test_watch_is_per_block():
    assert current_watch().on_place is None
    with watching(on_place=print, should_stop=bool) as outer:
        with watching(should_stop=lambda: True):
            assert current_watch().on_place is None
        assert current_watch() is outer
    assert current_watch().should_stop is None


def test_lane_and_pool_settings_are_validated():
    with pytest.raises(ValueError, match="processes=0"):
        Lane("x", processes=0)
    with pytest.raises(ValueError, match="max_run_s"):
        Lane("x", max_run_s=0)
    with pytest.raises(ValueError, match="distinct kinds"):
        JobPool([Lane("x"), Lane("x")])
    with pytest.raises(ValueError, match="mode"):
        JobPool([Lane("x")], mode="fork")


def test_a_job_over_its_time_limit_is_cancelled():
    pool = JobPool([Lane("gen", max_run_s=0.3)])
    try:
        job = pool.submit("gen", HOLD)
        with pytest.raises(JobCancelled, match="0.3 s limit"):
            job.result(10)
        wait_until(lambda: pool.stats()["gen"].running == 0)
    finally:
        pool.shutdown()


# ------------------------------------------------------------------------------------ process mode only
@pytest.fixture
def procs():
    pool = JobPool(
        [Lane("gen", processes=1, per_process=2), Lane("train", processes=2)], mode="process", kill_after_s=1.0
    )
    yield pool
    pool.shutdown()


def test_jobs_run_in_worker_processes_that_share_one_per_lane(procs):
    a, b = procs.submit("gen", "tests.jobs.tasks:pid"), procs.submit("gen", "tests.jobs.tasks:pid")
    assert a.result(30) == b.result(30) != os.getpid()  # one process serves the lane's jobs (one model copy)
    x, y = procs.submit("train", HOLD), procs.submit("train", HOLD)
    (_, _, px), _ = first_event(x, 30)
    (_, _, py), _ = first_event(y, 30)
    assert px != py  # each training job has a process (a core) of its own
    assert set(procs.worker_pids()) == {a.result(), px, py}
    x.cancel(), y.cancel()


def test_a_crashed_worker_fails_its_job_and_the_lane_recovers(procs):
    job = procs.submit("train", "tests.jobs.tasks:crash")
    with pytest.raises(WorkerCrashed, match="signal 9"):
        list(job.events(poll_s=0.02))
    assert job.state == "failed"
    assert procs.submit("train", ECHO, {"items": [1]}).result(30) == [1]  # a fresh worker took over


def test_a_task_that_ignores_stop_has_its_worker_killed(procs):
    job = procs.submit("train", "tests.jobs.tasks:ignore_stop")
    _, events = first_event(job, 30)
    events.close()
    (pid,) = procs.worker_pids()
    wait_until(lambda: not alive(pid), timeout=10)
    wait_until(lambda: procs.stats()["train"].running == 0)
    assert procs.submit("train", ECHO, {"items": [2]}).result(30) == [2]


def test_no_worker_process_outlives_the_pool_or_its_idle_time():
    pool = JobPool([Lane("gen", processes=2)], mode="process", idle_exit_s=0.5)
    jobs = [pool.submit("gen", HOLD, {"seconds": 0.3}) for _ in range(2)]
    assert [j.result(30) for j in jobs] == ["finished", "finished"]
    pids = pool.worker_pids()
    assert len(pids) == 2
    wait_until(lambda: not pool.worker_pids() and not any(alive(p) for p in pids), timeout=10)  # idle: exited
    job = pool.submit("gen", HOLD)
    first_event(job, 30)
    pids = pool.worker_pids()
    pool.shutdown()
    assert job.state == "cancelled" and not pool.worker_pids()
    assert not any(alive(p) for p in pids)
    with pytest.raises(JobError, match="shut down"):
        pool.submit("gen", HOLD)


def test_arguments_that_cannot_reach_a_worker_are_refused_at_once(procs):
    with pytest.raises(ValueError, match="cannot be sent"):
        procs.submit("gen", ECHO, {"items": [lambda: 1]})


def test_worker_processes_run_at_the_configured_lower_priority():
    pool = JobPool([Lane("gen")], mode="process", nice=5)
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert pool.submit("gen", "tests.jobs.tasks:niceness").result(30) == min(mine + 5, 19)
    finally:
        pool.shutdown()


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores")
def test_worker_processes_run_on_the_cores_given_to_them():
    mine = sorted(os.sched_getaffinity(0))
    pool = JobPool([Lane("gen")], mode="process", worker_cpus=mine[:1])
    try:
        assert pool.submit("gen", "tests.jobs.tasks:affinity").result(30) == mine[:1]
    finally:
        pool.shutdown()
