"""Which cores serve pages and which run model work, when model work runs in worker processes.

The interpreter that serves pages runs Python under one lock, so it never uses much more than one core; left
free to move, its threads land on every core and take turns with the training and generation workers there.
Confining it to a core of its own (``page_cpus``) leaves the other cores wholly to the workers while pages
stay as fast: a training is then barely slowed by visitors browsing. The workers may still use the page
core, at their lower priority (``nice``), whenever pages leave it idle.

Example:
    >>> plan_cpus({0, 1, 2, 3}, page_cpus=1)
    CpuPlan(pages=frozenset({3}), workers=frozenset({0, 1, 2, 3}))
    >>> plan_cpus({0}, page_cpus=1) is None  # one core: nothing to split
    True
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["CpuPlan", "available_cpus", "confine_this_process", "plan_cpus"]


@dataclass(frozen=True)
class CpuPlan:
    """``pages``: the cores the page-serving process is confined to; ``workers``: the cores workers may use."""

    pages: frozenset[int]
    workers: frozenset[int]


def available_cpus() -> frozenset[int]:
    """The cores this process may run on (a container's CPU set, not the host's core count)."""
    if hasattr(os, "sched_getaffinity"):
        return frozenset(os.sched_getaffinity(0))
    return frozenset(range(os.cpu_count() or 1))


def plan_cpus(available: Iterable[int], page_cpus: int) -> CpuPlan | None:
    """Give page serving the last ``page_cpus`` of ``available`` cores; ``None`` when there is nothing to split.

    Args:
        available: the cores this process may use.
        page_cpus: cores for page serving (0: no split). At least one core always stays outside it.

    Returns:
        The plan, or ``None`` with fewer than two cores or ``page_cpus`` 0.
    """
    cores = sorted(set(available))
    if page_cpus < 0:
        raise ValueError(f"page_cpus={page_cpus} must be >= 0")
    if page_cpus == 0 or len(cores) < 2:
        return None
    pages = cores[-min(page_cpus, len(cores) - 1) :]
    return CpuPlan(pages=frozenset(pages), workers=frozenset(cores))


def confine_this_process(cpus: Iterable[int]) -> None:
    """Confine every thread of this process to ``cpus``, and torch to as many intra-op threads.

    Threads started later inherit the mask from the thread that starts them. Torch's thread pool is sized
    down with it: more compute threads than cores spin against each other.
    """
    cores = set(cpus)
    if not hasattr(os, "sched_setaffinity"):
        return  # not Linux: the scheduler decides
    try:
        tids = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tids = [0]  # the calling thread only
    for tid in tids:
        try:
            os.sched_setaffinity(tid, cores)
        except OSError:
            continue  # a thread that just ended
    os.environ["OMP_NUM_THREADS"] = str(len(cores))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(len(cores))
