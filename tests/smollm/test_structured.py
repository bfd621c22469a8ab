"""Structured MLP pruning on a tiny random Llama: smaller matrices, fewer multiply-adds, a refit that helps."""

from __future__ import annotations

import pytest
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from slm_lib.smollm.llama_fast import FastLlama
from slm_lib.smollm.structured import channel_scores, mlp_calibration, prune_mlp_channels

D, FFN, LAYERS, VOCAB = 64, 128, 2, 101


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=D,
        intermediate_size=FFN,
        num_hidden_layers=LAYERS,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=VOCAB,
        max_position_embeddings=64,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="module")
def calib(tiny):
    return mlp_calibration(tiny, torch.randint(0, VOCAB, (1, 48), generator=torch.Generator().manual_seed(1)))


def test_fast_forward_matches_transformers_on_a_tiny_llama(tiny):
    ids = torch.tensor([[3, 14, 15, 92, 65, 35]])
    with torch.inference_mode():
        ref = tiny(ids).logits
    fast = FastLlama.from_hf(tiny)
    torch.testing.assert_close(fast.forward(ids, fast.new_cache(8)), ref, atol=1e-4, rtol=1e-4)
    cache = fast.new_cache(8)  # token by token through the KV cache: the same logits
    steps = torch.cat([fast.forward(ids[:, i : i + 1], cache) for i in range(ids.shape[1])], dim=1)
    torch.testing.assert_close(steps, ref, atol=1e-4, rtol=1e-4)


def test_calibration_records_every_mlp(tiny, calib):
    assert len(calib.acts) == LAYERS and calib.acts[0].shape == (48, FFN) and calib.outs[0].shape == (48, D)
    w = tiny.model.layers[0].mlp.down_proj.weight
    torch.testing.assert_close(calib.acts[0] @ w.T, calib.outs[0], atol=1e-5, rtol=1e-5)
    assert all(s.shape == (FFN,) and (s >= 0).all() for s in channel_scores(tiny, calib))


def test_pruned_matrices_are_smaller_and_cost_fewer_multiply_adds(tiny, calib):
    before = {k: v.clone() for k, v in tiny.state_dict().items()}
    weights = prune_mlp_channels(tiny, calib, keep=0.75, refit=True)
    kept = 96
    for i in range(LAYERS):
        pre = f"model.layers.{i}.mlp"
        assert weights[f"{pre}.gate_proj"].shape == (kept, D) and weights[f"{pre}.up_proj"].shape == (kept, D)
        assert weights[f"{pre}.down_proj"].shape == (D, kept)
    full, pruned = FastLlama.from_hf(tiny), FastLlama.from_hf(tiny, weights=weights)
    assert full.macs_per_token() - pruned.macs_per_token() == LAYERS * 3 * D * (FFN - kept)
    assert pruned.forward(torch.tensor([[1, 2, 3]]), pruned.new_cache(4)).shape == (1, 3, VOCAB)
    assert all(torch.equal(before[k], v) for k, v in tiny.state_dict().items())  # model untouched


def test_least_squares_refit_reproduces_the_mlp_better(tiny, calib):
    errors = {}
    for refit in (False, True):
        weights = prune_mlp_channels(tiny, calib, keep=0.5, refit=refit)
        scores = channel_scores(tiny, calib)[0]
        kept = scores.topk(FFN // 2).indices.sort().values
        approx = calib.acts[0][:, kept] @ weights["model.layers.0.mlp.down_proj"].T
        errors[refit] = float((approx - calib.outs[0]).norm())
    assert errors[True] < 0.9 * errors[False]


def test_keep_is_validated(tiny, calib):
    with pytest.raises(ValueError, match="keep"):
        prune_mlp_channels(tiny, calib, keep=0.0)
