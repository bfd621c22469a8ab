"""Issue 11, the safety half: each finding about the public hosted demo, tried as a hostile visitor would.

Finding 1: visitors' runs are private. 2: outside text is inert. 4: a silent server holds no page.
5: templates are checked before work. 6: broken files are recovered. 7: uploads are bounded.
(3, safe exports, is tested in ``tests/eval/test_export.py``; the browser suite repeats 2 in Chromium.)
"""

from __future__ import annotations

import sqlite3
import threading
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui import eval_ui, run_models
from app_ui.loaders import get_checks
from slm_lib.chat import ChatResult, ChatStats
from slm_lib.eval.questions import MAX_FILE_BYTES
from tests.app import HOME, ROOT, settle, unescaped
from tests.fake_ollama import hostile_names
from tests.fake_ollama_fixture import fake_ollama  # noqa: F401  (pytest fixture)
from tests.test_safe_text import assert_inert

EVALUATION = str(ROOT / "app_pages" / "evaluation.py")
PLAYGROUND = str(ROOT / "app_pages" / "playground.py")
GALLERY = str(ROOT / "app_pages" / "gallery.py")
REAL_SLM = str(ROOT / "app_pages" / "real_slm.py")
MARKDOWN_KINDS = ("markdown", "caption", "error", "warning", "info", "success")


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def everything(at: AppTest) -> str:
    """Every element's protobuf text, dataframes included: what this session's browser would receive."""
    parts = []
    for root in (at.main, at.sidebar):
        for node in walk(root):
            proto = getattr(node, "proto", None)
            parts.append(str(proto) if proto is not None else "")
            if node.type == "arrow_data_frame":
                parts.append(node.value.to_csv())
    return "\n".join(parts)


def assert_page_inert(at: AppTest) -> None:
    """Every Markdown the page renders (bodies and labels) re-parses with no image, tag or unsafe link."""
    for kind in MARKDOWN_KINDS:
        for element in at.get(kind):
            assert_inert(element.value, internal=True)
    for node in [*walk(at.main), *walk(at.sidebar)]:
        label = getattr(node, "label", None)
        if isinstance(label, str):
            assert_inert(label, internal=True)


# ---- finding 1: private by default when hosted ----


class GatedDouble:
    """An embedded-backend double whose answers wait for ``gate`` and repeat the reference's secret."""

    kind = "embedded"

    def __init__(self):
        self.gate = threading.Event()

    def list_models(self):
        return ["tiny-double"]

    def chat(self, model, messages, options=None):
        self.gate.wait(20)
        return ChatResult(model, "An answer.", ChatStats(completion_tokens=3, tokens_per_second=30.0))

    def stream_chat(self, model, messages, options=None):
        raise NotImplementedError


@pytest.fixture
def hosted(tmp_path, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    double = GatedDouble()
    monkeypatch.setattr(run_models, "_backend", lambda kind, host: double)
    monkeypatch.setattr(run_models, "model_choices", lambda host: (["embedded:tiny-double"], []))
    monkeypatch.setattr("slm_lib.eval.runs._default_scorer", lambda: lambda a, r: [0.5] * len(a))
    yield double
    double.gate.set()
    deadline = time.monotonic() + 20
    while eval_ui.manager().live() and time.monotonic() < deadline:
        time.sleep(0.05)


def visitor(**query) -> AppTest:
    at = AppTest.from_file(EVALUATION, default_timeout=60)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def test_finding1_hosted_visitors_never_see_each_others_runs_or_uploads(hosted):
    alice = visitor()
    alice.multiselect(key="eval.models").set_value(["embedded:tiny-double"])
    alice.radio(key="eval.source").set_value("Upload CSV or JSON").run()
    upload = b"question,reference\nWhat is ALICE-QUESTION?,ALICE-SECRET-REFERENCE\n"
    alice.file_uploader(key="eval.upload").upload("alice.csv", upload, "text/csv").run()
    alice.button(key="eval.start").click().run()
    assert not alice.exception, alice.exception
    key = alice.session_state["eval.owner"]
    (run_id,) = eval_ui.manager().live(key)
    assert alice.button(key=f"eval.stop.{run_id}"), "Alice sees and can stop her own run"

    bob = visitor()
    assert not bob.exception, bob.exception
    assert bob.session_state["eval.owner"] != key
    seen = everything(bob)
    assert "ALICE" not in seen and f"Run #{run_id}" not in seen
    assert not [b for b in bob.button if b.key and b.key.startswith(("eval.stop.", "eval.resume."))]
    assert any("No runs yet" in i.value for i in bob.info)
    eval_ui.manager().stop(run_id, owner=bob.session_state["eval.owner"])  # what a forged click could do
    assert not eval_ui.manager().live(key)[run_id].stop.is_set()

    hosted.gate.set()
    deadline = time.monotonic() + 20
    while eval_ui.manager().live() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert eval_ui.run_store().get_run(run_id).status == "finished"
    bob.run()
    assert "ALICE" not in everything(bob) and not bob.download_button, "nothing of Alice's to download"
    alice.run()
    assert {b.label for b in alice.download_button} >= {"Answers (CSV)"} and "SECRET" in everything(alice)

    again = visitor(runs=key)  # Alice's private link (a refresh or a bookmark) finds her runs again
    assert again.session_state["eval.owner"] == key and "SECRET" in everything(again)
    forged = visitor(runs="' OR 1=1 --")  # not a key: a fresh, empty one instead
    assert forged.session_state["eval.owner"] != "' OR 1=1 --" and "ALICE" not in everything(forged)


def test_finding1_local_app_keeps_one_user_and_full_history(tmp_path, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    store = eval_ui.run_store()
    from slm_lib.eval.config import RunConfig
    from slm_lib.eval.questions import QuestionItem

    run_id = store.create_run(RunConfig(models=("embedded:x",), questions=(QuestionItem("q", "LOCAL-REF"),)))
    at = visitor()
    assert "eval.owner" not in at.session_state
    assert "runs" not in at.query_params and f"#{run_id}" in everything(at)


# ---- finding 2: outside text is inert everywhere ----


def test_finding2_hostile_model_names_on_home_are_inert(fake_ollama):  # noqa: F811
    fake_ollama.mode = "hostile"
    at = AppTest.from_file(HOME, default_timeout=60)
    at.session_state["ollama.host"] = fake_ollama.url
    settle(at)
    assert not at.exception, at.exception
    models = [c.value for c in at.caption if c.value.startswith("Models:")]
    assert any("[Log in again](http://127.0.0.1:9/login)" in unescaped(m) for m in models), "shown as text"
    assert_page_inert(at)


def test_finding2_hostile_names_answers_and_errors_in_the_playground_are_inert(fake_ollama):  # noqa: F811
    fake_ollama.mode = "hostile"
    at = AppTest.from_file(PLAYGROUND, default_timeout=120)
    at.session_state["playground.host"] = fake_ollama.url
    settle(at)
    chosen = [f"ollama:{name}" for name in hostile_names(fake_ollama.attacker)]
    at.multiselect(key="playground.models").set_value(chosen).run()
    at.button(key="playground.run").click().run()
    assert not at.exception, at.exception
    assert any("model failed" in unescaped(e.value) for e in at.error), "the hostile error body is shown, inert"
    shown = "\n".join(m.value for m in at.markdown)
    assert "after\\-longer\\-fence" in shown or "after-longer-fence" in shown
    assert_page_inert(at)


def test_finding2_hostile_names_and_stored_rows_in_evaluation_are_inert(fake_ollama, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr("slm_lib.eval.runs._default_scorer", lambda: lambda a, r: [0.5] * len(a))
    fake_ollama.mode = "hostile"
    at = AppTest.from_file(EVALUATION, default_timeout=120)
    at.session_state["ollama.host"] = fake_ollama.url
    settle(at)
    chosen = [f"ollama:{name}" for name in hostile_names(fake_ollama.attacker)[:2]] + [
        f"ollama:{hostile_names(fake_ollama.attacker)[3]}"
    ]
    at.multiselect(key="eval.models").set_value(chosen)
    at.multiselect(key="eval.categories").set_value(["Translation"]).run()
    at.button(key="eval.start").click().run()
    deadline = time.monotonic() + 60
    while eval_ui.manager().live() and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert not at.exception, at.exception
    assert any("similarity" in m.value for m in at.markdown), "answers are read back and shown"
    assert_page_inert(at)


@pytest.mark.parametrize(
    "value",
    ["![x](http://127.0.0.1:9/q.png)", "[Log in again](http://127.0.0.1:9/login)", "<img src=x onerror=alert(1)>"],
)
def test_finding2_hostile_url_values_are_inert(value):
    at = AppTest.from_file(GALLERY, default_timeout=60)
    at.query_params["model"] = value
    at.run()
    assert not at.exception and at.error
    assert value in unescaped(at.error[0].value)
    assert_page_inert(at)


@pytest.mark.parametrize(("param", "value"), [("fit", "nan"), ("fit", "1e999"), ("ctx", "0"), ("ctx", "9e99")])
def test_finding2_out_of_range_url_numbers_fall_back_to_defaults(param, value):
    at = AppTest.from_file(GALLERY, default_timeout=60)
    at.query_params[param] = value
    at.run()
    assert not at.exception, at.exception


# ---- finding 4: a silent server never holds a page ----


@pytest.mark.parametrize(("page", "key"), [(PLAYGROUND, "playground.host"), (EVALUATION, "ollama.host")])
def test_finding4_silent_ollama_server_pages_render_at_once_and_say_still_checking(fake_ollama, page, key):  # noqa: F811
    fake_ollama.mode = "hang"
    get_checks().forget()
    at = AppTest.from_file(page, default_timeout=60)
    at.session_state[key] = fake_ollama.url
    at.run()
    assert not at.exception, at.exception
    assert at.title, "the page rendered"
    pending = [i.value for i in at.info if "Still checking" in i.value]
    assert pending, "the page says what it is still checking"
    assert any(not p.done for p in get_checks()._probes.values()), "the page finished before the server answered"
    assert get_checks().wait(30)
    at.run()
    shown = " ".join(unescaped(e.value) for e in [*at.warning, *at.caption, *at.sidebar.warning])
    assert "did not answer within 5 s" in shown


# ---- finding 5: validation before work ----


@pytest.mark.parametrize("template", ["{question:d}", "{question!r}", "{question:>50000000}"])
def test_finding5_template_with_a_format_spec_is_refused_before_start(tmp_path, monkeypatch, template):
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr(run_models, "model_choices", lambda host: (["embedded:tiny-double"], []))
    at = AppTest.from_file(EVALUATION, default_timeout=60).run()
    at.multiselect(key="eval.models").set_value(["embedded:tiny-double"])
    at.text_area(key="eval.template").set_value(template).run()
    assert any("may only use {question} as is" in unescaped(e.value) for e in at.error)
    assert at.button(key="eval.start").disabled


# ---- finding 6: broken files are recovered ----


def test_finding6_corrupted_run_database_is_set_aside_and_the_page_works(tmp_path, monkeypatch):
    from slm_lib.eval.store import RunStore
    from tests.eval.test_store import CONFIG, _corrupt_one_page, result

    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    first = RunStore(tmp_path / "runs.sqlite3")
    for _ in range(20):
        first.add_result(result(first.create_run(CONFIG), answer="z" * 3_000))
    first._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    first.close()
    _corrupt_one_page(tmp_path / "runs.sqlite3")
    at = AppTest.from_file(EVALUATION, default_timeout=60).run()
    assert not at.exception, at.exception
    warning = " ".join(unescaped(w.value) for w in at.warning)
    assert "run database was damaged" in warning and "runs.sqlite3.corrupt-" in warning
    assert list(tmp_path.glob("runs.sqlite3.corrupt-*")), "kept for inspection"


def test_finding6_database_damaged_while_the_page_runs_is_recovered(tmp_path, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    at = AppTest.from_file(EVALUATION, default_timeout=60).run()
    store = eval_ui.run_store()
    real, calls = store.list_runs, []

    def damaged_once(owner=None):
        calls.append(owner)
        if len(calls) == 1:
            raise sqlite3.DatabaseError("database disk image is malformed")
        return real(owner)

    monkeypatch.setattr(store, "list_runs", damaged_once)
    at.run()
    assert not at.exception, at.exception
    assert list(tmp_path.glob("runs.sqlite3.corrupt-*")), "set aside"
    assert any("damaged" in unescaped(w.value) for w in at.warning), "and the page says so"


def test_finding6_read_only_cache_does_not_break_the_real_slm_page(tmp_path, monkeypatch):
    from slm_lib import settings

    locked = tmp_path / "locked-cache"
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(locked))
    monkeypatch.setattr(settings.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    real = settings._writable
    monkeypatch.setattr(settings, "_writable", lambda folder: folder != locked and real(folder))
    at = AppTest.from_file(REAL_SLM, default_timeout=60).run()
    assert not at.exception, at.exception
    assert any("cannot be written" in unescaped(w.value) for w in at.warning)


# ---- finding 7: uploads ----


def test_finding7_upload_limit_is_small():
    config = tomllib.loads((Path(ROOT) / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] <= 1  # MB; Streamlit's default is 200


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("big.json", b"[" + b" " * (MAX_FILE_BYTES + 10) + b"]", "the limit is"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested 100,000 levels deep"),
        ("digits.json", b'[{"question": "q", "reference": "r", "n": ' + b"7" * 5_000 + b"}]", "5,000 characters"),
        ("half.json", b'[{"question": "\\ud800", "reference": "r"}]', "\\ud800"),
    ],
)
def test_finding7_hostile_uploads_get_a_clear_message_and_start_stays_off(tmp_path, monkeypatch, name, data, words):
    monkeypatch.setenv("SLM_EXPLORER_DATA", str(tmp_path))
    monkeypatch.setattr(run_models, "model_choices", lambda host: (["embedded:tiny-double"], []))
    at = AppTest.from_file(EVALUATION, default_timeout=60).run()
    at.multiselect(key="eval.models").set_value(["embedded:tiny-double"])
    at.radio(key="eval.source").set_value("Upload CSV or JSON").run()
    at.file_uploader(key="eval.upload").upload(name, data, "application/json").run()
    assert not at.exception, at.exception
    assert any(words in unescaped(e.value) for e in at.error), [e.value for e in at.error]
    assert at.button(key="eval.start").disabled
