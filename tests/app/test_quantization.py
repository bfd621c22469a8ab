"""Quantization page: the weight-row view follows the widgets; the whole-model table is measured and labelled."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from slm_lib.compress import tasks as lab_tasks
from slm_lib.compress.quantize import LAB_SCHEMES
from slm_lib.tiny import EvalConfig
from tests.app import unescaped

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "quantization.py")


@pytest.fixture(autouse=True)
def quick_measurements(monkeypatch):
    monkeypatch.setattr(lab_tasks, "EVAL", EvalConfig(max_windows=4))
    monkeypatch.setattr(lab_tasks, "LATENCY", {"context": 8, "new_tokens": 2, "repeats": 1})
    st.cache_data.clear()
    yield
    st.cache_data.clear()


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def caption_with(at: AppTest, text: str) -> str:
    return next(c.value for c in at.caption if text in c.value)


def test_row_view_follows_bits_and_granularity():
    at = run_page()
    assert at.title[0].value == "Quantization"
    assert len(at.get("plotly_chart")) == 2
    assert "16 levels per scale (grey lines: the grid)" in caption_with(at, "levels per scale")
    at.slider(key="quant.bits").set_value(8).run()
    assert "256 levels per scale (grid of 256 levels, too fine to draw)" in caption_with(at, "levels per scale")
    at.toggle(key="quant.symmetric").set_value(True)
    at.selectbox(key="quant.granularity").set_value("channel")
    at.slider(key="quant.bits").set_value(3).run()
    assert not at.exception
    assert caption_with(at, "levels per scale").startswith("7 levels per scale")


def test_whole_model_table_measures_every_format_and_says_which_are_simulated():
    at = run_page()
    at.button(key="quant.measure").click().run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value.set_index("format")
    assert list(table.index[: len(LAB_SCHEMES)]) == list(LAB_SCHEMES)
    assert table.index[-1] == "your setting: int4 asym group-32"
    assert table.loc["fp32", "x smaller"] == 1.0
    assert table.loc["int8 per-channel", "x smaller"] >= 3.9
    assert table.loc["int4 group-32", "x smaller"] >= 6.0
    assert "fake-quantized" in table.loc["int4 group-32", "compute"]
    assert table.loc["int8 dynamic (torch.ao)", "compute"] == "real int8 kernels (CPU)"
    assert (table["accuracy"] > 0).all()
    assert len(at.get("plotly_chart")) == 3
    assert "stored KB" in table.columns  # decimal KB, as on every other page
    assert not at.get("progress")  # the progress bar is gone once measured
    assert any(i.value.startswith("Your setting (int4 asym group-32) is 6.8x smaller") for i in at.info)
    radios = [r for r in at.radio if r.key.startswith("quant.quiz.")]
    assert any("int4 asym group-32" in r.label and "would be 8x" in r.label for r in radios)


def test_lesson_link_sets_the_widgets_and_reports_bad_values():
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.query_params.update({"bits": "3", "granularity": "channel", "layer": "no.such.layer", "row": "99999"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider(key="quant.bits").value == 3
    assert at.selectbox(key="quant.granularity").value == "channel"
    warning = unescaped(at.warning[0].value)
    assert "layer = “no.such.layer”" in warning and "row = “99999”" in warning
    assert at.query_params["bits"] == "3"
