"""Compare: facts side by side with sources, a benchmark chart from card scores, clear messages."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

PAGE = "../../app_pages/model_compare.py"


def _facts(at: AppTest) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("| fact |"))


def test_default_compare_shows_sourced_facts_and_chart():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    facts = _facts(at)
    assert "| fact | Llama 3.2 3B Instruct | Phi-3.5-mini-instruct | Gemma 2 2B |" in facts
    assert "3.21 billion [github.com]" in facts  # value followed by its source link
    assert "`ollama pull gemma2:2b`" in facts
    assert len(at.get("plotly_chart")) == 2


def test_pick_models_changes_columns_and_chart_uses_their_scores():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.multiselect(key="compare.models").set_value(["qwen2.5-7b", "gpt-4"]).run()
    assert not at.exception
    facts = _facts(at)
    assert "| fact | Qwen2.5-7B | GPT-4 |" in facts
    assert "parameter count is not published" in facts  # GPT-4's memory cannot be estimated
    at.multiselect(key="compare.benchmarks").set_value(["MMLU"]).run()
    chart = at.get("plotly_chart")[0].proto.spec
    assert '"y":[74.2]' in chart.replace(" ", "") and '"y":[86.4]' in chart.replace(" ", "")


def test_one_model_asks_for_another_and_long_context_is_explained():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.multiselect(key="compare.models").set_value(["llama-3.2-3b"]).run()
    assert not at.exception and "at least two" in at.info[0].value
    at.multiselect(key="compare.models").set_value(["llama-3.2-3b", "gemma-2-2b"]).run()
    at.number_input(key="compare.ctx").set_value(100_000).run()
    assert not at.exception
    assert "above Gemma 2 2B's maximum of 8,192" in _facts(at)
