"""Memory and speed math, checked against published figures; missing data is never "does not fit"."""

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slm_lib.catalog.cards import get_card, load_models
from slm_lib.catalog.memory import (
    DEVICES,
    OVERHEAD_FRACTION,
    QUANTS,
    custom_device,
    estimate_memory,
    estimate_need,
    estimate_speed,
    fits,
    kv_cache_bytes,
    measured_speeds,
    memory_table,
    resolve_bits,
)

CARDS = load_models()
LLAMA_3B = get_card(CARDS, "llama-3.2-3b")


def test_q4_k_m_weights_of_llama_3_2_3b_match_ollama_download():
    est = estimate_memory(LLAMA_3B, "q4_K_M", 8192)
    assert LLAMA_3B.ollama_size_gb == 2.0
    assert est.weights_gb == pytest.approx(2.0, rel=0.10)  # Ollama: llama3.2:3b is 2.0 GB


def test_q4_k_m_weights_of_llama_3_1_8b_match_ollama_download():
    card = get_card(CARDS, "llama-3.1-8b")
    assert estimate_memory(card, "q4_K_M", 2048).weights_gb == pytest.approx(card.ollama_size_gb, rel=0.10)


def test_kv_cache_of_llama_3_2_3b_at_8k_fp16_is_exact():
    assert kv_cache_bytes(LLAMA_3B, 8192, 16) == 2 * 28 * 8 * 128 * 8192 * 2
    expected_gb = 2 * 28 * 8 * 128 * 8192 * 2 / 1e9
    assert estimate_memory(LLAMA_3B, "fp16", 8192).kv_cache_gb == pytest.approx(expected_gb)


def test_gqa_uses_kv_heads_not_query_heads():
    # Llama 3.2 3B has 24 query heads but 8 KV heads: the cache is 3x smaller than multi-head attention
    mha = 2 * 28 * 24 * 128 * 4096 * 2
    assert kv_cache_bytes(LLAMA_3B, 4096) * 3 == mha


def test_total_is_sum_of_parts():
    est = estimate_memory(LLAMA_3B, "q8_0", 4096, kv_bits=8)
    assert est.total_gb == pytest.approx(est.weights_gb + est.kv_cache_gb + est.overhead_gb)
    assert est.kv_cache_gb == pytest.approx(kv_cache_bytes(LLAMA_3B, 4096, 16) / 2 / 1e9)


def test_moe_counts_all_experts_for_memory_but_active_for_speed():
    moe = get_card(CARDS, "phi-3.5-moe")
    est = estimate_memory(moe, "fp16", 4096)
    assert est.weights_gb == pytest.approx(41.9 * 2)
    assert est.kv_cache_gb == pytest.approx(2 * 32 * 8 * 128 * 4096 * 2 / 1e9)
    speed = estimate_speed(moe, DEVICES["h100-80gb"], "fp16", 4096)
    assert speed.gb_read_per_token == pytest.approx(6.6 * 2 + est.kv_cache_gb)


def test_quant_presets_are_ordered_and_explained():
    bits = [q.bits_per_weight for q in QUANTS.values()]
    assert bits == sorted(bits, reverse=True)
    assert {"fp16", "q8_0", "q6_K", "q5_K_M", "q4_K_M", "q4_0", "q2_K"} == set(QUANTS)
    assert all(q.plain.endswith((".", ")")) and q.source.startswith("https://") for q in QUANTS.values())
    table = memory_table(LLAMA_3B, 2048)
    assert [round(e.weight_bits, 2) for e in table] == [round(b, 2) for b in bits]


@pytest.mark.parametrize("bad", ["q3_banana", "Q4_K_M", 0, 1, 64, True])
def test_unknown_quantization_raises_naming_value(bad):
    with pytest.raises(ValueError, match=repr(bad) if not isinstance(bad, str) else bad):
        resolve_bits(bad)


@pytest.mark.parametrize("context", [0, -5, 131073])
def test_impossible_context_raises_naming_value(context):
    with pytest.raises(ValueError, match=f"{context:,}" if context > 0 else str(context)):
        estimate_memory(LLAMA_3B, "q4_K_M", context)


def test_zero_ram_device_raises():
    with pytest.raises(ValueError, match="0 GB"):
        custom_device(0)
    with pytest.raises(ValueError, match="above 0 GB"):
        fits(estimate_memory(LLAMA_3B, "q4_K_M", 1024), 0)


def test_unknown_params_raise():
    with pytest.raises(ValueError, match="not published"):
        estimate_memory(get_card(CARDS, "gpt-4"), "fp16", 1024)


def test_fits_and_speed_estimate_against_measured_pi5():
    est = estimate_memory(LLAMA_3B, "q4_K_M", 2048)
    assert fits(est, DEVICES["pi5-8gb"].memory_gb) is True
    assert fits(est, 1.0) is False
    speed = estimate_speed(LLAMA_3B, DEVICES["pi5-8gb"], "q4_K_M", 2048)
    measured = [m for m in measured_speeds("llama-3.2-3b") if m.hardware.startswith("Raspberry Pi 5 8GB")]
    assert measured and measured[0].tokens_per_s == 4.61
    # a bandwidth bound is an upper bound: the published run must not beat it
    assert speed.tokens_per_s > measured[0].tokens_per_s
    assert speed.tokens_per_s == pytest.approx(17.1 / speed.gb_read_per_token)
    assert estimate_speed(LLAMA_3B, custom_device(8), "q4_K_M", 2048) is None


@given(st.sampled_from(list(QUANTS)), st.integers(1, 131072), st.sampled_from([4, 8, 16, 32]))
def test_memory_is_finite_positive_and_monotonic_in_context(quant, context, kv_bits):
    small = estimate_memory(LLAMA_3B, quant, max(1, context // 2), kv_bits)
    big = estimate_memory(LLAMA_3B, quant, context, kv_bits)
    assert 0 < small.total_gb <= big.total_gb < 1e4


def test_need_equals_the_full_estimate_when_everything_is_published():
    need = estimate_need(LLAMA_3B, "q4_K_M", 4096)
    assert need.total_gb == pytest.approx(estimate_memory(LLAMA_3B, "q4_K_M", 4096).total_gb)
    assert (
        need.missing == ()
        and need.status(need.total_gb) == "fits"
        and need.status(need.total_gb - 0.01) == ("does not fit")
    )
    assert need.sentence().startswith(f"Needs about {need.total_gb:.1f} GB at q4_K_M with a context of 4,096 tokens")


def test_unpublished_kv_cache_gives_a_lower_bound_not_a_verdict():
    vision = get_card(CARDS, "phi-3.5-vision")
    need = estimate_need(vision, "q4_K_M", 4096)
    weights = 4.15 * 4.89 / 8
    assert need.total_gb is None and need.at_least_gb == pytest.approx(weights * (1 + OVERHEAD_FRACTION))
    assert need.status(100) == "may fit"  # what is published fits; the rest is unknown
    assert need.status(need.at_least_gb - 0.01) == "does not fit"  # the weights alone are too big
    text = need.sentence()
    assert text.startswith(f"Needs at least {need.at_least_gb:.1f} GB at q4_K_M") and "not published" in text
    assert "**" not in text


def test_unpublished_context_is_may_fit_and_said_in_words():
    card = dataclasses.replace(LLAMA_3B, context_tokens=None)
    need = estimate_need(card, "q4_K_M", 200_000)
    assert need.total_gb is not None and need.status(100) == "may fit"
    assert "maximum context is not published" in need.sentence()


def test_too_long_context_and_unknown_size():
    gemma = get_card(CARDS, "gemma-2-2b")
    need = estimate_need(gemma, "q4_K_M", 16_384)
    assert need.context_too_long and need.status(1000) == "does not fit"
    assert need.sentence() == "Its maximum context is 8,192 tokens, below the 16,384 you asked for."
    gpt4 = estimate_need(get_card(CARDS, "gpt-4"), "q4_K_M", 1024)
    assert gpt4.status(1000) == "cannot tell" and gpt4.gb is None
    assert gpt4.sentence() == "Its parameter count is not published, so its memory cannot be estimated."
    with pytest.raises(ValueError, match="got 0"):
        estimate_need(gemma, "q4_K_M", 0)
