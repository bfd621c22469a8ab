from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.catalog.slm_vs_llm import load_comparison
from slm_lib.learn.quiz import Question, shuffled
from tests.app import HOME

PAGE = "app_pages/slm_vs_llm.py"


def run_page() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def test_plain_view_lists_chosen_dimensions_only():
    at = run_page()
    at.multiselect(key="vs.dims").set_value(["size", "cost"]).run()
    table = next(m.value for m in at.markdown if m.value.startswith("| Dimension | SLMs | LLMs |"))
    rows = table.splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == ["| **Size**", "| **Cost**"]  # whole text, wrapped, not cut
    assert not at.dataframe
    assert {e.label for e in at.expander} == {"More on size", "More on cost"}


def test_numbers_view_shows_sources_and_charts():
    at = run_page()
    at.multiselect(key="vs.dims").set_value(["proficiency"]).run()
    at.segmented_control(key="vs.view").set_value("Numbers").run()
    assert not at.exception
    table = next(m.value for m in at.markdown if m.value.startswith("| Model / setting |"))
    rows = table.splitlines()[2:]
    assert any("| MMLU 87.3 (5-shot) |" in r for r in rows)
    assert all(r.rstrip(" |").split(" | ")[-1].startswith("[") for r in rows)  # every source is a link
    assert any("Terms used here" in c.value and "glossary?term=mmlu" in c.value for c in at.caption)
    caption = next(c.value for c in at.caption if "harnesses differ" in c.value)
    assert caption.count("harnesses differ") == 1  # the MMLU caption says it once
    assert len(at.get("plotly_chart")) == 2


def test_quiz_gives_instant_feedback_and_score():
    at = run_page()
    radios = [r for r in at.radio if r.key.startswith("vs.quiz.")]
    radios[0].set_value("About 10 billion").run()
    radios = [r for r in at.radio if r.key.startswith("vs.quiz.")]
    radios[1].set_value("The teacher's training data, copied byte for byte").run()
    assert any("Right." in s.value for s in at.success)
    assert any("Not quite" in e.value for e in at.error)
    assert any(c.value.startswith("1 of 6 right (2 answered)") for c in at.caption)


def test_quiz_options_are_shuffled_per_session():
    quiz = [Question(q.question, q.options, q.answer, q.explanation) for q in load_comparison().quiz]
    orders = []
    for seed in (1, 2):
        at = AppTest.from_file(HOME, default_timeout=60)
        at.session_state["quiz.seed"] = seed  # the shared quiz widget's per-visitor seed
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception
        radios = [r for r in at.radio if r.key.startswith("vs.quiz.")]
        shown = [tuple(r.options) for r in radios]
        assert shown == [shuffled(q, seed).options for q in quiz]
        orders.append(shown)
        right = shuffled(quiz[0], seed)
        radios[0].set_value(right.options[right.answer]).run()
        assert any("Right." in s.value for s in at.success)
    assert orders[0] != orders[1]
    answers = {shuffled(q, seed).answer for seed in range(10) for q in quiz}
    assert answers != {1}  # the right answer is no longer always the second option
