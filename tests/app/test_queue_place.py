"""A visitor over the generation or training cap waits in line and is told their place, then gets the result."""

from __future__ import annotations

import threading
import time

import pytest
from streamlit.testing.v1 import AppTest

from app_ui import jobs_ui
from app_ui.loaders import get_job_pool
from slm_lib import settings
from slm_lib.backends import ollama
from slm_lib.jobs import TRAIN
from tests import fake_ollama_fixture
from tests.app import ROOT, unescaped
from tests.fake_ollama import HYPOTENUSE

fake_ollama = fake_ollama_fixture.fake_ollama


def release_when(someone_waits, release, hold_s: float = 1.5, timeout_s: float = 240) -> None:
    """In the background: once a visitor waits in line, keep them waiting ``hold_s`` seconds, then free the slots."""

    def watch():
        end = time.monotonic() + timeout_s
        while not someone_waits() and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(hold_s)
        release()

    threading.Thread(target=watch, daemon=True).start()


@pytest.fixture
def told(monkeypatch):
    """Every place text a page showed, with the time it was shown."""
    shown: list[tuple[float, str]] = []
    original = jobs_ui.place_text

    def record(place):
        text = original(place)
        shown.append((time.monotonic(), text))
        return text

    monkeypatch.setattr(jobs_ui, "place_text", record)
    return shown


def test_a_playground_visitor_over_the_generation_cap_is_told_their_place(fake_ollama, told):
    gate = ollama._gate(settings.limits().max_concurrent_generations)
    for _ in range(gate.cap):  # other visitors hold every generation slot
        assert gate.acquire(timeout=0)
    release_when(lambda: gate._line, lambda: [gate.release() for _ in range(gate.cap)])
    at = AppTest.from_file(str(ROOT / "app_pages" / "playground.py"), default_timeout=120)
    at.session_state["playground.host"] = fake_ollama.url
    at.run()
    at.multiselect(key="playground.models").set_value(["ollama:llama3.2:1b"]).run()
    clicked = time.monotonic()
    at.button(key="playground.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert told, "the waiting visitor was never told their place"
    first_at, first = told[0]
    assert first_at - clicked < 2.0
    assert "In line: you are 1st" in first and "you are next" in first and "Ollama answers" in first
    assert "Stop" in first and f"{gate.cap} of at most {gate.cap}" in first
    answers = "\n".join(unescaped(str(m.value)) for m in at.markdown)  # outside text arrives escaped
    assert HYPOTENUSE["llama3.2:1b"] in answers  # then the answer came
    assert gate.held == 0


def test_a_distillation_visitor_over_the_training_cap_waits_then_trains(told):
    pool = get_job_pool()
    cap = pool.lanes[TRAIN].cap
    others = [pool.submit(TRAIN, "tests.jobs.tasks:hold", {"seconds": 600}) for _ in range(cap)]
    release_when(lambda: pool.stats()[TRAIN].waiting, lambda: [job.cancel() for job in others])
    at = AppTest.from_file(str(ROOT / "app_pages" / "distillation.py"), default_timeout=300).run()
    at.select_slider(key="distill.transfer").set_value(10_000)
    at.slider(key="distill.steps").set_value(10)
    at.button(key="distill.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert all(job.state == "cancelled" for job in others)
    assert told and "In line: you are 1st" in told[0][1] and "training runs" in told[0][1]
    assert at.session_state["distill.result"].steps_done == 10
    assert not [i.value for i in at.info if "In line" in i.value]  # the place message is gone once it ran
