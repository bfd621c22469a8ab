"""The distillation page: renders, trains two students from the widgets, caches and reports the run."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.app import ROOT, unescaped

PAGE = str(ROOT / "app_pages" / "distillation.py")


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.selectbox(key="distill.preset").set_value("half")
    at.select_slider(key="distill.transfer").set_value(10_000)
    at.slider(key="distill.steps").set_value(10)
    at.button(key="distill.train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_explains_and_charts_soft_targets():
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception
    assert "distillation" in at.title[0].value.lower()
    assert any("836,199 parameters" in c.value for c in at.caption)
    assert any("48.6% of the teacher" in c.value for c in at.caption)  # the default student is under half
    assert len(at.get("plotly_chart")) == 1
    at.text_input(key="distill.context").set_value("   ").run()
    assert len(at.get("plotly_chart")) == 0
    assert "distill.result" not in at.session_state


def test_training_run_from_widgets_reports_both_students(trained):
    result = trained.session_state["distill.result"]
    assert result.steps_done == 10 and result.config.transfer_chars == 10_000 and result.config.preset == "half"
    assert result.distilled.params < result.teacher.params
    table = trained.dataframe[0].value
    assert list(table["model"]) == ["Teacher", "Distilled student", "Hard-label student"]
    assert any("accuracy points" in m.value for m in trained.markdown)
    assert len(trained.code) >= 3  # teacher and both students wrote samples (plus the code expander)
    assert not trained.error


def test_same_settings_reuse_the_stored_run_and_stop_discards(trained):
    first = trained.session_state["distill.result"]
    trained.button(key="distill.train").click().run()
    assert any("ran before" in i.value for i in trained.info)
    assert trained.session_state["distill.result"] is first
    trained.slider(key="distill.temperature").set_value(4.0).run()
    assert any("not the ones now selected" in w.value for w in trained.warning)  # stale results are marked
    trained.button(key="distill.stop").click().run()
    assert any("Stopped" in w.value for w in trained.warning)
    assert trained.session_state["distill.result"] is first  # a stop never replaces a finished result


def test_results_say_what_they_mean_and_explain_the_samples(trained):
    verdicts = [i.value for i in trained.info if "points" in i.value or "A tie" in i.value]
    assert verdicts and any(word in verdicts[0] for word in ("next", "try", "shrink"))  # what to try next
    assert any("0.8M parameters" in c.value and "spells right" in c.value for c in trained.caption)
    radios = [r for r in trained.radio if r.key.startswith("distill.quiz.")]
    assert 3 <= len(radios) <= 5
    assert any("In your run the distilled student reached" in r.label for r in radios)


def test_lesson_link_sets_the_widgets_and_shows_a_run_the_server_has(trained):
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.query_params.update({"student": "half", "data": "10000", "steps": "10", "T": "2", "alpha": "2.5"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="distill.preset").value == "half"
    assert at.slider(key="distill.steps").value == 10
    assert at.slider(key="distill.alpha").value == 0.9  # out of range: the default, with a note
    assert "alpha = “2.5” must be between 0 and 1" in unescaped(at.warning[0].value)
    at.slider(key="distill.alpha").set_value(0.9).run()
    assert "distill.result" in at.session_state  # the trained fixture's run, found for these settings
    assert at.dataframe


def test_a_timing_gap_between_same_size_students_is_called_noise(trained):
    from dataclasses import replace

    first = trained.session_state["distill.result"]
    slow = replace(first.baseline, ms_per_token=1.4 * first.distilled.ms_per_token)  # 0.93 vs 0.69 ms, as seen
    try:
        trained.session_state["distill.result"] = replace(first, baseline=slow)
        trained.run()
        assert not trained.exception, [e.value for e in trained.exception]
        assert any("timing noise on a shared CPU" in c.value for c in trained.caption)
    finally:
        trained.session_state["distill.result"] = first
