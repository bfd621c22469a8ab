"""Pruning page: a real (small) pruning run with recovery, the cost table, charts and the sweep."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app_ui import compress_ui
from slm_lib.tiny import EvalConfig

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "pruning.py")


@pytest.fixture(autouse=True)
def quick_measurements(monkeypatch):
    """Score on 4 held-out windows and time 2 characters: the page logic is the same, the run is seconds."""
    monkeypatch.setattr(compress_ui, "EVAL", EvalConfig(max_windows=4))
    monkeypatch.setattr(compress_ui, "LATENCY", {"context": 8, "new_tokens": 2, "repeats": 1})
    monkeypatch.setattr(compress_ui, "SWEEP", (0.0, 0.5, 0.9))
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
