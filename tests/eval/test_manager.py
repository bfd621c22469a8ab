"""Background runs: one thread per run, a cap on runs at once, Stop, and errors kept for the page."""

from __future__ import annotations

import threading
import time

import pytest

from slm_lib import settings
from slm_lib.chat import ChatResult, ChatStats
from slm_lib.eval.config import RunConfig
from slm_lib.eval.manager import RunManager
from slm_lib.eval.questions import QuestionItem
from slm_lib.eval.store import RunStore

QUESTIONS = tuple(QuestionItem(f"Question {i}?", f"Answer {i}.") for i in range(4))


class Gated:
    kind = "test"

    def __init__(self):
        self.gate = threading.Event()

    def list_models(self):
        return ["m"]

    def chat(self, model, messages, options=None):
        self.gate.wait(10)
        return ChatResult(model, "Answer.", ChatStats())

    def stream_chat(self, model, messages, options=None):
        raise NotImplementedError


def wait(manager, timeout=10):
    deadline = time.monotonic() + timeout
    while manager.live() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not manager.live()


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite3")


def scorer(answers, references):
    return [0.5] * len(answers)


@pytest.fixture(autouse=True)
def quick_scorer(monkeypatch):
    monkeypatch.setattr("slm_lib.eval.runs._default_scorer", lambda: scorer)


def test_a_run_executes_in_the_background_and_can_be_stopped(store):
    backend, manager = Gated(), RunManager()
    run_id = store.create_run(RunConfig(models=("test:m",), questions=QUESTIONS))
    manager.start(store, run_id, {"test": backend})
    assert run_id in manager.live()
    with pytest.raises(ValueError, match="already running"):
        manager.start(store, run_id, {"test": backend})
    manager.stop(run_id)
    backend.gate.set()
    wait(manager)
    assert store.get_run(run_id).status == "cancelled" and store.count(run_id) < len(QUESTIONS)


def test_runs_at_once_are_capped_by_the_deployment(store):
    backend, manager = Gated(), RunManager()
    cap = settings.limits().max_concurrent_generations
    ids = [store.create_run(RunConfig(models=("test:m",), questions=QUESTIONS)) for _ in range(cap + 1)]
    for run_id in ids[:cap]:
        manager.start(store, run_id, {"test": backend})
    with pytest.raises(ValueError, match="Too many runs"):
        manager.start(store, ids[-1], {"test": backend})
    backend.gate.set()
    wait(manager)
    assert all(store.get_run(i).status == "finished" for i in ids[:cap])


def test_an_unexpected_failure_is_kept_for_the_page_and_the_run_is_resumable(store):
    manager = RunManager()
    run_id = store.create_run(RunConfig(models=("test:m",), questions=QUESTIONS))
    broken_store = RunStore(store.path)
    broken_store.add_result = None  # a store that fails on the first write
    backend = Gated()
    backend.gate.set()
    manager.start(broken_store, run_id, {"test": backend})
    wait(manager)
    assert "TypeError" in manager.get(run_id).error
    assert store.get_run(run_id).status == "interrupted"


def test_live_runs_and_stop_belong_to_their_owner(store):
    from slm_lib.eval.store import new_owner

    alice, bob = new_owner(), new_owner()
    backend = Gated()
    run_id = store.create_run(RunConfig(models=("test:m",), questions=QUESTIONS), owner=alice)
    manager = RunManager()
    with pytest.raises(KeyError):
        manager.start(store, run_id, {"test": backend}, owner=bob)  # nobody starts or resumes another's run
    manager.start(store, run_id, {"test": backend}, owner=alice)
    assert set(manager.live(alice)) == {run_id} and manager.live(bob) == {} and manager.get(run_id, bob) is None
    manager.stop(run_id, owner=bob)  # ignored: not bob's
    backend.gate.set()
    wait(manager)
    assert store.get_run(run_id).status == "finished"
