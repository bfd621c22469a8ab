"""Pruning page: a real (small) pruning run with recovery, the cost table, charts and the sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from slm_lib.compress import tasks as lab_tasks
from slm_lib.tiny import EvalConfig
from tests.app import unescaped

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "pruning.py")


@pytest.fixture(autouse=True)
def quick_measurements(monkeypatch):
    """Score on 4 held-out windows and time 2 characters: the page logic is the same, the run is seconds."""
    monkeypatch.setattr(lab_tasks, "EVAL", EvalConfig(max_windows=4))
    monkeypatch.setattr(lab_tasks, "LATENCY", {"context": 8, "new_tokens": 2, "repeats": 1})
    monkeypatch.setattr(lab_tasks, "SWEEP", (0.0, 0.5, 0.9))
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_page_asks_for_a_run_first():
    at = run_page()
    assert at.title[0].value == "Pruning"
    assert any("press **Prune**" in i.value for i in at.info)
    assert any(e.label == "Show the code" for e in at.expander)


def test_unstructured_pruning_with_recovery_reports_honest_costs():
    at = run_page()
    at.selectbox(key="prune.method").set_value("magnitude")
    at.slider(key="prune.sparsity").set_value(0.5)
    at.toggle(key="prune.recover").set_value(True)
    at.slider(key="prune.steps").set_value(5)
    at.button(key="prune.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    teacher, pruned = table.iloc[0], table.iloc[1]
    assert pruned["parameters"] == teacher["parameters"]  # zeros still occupy the dense matrices

    def number(text):
        return float(text.replace(",", "").split()[0])

    assert number(pruned["nonzero"]) < 0.6 * number(teacher["nonzero"])
    assert number(pruned["sparse-encoded bytes"]) < number(pruned["dense bytes"])
    assert any("Recovery: 5 steps" in c.value for c in at.caption)
    assert any("dense matrix multiply" in i.value for i in at.info)
    assert len(at.get("plotly_chart")) == 2  # histogram and mask


def test_structured_pruning_shrinks_the_model_and_sweep_draws_a_curve():
    at = run_page()
    at.selectbox(key="prune.method").set_value("structured")
    at.slider(key="prune.sparsity").set_value(0.3)
    at.toggle(key="prune.recover").set_value(False)
    at.button(key="prune.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    teacher, pruned = (int(table.iloc[i]["parameters"].replace(",", "")) for i in (0, 1))
    assert pruned < 0.8 * teacher
    at.button(key="prune.sweep").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 3


def _prune(at: AppTest, method: str, sparsity: float = 0.5, recover: bool = False) -> AppTest:
    at.selectbox(key="prune.method").set_value(method)
    at.slider(key="prune.sparsity").set_value(sparsity)
    at.toggle(key="prune.recover").set_value(recover)
    at.button(key="prune.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_zeroing_shows_no_parameter_delta_and_explains_the_missing_speed_up():
    at = _prune(run_page(), "magnitude")
    params = next(m for m in at.metric if m.label == "Params physically present")
    assert not params.delta and "direction: NONE" in str(params.proto)  # unchanged: no red "+0"
    assert any("Why no speed-up from zeros" in i.value for i in at.info)
    assert not at.get("progress")  # the progress bar is gone once the run is done
    assert any("turn on the recovery" in i.value for i in at.info)  # what to try next


def test_structured_explains_the_rounding_and_why_it_is_faster():
    at = _prune(run_page(), "structured", 0.3)
    assert any("that is 28% of the pruned layers" in c.value for c in at.caption)
    assert not any("Why no speed-up" in i.value for i in at.info)
    assert any("Why this one is faster" in i.value for i in at.info)


def test_moving_a_slider_marks_the_result_stale():
    at = _prune(run_page(), "magnitude", 0.5)
    assert not at.warning
    at.slider(key="prune.sparsity").set_value(0.7).run()
    assert "You have changed the settings" in unescaped(at.warning[0].value)
    at.button(key="prune.run").click().run()
    assert not at.warning


def test_two_four_sweep_is_drawn_as_points():
    at = _prune(run_page(), "2:4")
    at.button(key="prune.sweep").click().run()
    chart = at.get("plotly_chart")[-1]
    import json

    trace = json.loads(chart.proto.spec)["data"][0]
    assert trace["mode"] == "markers" and len(trace["x"]) == 2
    assert not at.get("progress")  # the sweep's progress bar is gone once it is drawn


def test_lesson_link_sets_the_widgets_and_reports_bad_values():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"method": "structured", "sparsity": "0.7", "steps": "45", "recover": "banana"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="prune.method").value == "structured"
    assert at.slider(key="prune.sparsity").value == 0.7
    assert at.slider(key="prune.steps").value == 45
    assert at.toggle(key="prune.recover").value is True  # the bad value fell back to the default
    assert "recover = “banana” must be 1 or 0" in unescaped(at.warning[0].value)
    assert any("`pruning?method=structured&sparsity=0.7&steps=45`" in c.value for c in at.caption)  # to share
    at.slider(key="prune.sparsity").set_value(0.5).run()  # back to the default: the link gets shorter
    assert any("`pruning?method=structured&steps=45`" in c.value for c in at.caption)


def test_lesson_link_shows_a_result_this_server_already_has():
    first = _prune(run_page(), "global", 0.6)
    assert first.dataframe
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"method": "global", "sparsity": "0.6", "recover": "0"})
    at.run()
    assert not at.exception
    assert at.dataframe and "60% of pruned weights removed" in at.subheader[0].value


def test_page_ends_with_a_quiz_about_the_run():
    at = _prune(run_page(), "magnitude")
    radios = [r for r in at.radio if r.key.startswith("prune.quiz.")]
    assert 3 <= len(radios) <= 5
    assert any("836,199 parameters physically present" in r.label for r in radios)
