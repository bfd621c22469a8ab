"""Fan-out: lanes run side by side, each at most ``limit`` wide; results reach SQLite from one thread."""

from __future__ import annotations

import threading

import pytest

from slm_lib.chat import ChatResult, ChatStats, Lane
from slm_lib.eval.config import RunConfig
from slm_lib.eval.fanout import FanOut, LaneProgress, lane_for
from slm_lib.eval.questions import QuestionItem
from slm_lib.eval.runs import execute_run
from slm_lib.eval.store import RunStore

QUESTIONS = tuple(QuestionItem(f"Question {i}?", f"answer {i}") for i in range(6))


def scorer(answers, references):
    return [1.0 if r in a else 0.0 for a, r in zip(answers, references, strict=True)]


class Server:
    """A backend double for one server: records how many requests it had in flight at most.

    ``barrier`` (optional) makes each request wait until that many requests are in flight at once,
    across every server sharing it: a dispatcher that does not overlap them breaks it and the answer
    becomes an error.
    """

    def __init__(self, kind, limit=1, barrier=None, lane=True):
        self.kind, self.limit, self.barrier = kind, limit, barrier
        self.in_flight = self.max_in_flight = 0
        self.calls: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        if lane:
            self.lane = lambda model: Lane(f"{kind}-server", self.limit)

    def list_models(self):
        return ["m1", "m2"]

    def chat(self, model, messages, options=None):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.calls.append((model, messages[-1]["content"]))
        try:
            if self.barrier is not None:
                self.barrier.wait(timeout=10)
            question = messages[-1]["content"]
            number = question.split("Question ")[1].split("?")[0]
            return ChatResult(model, f"{model} gives answer {number}", ChatStats(completion_tokens=3))
        finally:
            with self.lock:
                self.in_flight -= 1

    def stream_chat(self, model, messages, options=None):
        raise NotImplementedError


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite3")
    yield s
    s.close()


def test_two_servers_answer_at_the_same_time(store):
    both = threading.Barrier(2)  # each answer waits for one from the other server
    a, b = Server("a", barrier=both), Server("b", barrier=both)
    cfg = RunConfig(models=("a:m1", "b:m1"), questions=QUESTIONS)
    final = execute_run(store, store.create_run(cfg), {"a": a, "b": b}, scorer=scorer)
    assert final.status == "finished" and final.errors == 0, final.model_status
    assert a.max_in_flight == b.max_in_flight == 1, "a laptop-sized lane takes one request at a time"
    assert {name: (p.done, p.total, p.limit) for name, p in final.lanes.items()} == {
        "a-server": (6, 6, 1),
        "b-server": (6, 6, 1),
    }
    assert all(r.score == 1.0 for r in store.results(final.run_id))


def test_a_lane_keeps_exactly_its_limit_in_flight(store):
    three = threading.Barrier(3)
    fleet = Server("vllm", limit=3, barrier=three)
    cfg = RunConfig(models=("vllm:m1", "vllm:m2"), questions=QUESTIONS)  # 12 answers, 4 rounds of 3
    final = execute_run(store, store.create_run(cfg), {"vllm": fleet}, scorer=scorer)
    assert final.errors == 0 and store.count(final.run_id) == 12
    assert fleet.max_in_flight == 3


def test_one_lane_asks_in_run_order_model_after_model(store):
    server = Server("ollama", lane=False)  # no lane(): one lane per kind, one request at a time
    cfg = RunConfig(models=("ollama:m1", "ollama:m2"), questions=QUESTIONS[:2], repeats=2)
    execute_run(store, store.create_run(cfg), {"ollama": server}, scorer=scorer)
    assert [m for m, _ in server.calls] == ["m1"] * 4 + ["m2"] * 4, "a local server keeps one model loaded at a time"
    assert lane_for("ollama:m1", {"ollama": server}) == Lane("ollama", 1)


def test_results_are_written_by_the_run_thread_only(store, monkeypatch):
    writers = set()
    real = store.add_result
    monkeypatch.setattr(store, "add_result", lambda row: writers.add(threading.current_thread().name) or real(row))
    both = threading.Barrier(2)
    cfg = RunConfig(models=("a:m1", "b:m1"), questions=QUESTIONS[:3])
    backends = {"a": Server("a", barrier=both), "b": Server("b", barrier=both)}
    execute_run(store, store.create_run(cfg), backends, scorer=scorer)
    assert writers == {threading.current_thread().name}


def test_stop_mid_fan_out_then_resume_has_no_duplicates(store):
    fleet = Server("vllm", limit=4)
    other = Server("ollama")
    cfg = RunConfig(models=("vllm:m1", "vllm:m2", "ollama:m1"), questions=QUESTIONS, repeats=2)
    run_id = store.create_run(cfg)
    asked = lambda: len(fleet.calls) + len(other.calls)  # noqa: E731
    backends = {"vllm": fleet, "ollama": other}
    first = execute_run(store, run_id, backends, should_stop=lambda: asked() >= 10, scorer=scorer)
    assert first.status == "cancelled" and 10 <= store.count(run_id) < cfg.total_cells
    assert "stopped" in first.model_status.values()
    resumed = execute_run(store, run_id, backends, scorer=scorer)
    rows = store.results(run_id)
    assert resumed.status == "finished" and len(rows) == cfg.total_cells == 36
    assert len({(r.model, r.question_idx, r.repeat) for r in rows}) == 36
    assert asked() == 36, "every cell was asked exactly once over the two sessions"


def test_fan_out_re_raises_a_worker_crash_and_stops_the_others():
    def work(x):
        if x == 2:
            raise RuntimeError("boom")
        return x

    fan = FanOut([(Lane("a", 1), i) for i in range(5)], work)
    with pytest.raises(RuntimeError, match="boom"):
        list(fan.events())
    assert fan.stopped


def test_lane_progress_line_and_bad_limits():
    assert LaneProgress("openai:fleet", 4, 10, 3, 2, 1).line == (
        "3/10 done · 2 in flight (limit 4) · 1 retry when busy"
    )
    with pytest.raises(ValueError, match="limit must be >= 1"):
        FanOut([(Lane("a", 0), 1)], lambda x: x)
