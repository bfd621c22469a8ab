"""The playground page, driven by AppTest against the loopback fake Ollama."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests import fake_ollama_fixture
from tests.app import settle, unescaped
from tests.fake_ollama import HYPOTENUSE
from tests.test_safe_text import assert_inert

fake_ollama = fake_ollama_fixture.fake_ollama  # the loopback fake Ollama fixture

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "playground.py")
TWO = ["ollama:llama3.2:1b", "ollama:qwen2:1.5b"]


def page(host: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    if host is not None:
        at.session_state["playground.host"] = host
    return settle(at)


def compare(at: AppTest, models: list[str], **values: str) -> AppTest:
    for key, value in values.items():
        at.text_area(key=f"playground.{key}").set_value(value)
    at.multiselect(key="playground.models").set_value(models).run()
    return at.button(key="playground.run").click().run()


def chat_requests(fake) -> list[dict]:
    return [body for _, path, body in fake.requests if path == "/api/chat"]


def texts(elements) -> str:
    """The elements' text as it reads on the page (outside text arrives escaped by the sanitizer)."""
    return "\n".join(unescaped(str(e.value)) for e in elements)


def test_dead_ollama_is_a_clear_message_and_the_page_still_works():
    at = page()  # conftest points OLLAMA_HOST at a closed loopback port
    assert not at.exception, at.exception
    assert at.title[0].value == "Playground"
    assert "not reachable" in texts(at.sidebar.warning)
    assert at.text_area(key="playground.question").value.startswith("What is the length of hypotenuse")
    assert at.text_area(key="playground.template").value == "Question: {question}\n\nAnswer: Let's think step by step."


def test_installed_models_listed_with_size_and_quantization(fake_ollama):
    at = page(fake_ollama.url)
    assert not at.exception, at.exception
    table = at.sidebar.dataframe[0].value
    assert list(table["model"]) == ["llama3.2:1b", "qwen2:1.5b"]
    assert list(table["quantization"]) == ["Q8_0", "Q4_0"]
    assert list(table["size (GB)"]) == [1.32, 0.93]
    assert {"llama3.2:1b (Ollama)", "qwen2:1.5b (Ollama)"} <= set(at.multiselect(key="playground.models").options)


def test_full_comparison_streams_stats_and_scores(fake_ollama):
    at = compare(page(fake_ollama.url), TWO)
    assert not at.exception, at.exception
    body = texts(at.markdown)
    assert HYPOTENUSE["llama3.2:1b"] in body and HYPOTENUSE["qwen2:1.5b"] in body
    stats = texts(at.caption)
    assert "50.0 tokens/s" in stats and "80.0 tokens/s" in stats and "TTFT" in stats
    assert [m.label for m in at.metric] == ["Overall", "Similarity to reference"] * 2  # both scores per answer
    llama_overall, llama, qwen_overall, qwen = (float(m.value) for m in at.metric)
    assert llama > qwen and llama_overall > qwen_overall  # the Pythagoras answer is closer to the reference
    assert "Flags are hints" in stats
    assert "Why this score: words covered, missed, unsupported" in [e.label for e in at.expander]
    assert len(at.get("plotly_chart")) == 2  # pairwise heatmap + quality-vs-speed scatter
    sent = chat_requests(fake_ollama)
    assert [b["model"] for b in sent] == ["llama3.2:1b", "qwen2:1.5b"]
    assert sent[0]["messages"][-1]["content"].endswith("Answer: Let's think step by step.")
    code = texts(at.code)
    assert "ollama.Client(host=" in code and "ChatPromptTemplate.from_template" in code and fake_ollama.url in code


def test_mid_stream_error_marks_incomplete_unscored_and_others_still_work(fake_ollama):
    fake_ollama.model_modes["qwen2:1.5b"] = "mid_stream_error"
    at = compare(page(fake_ollama.url), TWO)
    assert not at.exception, at.exception
    assert "middle of the answer" in texts(at.error)
    assert "Incomplete answer: not scored." in texts(at.warning)
    assert len(at.metric) == 2  # only the complete answer is scored (overall and similarity)


def test_model_not_installed_shows_pull_command(fake_ollama):
    fake_ollama.model_modes["llama3.2:1b"] = "not_found"
    at = compare(page(fake_ollama.url), TWO)
    assert not at.exception, at.exception
    assert "`ollama pull llama3.2:1b`" in texts(at.error)
    assert HYPOTENUSE["qwen2:1.5b"] in texts(at.markdown)


def test_server_going_down_between_listing_and_run(fake_ollama):
    at = page(fake_ollama.url)
    fake_ollama.mode = "busy"
    at = compare(at, TWO[:1])
    assert not at.exception, at.exception
    assert "busy (503" in texts(at.error)


def test_huge_prompt_refused_in_python_without_a_model_call(fake_ollama):
    at = compare(page(fake_ollama.url), TWO, question="x" * 1_000_000)  # around the widget's max_chars
    assert not at.exception, at.exception
    assert "characters; this app allows" in texts(at.error)
    assert chat_requests(fake_ollama) == []


def test_bad_template_and_empty_question_refused(fake_ollama):
    at = compare(page(fake_ollama.url), TWO, template="Tell me: {topic}")
    assert "may only use {question}" in texts(at.error)
    at = compare(page(fake_ollama.url), TWO, question="  \n ")
    assert "question is empty" in texts(at.error)
    assert chat_requests(fake_ollama) == []


def test_untrusted_output_is_neutralised(fake_ollama):
    evil = "ECHO: ![x](http://evil.example/p.png) <script>alert(1)</script> [a](data:text/html,hi) [j](javascript:x)"
    at = compare(page(fake_ollama.url), TWO[:1], question=evil, reference="")
    assert not at.exception, at.exception
    for element in at.markdown:
        assert_inert(element.value)  # re-parsed as CommonMark: no tag, no image, only http(s) links
    raw = "\n".join(m.value for m in at.markdown)
    assert "\\<script\\>" in raw and "[🖼 x](<http://evil.example/p.png>)" in raw
    assert "<script>alert(1)</script>" in texts(at.markdown)  # shown as text
    assert "image(s) not loaded" in texts(at.caption)
    assert len(at.metric) == 0  # no reference: nothing scored


def test_bad_host_value_is_rejected_clearly():
    at = page("file:///etc/passwd")
    assert not at.exception, at.exception
    assert "scheme 'file' is not supported" in texts(at.sidebar.error)


def test_one_click_pull_with_progress(fake_ollama):
    at = page(fake_ollama.url)
    at.button(key="playground.pull.gemma2:2b").click().run()
    assert not at.exception, at.exception
    assert "gemma2:2b is installed." in texts(at.success)
    assert "gemma2:2b" in fake_ollama.installed
    at.run()
    assert "gemma2:2b (Ollama)" in at.multiselect(key="playground.models").options


def test_hosted_mode_has_no_host_field_and_no_pulls(fake_ollama, monkeypatch):
    monkeypatch.setenv("SLM_EXPLORER_HOSTED", "1")
    monkeypatch.setenv("OLLAMA_HOST", fake_ollama.url)
    at = page()
    assert not at.exception, at.exception
    assert not [w for w in at.sidebar.text_input if w.key == "playground.host"]
    assert not [b for b in at.button if b.key and b.key.startswith("playground.pull.")]
    assert "hosted mode" in texts(at.sidebar.caption)
    at = compare(at, TWO[:1])
    assert HYPOTENUSE["llama3.2:1b"] in texts(at.markdown)
    assert fake_ollama.url not in texts(at.code)  # the internal address is not shown to the public


def test_two_answers_diff_word_by_word_and_a_judge_verdict_sits_beside_the_scores(fake_ollama):
    at = compare(page(fake_ollama.url), TWO)
    assert at.selectbox(key="playground.diff.a").value == "ollama:llama3.2:1b"
    assert at.selectbox(key="playground.diff.b").value == "ollama:qwen2:1.5b"
    diff = texts(at.markdown)
    assert ":red-background[~~" in diff and ":green-background[" in diff
    scores_before = [m.value for m in at.metric]
    at.selectbox(key="playground.judge.model").set_value("ollama:llama3.2:1b").run()
    at.button(key="playground.judge.run").click().run()
    assert not at.exception, at.exception
    verdicts = [c for c in texts(at.caption).splitlines() if c.startswith("Judge ollama") and "llama3" in c]
    assert len(verdicts) == 2  # one per answer; the canned reply has no VERDICT line, so it is unclear
    assert all("unclear" in v for v in verdicts)
    assert [m.value for m in at.metric] == scores_before, "the verdict never changes the local scores"
    judged = [b for b in chat_requests(fake_ollama) if b["messages"][0]["role"] == "system"]
    assert len(judged) == 2 and "VERDICT:" in judged[0]["messages"][0]["content"]
