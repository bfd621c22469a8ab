"""The first-come-first-served gate (Ollama answers): places, order, cap, Stop, a full line."""

from __future__ import annotations

import threading
import time

import pytest

from slm_lib.jobs import FifoGate, JobCancelled, QueueFull, Watch


def test_waiters_hear_their_place_and_go_in_arrival_order():
    gate = FifoGate(cap=1, max_waiting=5, kind="ollama")
    assert gate.acquire(timeout=0)
    order, heard = [], {i: [] for i in range(3)}

    def wait(i):
        assert gate.acquire(timeout=10, watch=Watch(on_place=heard[i].append), poll_s=0.01)
        order.append(i)
        time.sleep(0.05)
        gate.release()

    threads = []
    for i in range(3):
        threads.append(threading.Thread(target=wait, args=(i,)))
        threads[-1].start()
        time.sleep(0.1)  # arrive one after another
    gate.release()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2]
    assert [heard[i][0].position for i in range(3)] == [1, 2, 3]
    assert all(heard[i][-1] is None for i in range(3))  # told when their turn came
    assert heard[2][0].running == 1 and heard[2][0].cap == 1 and heard[2][0].kind == "ollama"
    assert gate.held == 0


def test_cap_timeout_stop_and_full_line():
    gate = FifoGate(cap=2, max_waiting=1)
    assert gate.acquire(timeout=0) and gate.acquire(timeout=0)
    assert not gate.acquire(timeout=0)  # full, and no waiting asked for
    assert not gate.acquire(timeout=0.1)  # waited its time
    stop = threading.Event()
    threading.Timer(0.2, stop.set).start()
    with pytest.raises(JobCancelled):
        gate.acquire(timeout=10, watch=Watch(should_stop=stop.is_set), poll_s=0.01)
    waiter = threading.Thread(target=gate.acquire, kwargs={"timeout": 0.5})
    waiter.start()
    time.sleep(0.1)
    with pytest.raises(QueueFull):
        gate.acquire(timeout=5)
    waiter.join()
    gate.release()
    gate.release()
    with pytest.raises(ValueError, match="without a matching"):
        gate.release()


def test_a_failing_on_place_leaves_the_line():
    gate = FifoGate(cap=1)
    gate.acquire()

    def boom(place):
        raise RuntimeError("page stopped")

    with pytest.raises(RuntimeError):
        gate.acquire(timeout=5, watch=Watch(on_place=boom))
    gate.release()
    assert gate.acquire(timeout=0)  # nobody is left in line ahead
