"""Compare: facts side by side with sources, a benchmark chart from card scores, clear messages."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

PAGE = "../../pages/model_compare.py"


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
    assert "Its parameter count is not published, so its memory cannot be estimated." in facts  # GPT-4
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
    assert "Its maximum context is 8,192 tokens, below the 100,000 you asked for." in _facts(at)


def test_quantization_survives_dropping_below_two_models_and_lives_in_the_url():
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox(key="compare.quant").set_value("q8_0").run()
    at.multiselect(key="compare.models").set_value(["llama-3.2-3b"]).run()
    assert at.selectbox(key="compare.quant").value == "q8_0"
    at.multiselect(key="compare.models").set_value(["llama-3.2-3b", "qwen2.5-7b"]).run()
    assert not at.exception
    assert at.selectbox(key="compare.quant").value == "q8_0"
    assert any(c.value.startswith("Memory at q8_0 with a context of 4,096 tokens") for c in at.caption)
    assert "Needs about" in _facts(at) and "at q8_0" in _facts(at)  # caption and numbers agree
    assert at.query_params["quant"] == "q8_0" and at.query_params["models"] == "llama-3.2-3b,qwen2.5-7b"


def test_a_link_reproduces_the_comparison_and_bad_values_fall_back():
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params["models"] = "qwen2.5-7b,phi-4-mini,no-such-model"
    at.query_params["quant"] = "q2_K"
    at.query_params["ctx"] = "8192"
    at.run()
    assert not at.exception
    assert at.multiselect(key="compare.models").value == ["qwen2.5-7b", "phi-4-mini"]
    assert at.selectbox(key="compare.quant").value == "q2_K" and at.number_input(key="compare.ctx").value == 8192
    assert "| fact | Qwen2.5-7B | Phi-4-mini-instruct |" in _facts(at)
    bad = AppTest.from_file(PAGE, default_timeout=60)
    bad.query_params["models"] = "nope"
    bad.query_params["quant"] = "q3_banana"
    bad.run()
    assert not bad.exception
    assert bad.multiselect(key="compare.models").value == ["llama-3.2-3b", "phi-3.5-mini", "gemma-2-2b"]
    assert bad.selectbox(key="compare.quant").value == "q4_K_M"
