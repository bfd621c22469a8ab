"""The Evaluation page: start a run against the loopback Ollama server, stop, resume, history, uploads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui import eval_ui, run_models
from slm_lib.backends.ollama import OllamaBackend
from slm_lib.chat import ChatResult, ChatStats
from slm_lib.eval.config import RunConfig
from slm_lib.eval.questions import load_question_set
from tests.app import scatter_labels_apart, unescaped
from tests.fake_ollama_fixture import fake_ollama  # noqa: F401  (pytest fixture)

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "evaluation.py")


class GatedEmbedded:
    """An embedded-backend double whose answers wait for ``gate`` (to test Stop mid-run)."""

    kind = "embedded"

    def __init__(self):
        self.gate = threading.Event()
        self.gate.set()

    def list_models(self):
        return ["tiny-double"]

    def chat(self, model, messages, options=None):
        self.gate.wait(10)
        return ChatResult(
            model,
            "Canberra is the capital. ![pixel](https://evil.example/p.png) " + messages[-1]["content"][:40],
            ChatStats(completion_tokens=8, total_seconds=0.1, tokens_per_second=80.0),
        )

    def stream_chat(self, model, messages, options=None):
        raise NotImplementedError


@pytest.fixture
def page(tmp_path, monkeypatch, fake_ollama):  # noqa: F811
    """The page with its own database, the fake Ollama server and an embedded double."""
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    embedded = GatedEmbedded()
    ollama = OllamaBackend(host=fake_ollama.url, read_timeout=5, retries=0)

    def backend(kind, host):
        return embedded if kind == "embedded" else ollama

    monkeypatch.setattr(run_models, "_backend", backend)
    monkeypatch.setattr(
        run_models,
        "model_choices",
        lambda host: (["embedded:tiny-double"] + [f"ollama:{m}" for m in ollama.list_models()], []),
    )
    monkeypatch.setattr(
        "slm_lib.eval.runs._default_scorer",
        lambda: (
            lambda a, r: [1.0 if ref.split()[0].lower() in ans.lower() else 0.25 for ans, ref in zip(a, r, strict=True)]
        ),
    )
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["ollama.host"] = fake_ollama.url
    at.embedded = embedded
    at.fake = fake_ollama
    return at


def wait_for_runs(timeout=20):
    deadline = time.monotonic() + timeout
    while eval_ui.manager().live() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not eval_ui.manager().live(), "run did not finish"


def table(at, column):
    """The dataframe shown on the page that has ``column``."""
    frames = [d.value for d in at.dataframe if column in d.value.columns]
    assert frames, f"no table with a {column!r} column"
    return frames[0]


def start_run(at, models, categories=("Factual QA",), **widgets):
    at.run()
    at.multiselect(key="eval.models").set_value(list(models))
    at.multiselect(key="eval.categories").set_value(list(categories))
    for key, value in widgets.items():
        at.text_input(key=f"eval.{key}").set_value(value) if key == "sweep" else at.number_input(
            key=f"eval.{key}"
        ).set_value(value)
    at.run()
    assert not at.exception, at.exception
    at.button(key="eval.start").click().run()
    assert not at.exception, at.exception


def test_page_explains_and_starts_with_an_empty_history(page):
    page.run()
    assert not page.exception
    assert page.title[0].value == "Evaluation runs"
    assert [h.value for h in page.header] == ["New run", "Results", "History"]
    assert page.button(key="eval.start").disabled, "no model chosen yet"
    assert any("No runs yet" in i.value for i in page.info)


def test_a_full_run_fills_the_leaderboard_with_one_model_failing(page):
    page.fake.model_modes["qwen2:1.5b"] = "not_found"  # a model that vanished from the server: 404
    start_run(page, ["ollama:llama3.2:1b", "ollama:qwen2:1.5b", "embedded:tiny-double"], repeats=2)
    wait_for_runs()
    page.run()
    assert not page.exception, page.exception
    store = eval_ui.run_store()
    (record,) = store.list_runs()
    rows = store.results(record.id)
    assert record.status == "finished" and len(rows) == record.config.total_cells == 3 * 5 * 2
    board = table(page, "mean similarity")
    by_model = board.set_index("model")
    assert by_model.loc["qwen2:1.5b (Ollama)", "errors"] == 10
    assert by_model.loc["llama3.2:1b (Ollama)", "errors"] == 0 and by_model.loc["tiny-double (on board)", "errors"] == 0
    assert by_model.loc["tiny-double (on board)", "tokens/s"] == "80.0"  # formatted, not raw floats
    assert by_model.loc["qwen2:1.5b (Ollama)", "mean similarity"] == "–"  # no scored answer: a dash, not None
    assert scatter_labels_apart(page, "Quality vs speed")
    assert all(len(v.split(".")[-1]) == 3 for v in board["stability (spread)"] if v != "–")
    assert {b.label for b in page.download_button} == {
        "Answers (CSV)",
        "Answers (JSON)",
        "Colab notebook (.ipynb)",
    }
    shown = [unescaped(m.value) for m in page.markdown]
    assert "**tiny-double (on board)**" in shown  # labelled as in the playground
    assert {"Overall", "Similarity to reference"} <= {m.label for m in page.metric}, "each answer shows both scores"
    assert "facts flagged" in board.columns and "mean overall" in board.columns
    assert page.button(key=f"eval.backfill.{record.id}"), "answers scored by similarity only can be assessed"
    assert not any("![pixel]" in v for v in shown), "model output must not load images"
    assert any("pixel" in v and "evil.example" in v for v in shown), "the answer is shown, made inert"
    qwen_errors = {r.error for r in rows if r.model == "ollama:qwen2:1.5b"}
    assert len(qwen_errors) == 1 and "ollama pull qwen2:1.5b" in qwen_errors.pop()


def test_stop_then_resume_finishes_the_run(page):
    page.embedded.gate.clear()
    start_run(page, ["embedded:tiny-double"])
    store = eval_ui.run_store()
    (record,) = store.list_runs()
    assert record.id in eval_ui.manager().live()
    page.button(key=f"eval.stop.{record.id}").click().run()
    page.embedded.gate.set()
    wait_for_runs()
    assert store.get_run(record.id).status == "cancelled"
    assert 0 < store.count(record.id) < record.config.total_cells
    page.run()
    page.button(key=f"eval.resume.{record.id}").click().run()
    wait_for_runs()
    assert store.get_run(record.id).status == "finished"
    assert store.count(record.id) == record.config.total_cells


def test_a_run_left_unfinished_by_a_dead_process_can_be_resumed(page):
    store = eval_ui.run_store()
    items = load_question_set()[:2]
    run_id = store.create_run(RunConfig(models=("embedded:tiny-double",), questions=tuple(items)))
    store.set_status(run_id, "running")  # as if the server process had been killed mid-run
    page.run()
    assert any(f"Run #{run_id}" in m.value and "0 of 2" in m.value for m in page.markdown)
    page.button(key=f"eval.resume.{run_id}").click().run()
    wait_for_runs()
    assert store.get_run(run_id).status == "finished" and store.count(run_id) == 2


def test_history_lists_runs_and_compares_two(page):
    start_run(page, ["embedded:tiny-double", "ollama:llama3.2:1b"])
    wait_for_runs()
    start_run(page, ["embedded:tiny-double"], sweep="0, 0.7")
    wait_for_runs()
    page.run()
    assert not page.exception, page.exception
    assert len(table(page, "question set")) == 2
    diffs = table(page, "delta")
    assert set(diffs["model"]) == {"embedded:tiny-double"} and len(diffs) == 5
    assert (diffs["delta"] == 0).all()
    assert any("Quality vs temperature" in str(c.proto.spec) for c in page.get("plotly_chart"))


def test_bad_sweep_and_bad_upload_show_what_to_fix(page):
    page.run()
    page.multiselect(key="eval.models").set_value(["embedded:tiny-double"])
    page.text_input(key="eval.sweep").set_value("0, hot").run()
    assert any("'hot' is not a number" in unescaped(e.value) for e in page.error)
    assert page.button(key="eval.start").disabled
    page.text_input(key="eval.sweep").set_value("").run()
    page.radio(key="eval.source").set_value("Upload CSV or JSON").run()
    page.file_uploader(key="eval.upload").upload("mine.csv", b"question,answer\nq1,r1\nq2,\n", "text/csv").run()
    assert any("Row 3: 'reference' is empty" in unescaped(e.value) for e in page.error), [e.value for e in page.error]
    assert page.button(key="eval.start").disabled
    page.file_uploader(key="eval.upload").upload("mine.csv", b"question,answer\nq1,r1\n", "text/csv").run()
    assert not page.error and not page.button(key="eval.start").disabled


def test_evaluation_uses_the_playgrounds_cached_backends():
    """One SmolLM2 and one generation cap per process: runs reuse the loaders' backend objects."""
    from app_ui import loaders, run_models

    assert run_models._backend("embedded", "") is loaders.get_embedded_backend()
    host = "http://127.0.0.1:9"
    assert run_models._backend("ollama", host) is loaders.get_ollama_backend(host)


def test_one_repeat_says_stability_needs_two_and_models_read_like_the_playground(page):
    page.run()
    options = page.multiselect(key="eval.models")
    assert options.format_func("embedded:tiny-double") == "tiny-double (on board)"
    start_run(page, ["embedded:tiny-double"])
    wait_for_runs()
    page.run()
    board = table(page, "stability (spread)")
    assert list(board["stability (spread)"]) == ["needs 2+ repeats"]
    assert "None" not in board.to_string()


def test_the_form_survives_a_switch_to_another_page_and_back(tmp_path, monkeypatch):
    from tests.app import HOME

    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    at = AppTest.from_file(HOME, default_timeout=120)
    at.run()
    at.switch_page("app_pages/evaluation.py").run()
    at.text_input(key="eval.system").set_value("Answer in one sentence.")
    at.number_input(key="eval.repeats").set_value(3)
    at.text_input(key="eval.sweep").set_value("0, 0.7").run()
    at.switch_page("app_pages/glossary.py").run()
    at.switch_page("app_pages/evaluation.py").run()
    assert not at.exception, at.exception
    assert at.text_input(key="eval.system").value == "Answer in one sentence."
    assert at.number_input(key="eval.repeats").value == 3
    assert at.text_input(key="eval.sweep").value == "0, 0.7"
