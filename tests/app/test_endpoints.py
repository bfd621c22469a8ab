"""OpenAI-compatible servers in the app: the operator's from the environment, a visitor's from the sidebar
(never in the hosted app), answers in the Playground, runs that fan out with progress per server, Home."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui import eval_ui
from tests.app import HOME
from tests.fake_ollama_fixture import fake_ollama  # noqa: F401  (pytest fixture)
from tests.fake_openai import running

ROOT = Path(__file__).resolve().parents[2]
PLAYGROUND, EVALUATION = (str(ROOT / "pages" / f"{p}.py") for p in ("playground", "evaluation"))
MODEL = "qwen2.5-1.5b-instruct"


@pytest.fixture
def fake():
    with running() as server:
        yield server


@pytest.fixture
def operator(fake, monkeypatch):
    """The operator configures the loopback server as endpoint 'fleet', with a key, two requests at once."""
    fake.api_key = "sk-operator"
    monkeypatch.setenv("FLEET_KEY", "sk-operator")
    setting = {"fleet": {"base_url": fake.base_url, "api_key_env": "FLEET_KEY", "max_concurrency": 2}}
    monkeypatch.setenv("SLM_EXPLORER_OPENAI_ENDPOINTS", json.dumps(setting))
    return fake


def sidebar_text(at: AppTest) -> str:
    return "\n".join(str(m.value) for m in [*at.sidebar.markdown, *at.sidebar.caption, *at.sidebar.error])


def test_playground_answers_from_an_operator_endpoint_and_says_where_counts_come_from(operator):
    at = AppTest.from_file(PLAYGROUND, default_timeout=120).run()
    assert not at.exception, at.exception
    model_id = f"openai:fleet/{MODEL}"
    assert model_id in at.multiselect(key="playground.models").options
    at.text_area(key="playground.question").set_value("ECHO: The capital of France is Paris.")
    at.multiselect(key="playground.models").set_value([model_id]).run()
    at.button(key="playground.run").click().run()
    assert not at.exception, at.exception
    shown = "\n".join(str(m.value) for m in [*at.markdown, *at.caption])
    assert "The capital of France is Paris." in shown and "token counts from the server's usage report" in shown
    assert f"**{model_id}**" in shown
    assert {h.get("authorization") for h in operator.headers} == {"Bearer sk-operator"}
    assert "sk-operator" not in sidebar_text(at) and "key set" in sidebar_text(at)


def test_sidebar_editor_adds_checks_and_removes_a_visitors_endpoint(fake, fake_ollama):  # noqa: F811
    at = AppTest.from_file(PLAYGROUND, default_timeout=120)
    at.session_state["playground.host"] = fake_ollama.url
    at.run()
    at.text_input(key="openai.new.name").set_value("mine")
    at.text_input(key="openai.new.url").set_value("file:///etc/passwd")
    at.button(key="openai.add").click().run()
    assert "Not added: base URL 'file:///etc/passwd': scheme 'file' is not supported" in sidebar_text(at)
    at.text_input(key="openai.new.url").set_value(fake.base_url)
    at.text_input(key="openai.new.key").set_value("sk-visitor")
    at.button(key="openai.add").click().run()
    assert not at.exception, at.exception
    assert "**mine**" in sidebar_text(at) and "sk-visitor" not in sidebar_text(at)
    assert at.text_input(key="openai.new.key").value == "", "the key is not kept in the form"
    at.button(key="openai.add_ollama").click().run()
    options = at.multiselect(key="playground.models").options
    assert f"openai:mine/{MODEL}" in options and "openai:ollama-v1/llama3.2:1b" in options
    assert "llama3.2:1b (Ollama)" in options, "the same server through both APIs"
    at.button(key="openai.remove.mine").click().run()
    assert f"openai:mine/{MODEL}" not in at.multiselect(key="playground.models").options


def test_hosted_app_has_no_endpoint_editor_and_hides_the_operators_address(operator, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    at = AppTest.from_file(PLAYGROUND, default_timeout=120).run()
    assert not at.exception, at.exception
    keys = {w.key for w in at.sidebar.text_input}
    assert "openai.new.url" not in keys and "openai.new.name" not in keys
    text = sidebar_text(at)
    assert "only the servers its operator configured" in text and operator.base_url not in text
    assert f"openai:fleet/{MODEL}" in at.multiselect(key="playground.models").options


def test_a_silent_endpoint_does_not_hold_the_page(operator):
    operator.mode = "hang"
    started = time.monotonic()
    at = AppTest.from_file(PLAYGROUND, default_timeout=120).run()
    assert not at.exception, at.exception
    assert time.monotonic() - started < 30  # the listing is cut at 3 s (generous here: a busy test machine)
    notes = " ".join(c.value for c in at.caption)
    assert "OpenAI-compatible server unavailable: endpoint 'fleet' did not list its models within 3 s" in notes


def test_a_broken_endpoints_setting_is_reported_not_a_crash(monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_OPENAI_ENDPOINTS", '{"x": "gopher://host:70"}')
    at = AppTest.from_file(PLAYGROUND, default_timeout=120).run()
    assert not at.exception, at.exception
    assert "SLM_EXPLORER_OPENAI_ENDPOINTS is ignored" in sidebar_text(at) and "gopher" in sidebar_text(at)


def test_an_evaluation_run_fans_out_over_the_endpoint_and_ollama(operator, fake_ollama, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr("slm_lib.eval.runs._default_scorer", lambda: lambda answers, refs: [0.5] * len(answers))
    operator.delay = fake_ollama.delay = 0.05  # answers take a second or two: the page sees the run live
    at = AppTest.from_file(EVALUATION, default_timeout=120)
    at.session_state["ollama.host"] = fake_ollama.url
    at.run()
    models = [f"openai:fleet/{MODEL}", "ollama:llama3.2:1b"]
    at.multiselect(key="eval.models").set_value(models)
    at.multiselect(key="eval.categories").set_value(["Factual QA"])
    at.number_input(key="eval.repeats").set_value(2).run()
    at.button(key="eval.start").click().run()
    assert not at.exception, at.exception
    bars: list[str] = []
    deadline = time.monotonic() + 30
    while not bars and eval_ui.manager().live() and time.monotonic() < deadline:
        bars = [p.text for p in at.get("progress") if p.text]  # the live panel's bars, one per server
        if not bars:
            time.sleep(0.2)
            at.run()
    assert any(t.startswith("**openai:fleet**:") and "(limit 2)" in t for t in bars), bars
    assert any(t.startswith("**ollama**:") and "(limit 1)" in t for t in bars), bars
    lanes = []
    deadline = time.monotonic() + 60
    while eval_ui.manager().live() and time.monotonic() < deadline:
        for run in eval_ui.manager().live().values():
            if run.progress is not None:
                lanes.append(run.progress.lanes)
        time.sleep(0.02)
    assert not eval_ui.manager().live(), "the run did not finish"
    assert lanes and set(lanes[-1]) == {"openai:fleet", "ollama"}
    assert operator.max_in_flight == 2, "the endpoint's max_concurrency is used"
    store = eval_ui.run_store()
    record = store.list_runs()[0]
    rows = store.results(record.id)
    assert record.status == "finished" and len(rows) == 20 and not any(r.error for r in rows)
    first = next(r for r in rows if r.model == models[0])
    assert first.complete and first.answer.startswith(f"{MODEL} answers: Question: {first.question}")
    at.run()
    notebook = next(b for b in at.download_button if b.label == "Colab notebook (.ipynb)")
    assert notebook is not None and not at.exception


def test_home_reports_each_endpoint(operator, monkeypatch):
    monkeypatch.setenv(
        "SLM_EXPLORER_OPENAI_ENDPOINTS",
        json.dumps({"fleet": {"base_url": operator.base_url, "api_key_env": "FLEET_KEY"}, "gone": "127.0.0.1:9"}),
    )
    at = AppTest.from_file(HOME, default_timeout=120).run()
    assert not at.exception, at.exception
    good = " ".join(s.value for s in at.success)
    bad = " ".join(w.value for w in at.warning)
    assert "OpenAI-compatible 'fleet'" in good and "2 model(s)" in good
    assert "OpenAI-compatible 'gone'" in bad and "Nothing answers" in bad
