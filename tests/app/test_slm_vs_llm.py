from __future__ import annotations

from streamlit.testing.v1 import AppTest

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
