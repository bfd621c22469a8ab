"""Cores for page serving and for workers: the plan, and confining a whole process (in a child process)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from slm_lib.jobs.cpus import CpuPlan, plan_cpus


@pytest.mark.parametrize(
    ("available", "page_cpus", "expected"),
    [
        ({0, 1}, 1, CpuPlan(frozenset({1}), frozenset({0, 1}))),
        ({0, 1, 2, 3}, 2, CpuPlan(frozenset({2, 3}), frozenset({0, 1, 2, 3}))),
        ({4, 7}, 1, CpuPlan(frozenset({7}), frozenset({4, 7}))),  # a container's CPU set, not 0..n-1
        ({0, 1, 2}, 5, CpuPlan(frozenset({1, 2}), frozenset({0, 1, 2}))),  # one core always left to workers
        ({0}, 1, None),
        ({0, 1}, 0, None),
    ],
)
def test_page_serving_gets_the_last_cores_and_workers_may_use_all(available, page_cpus, expected):
    assert plan_cpus(available, page_cpus) == expected


def test_a_negative_number_of_page_cores_is_refused_by_name():
    with pytest.raises(ValueError, match="page_cpus=-1"):
        plan_cpus({0, 1}, -1)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores")
def test_confining_a_process_moves_every_thread_and_sizes_torch_to_match():
    code = textwrap.dedent(
        """
        import os, threading, torch
        from slm_lib.jobs.cpus import confine_this_process
        torch.set_num_threads(2)
        go = threading.Event()
        started = threading.Thread(target=go.wait)
        started.start()
        core = max(os.sched_getaffinity(0))
        confine_this_process({core})
        later = threading.Thread(target=lambda: print("later", sorted(os.sched_getaffinity(0))))
        later.start(); later.join()
        tids = os.listdir("/proc/self/task")
        print("all", sorted({tuple(sorted(os.sched_getaffinity(int(t)))) for t in tids}))
        print("torch", torch.get_num_threads(), core)
        go.set()
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=120).stdout
    core = int(out.split("torch ")[1].split()[1])
    assert f"all [({core},)]" in out  # every thread, the one already running included
    assert f"later [{core}]" in out  # threads started afterwards inherit it
    assert "torch 1 " in out
