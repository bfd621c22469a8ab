from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.catalog.slm_vs_llm import load_comparison, shuffle_quiz
from tests.app import HOME

PAGE = "pages/slm_vs_llm.py"


def run_page() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def test_plain_view_lists_chosen_dimensions_only():
    at = run_page()
    at.multiselect(key="vs.dims").set_value(["size", "cost"]).run()
    table = at.dataframe[0].value
    assert list(table["Dimension"]) == ["Size", "Cost"]
    assert {e.label for e in at.expander} == {"More on size", "More on cost"}


def test_numbers_view_shows_sources_and_charts():
    at = run_page()
    at.multiselect(key="vs.dims").set_value(["proficiency"]).run()
    at.segmented_control(key="vs.view").set_value("Numbers").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert "MMLU 87.3 (5-shot)" in set(table["Figure"])
    assert all(str(s).startswith("http") for s in table["Source"])
    assert len(at.get("plotly_chart")) == 2


def test_quiz_gives_instant_feedback_and_score():
    at = run_page()
    at.radio(key="vs.quiz.0").set_value("About 10 billion").run()
    at.radio(key="vs.quiz.1").set_value("The teacher's training data, copied byte for byte").run()
    assert any("Right." in s.value for s in at.success)
    assert any("Not quite." in e.value for e in at.error)
    assert at.metric[0].value.startswith("1 /")


def test_quiz_options_are_shuffled_per_session():
    quiz = load_comparison().quiz
    orders = []
    for seed in (1, 2):
        at = AppTest.from_file(HOME, default_timeout=60)
        at.session_state["vs.quiz.seed"] = seed
        at.run()
        at.switch_page(PAGE).run()
        assert not at.exception
        shown = [tuple(at.radio(key=f"vs.quiz.{i}").options) for i in range(len(quiz))]
        assert shown == [q.options for q in shuffle_quiz(quiz, seed)]
        orders.append(shown)
        right = shuffle_quiz(quiz, seed)[0]
        at.radio(key="vs.quiz.0").set_value(right.options[right.answer]).run()
        assert any("Right." in s.value for s in at.success)
    assert orders[0] != orders[1]
    answers = {q.answer for seed in range(10) for q in shuffle_quiz(quiz, seed)}
    assert answers != {1}  # the right answer is no longer always the second option
