"""Charts show exactly the sourced figures they claim to, and say what they leave out."""

import pytest

from slm_lib.catalog.cards import get_card, load_models
from slm_lib.catalog.charts import (
    benchmark_figure,
    memory_breakdown_figure,
    params_vs_mmlu_caption,
    params_vs_mmlu_figure,
    weights_memory_figure,
)
from slm_lib.catalog.memory import memory_table

CARDS = load_models()


def test_params_vs_mmlu_plots_published_points_only():
    fig = params_vs_mmlu_figure(CARDS)
    assert fig.layout.xaxis.type == "log"
    slm, borderline, llm = fig.data
    assert (slm.name, borderline.name, llm.name) == ("SLM", "above the SLM line", "reference LLM")
    points = dict(zip(slm.text, zip(slm.x, slm.y, strict=True), strict=True))
    assert points["Llama 3.2 3B Instruct"] == (3.21, 63.4)
    assert all(x < 10 for x in slm.x)  # nothing at or above the SLM line is drawn as an SLM
    assert set(borderline.text) == {"Phi-3.5-MoE-instruct", "Gemma 2 27B"}
    assert "Llama 3.1 405B Instruct" in llm.text and "GPT-4" not in llm.text  # undisclosed size: absent
    expected = {c.name for c in CARDS if c.params_b is not None and c.mmlu is not None}
    assert set(slm.text) | set(borderline.text) | set(llm.text) == expected
    hover = slm.customdata[list(slm.text).index("Llama 3.2 3B Instruct")]
    assert hover[1].startswith("https://") and hover[2] == "2024-09-25"


def test_caption_names_the_models_left_out():
    caption = params_vs_mmlu_caption(CARDS)
    assert "GPT-4" in caption and "undisclosed" in caption
    assert "Qwen3-4B" in caption  # no 5-shot MMLU published


def test_weights_memory_is_params_times_bits():
    fig = weights_memory_figure(CARDS)
    assert [t.name for t in fig.data] == ["fp16", "int8", "int4"]
    fp16, int8, int4 = fig.data
    i = list(fp16.x).index("Phi-3.5-MoE-instruct")
    assert fp16.y[i] == pytest.approx(41.9 * 2)  # all experts must be held in memory
    assert int8.y[i] == pytest.approx(41.9) and int4.y[i] == pytest.approx(41.9 / 2)
    assert "GPT-4" not in fp16.x


def test_benchmark_figure_uses_card_scores():
    cards = [get_card(CARDS, "llama-3.2-3b"), get_card(CARDS, "phi-3.5-mini")]
    fig = benchmark_figure(cards, ["MMLU", "GSM8K", "HumanEval"])
    llama, phi = fig.data
    assert dict(zip(llama.x, llama.y, strict=True)) == {"MMLU": 63.4, "GSM8K": 77.7}
    assert dict(zip(phi.x, phi.y, strict=True))["HumanEval"] == 62.8


def test_memory_breakdown_stacks_the_estimate():
    card = get_card(CARDS, "llama-3.2-3b")
    table = memory_table(card, 8192)
    fig = memory_breakdown_figure(table, [f"q{i}" for i in range(len(table))])
    total = [sum(t.y[i] for t in fig.data) for i in range(len(table))]
    assert total == pytest.approx([e.total_gb for e in table])
    with pytest.raises(ValueError, match="labels"):
        memory_breakdown_figure(table, ["one"])
