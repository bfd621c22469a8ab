"""Structured pruning cuts whole neurons and heads: smaller matrices, same output when the cut units were dead."""

from __future__ import annotations

import torch
from torch import nn

from slm_lib.compress.prune import PruneConfig, prune
from slm_lib.compress.structured import prune_structured_
from slm_lib.tiny import TinyConfig, TinyLM, load_corpus

V = load_corpus().vocab_size  # recovery training reads the real corpus


def tiny_lm(seed: int = 0) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(TinyConfig(vocab_size=V, n_layer=2, n_head=4, n_embd=32, block_size=16))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_structured_pruning_makes_the_model_physically_smaller():
    model = tiny_lm()
    result = prune(model, PruneConfig("structured", sparsity=0.5))
    block = result.model.blocks[0]
    assert block.attn.n_head == 2 and block.mlp.fc.out_features == 64
    assert block.attn.qkv.weight.shape == (3 * 2 * 8, 32)
    assert result.params < result.original_params
    assert result.stored_bytes_sparse == result.stored_bytes_dense == result.params * 4
    assert model.blocks[0].attn.n_head == 4  # input untouched
    logits = result.model(torch.randint(0, V, (2, 16)))
    assert logits.shape == (2, 16, V) and torch.isfinite(logits).all()


def test_structured_pruning_removes_dead_units_without_changing_the_output():
    model = tiny_lm().eval()
    with torch.no_grad():
        for block in model.blocks:  # kill head 1 and MLP neurons 0..31: they contribute nothing
            hs, nh = block.attn.head_dim, block.attn.n_head
            for part in range(3):
                rows = slice(part * nh * hs + hs, part * nh * hs + 2 * hs)
                block.attn.qkv.weight[rows] = 0
                block.attn.qkv.bias[rows] = 0
            block.attn.proj.weight[:, hs : 2 * hs] = 0
            block.mlp.fc.weight[:32] = 0
            block.mlp.fc.bias[:32] = 0
            block.mlp.proj.weight[:, :32] = 0
    x = torch.randint(0, V, (2, 16))
    reference = model(x)
    result = prune(model, PruneConfig("structured", sparsity=0.25))  # 1 of 4 heads, 32 of 128 neurons
    assert not result.masks["blocks.0.mlp.fc"][:32].any() and result.masks["blocks.0.mlp.fc"][32:].all()
    mask = result.masks["blocks.0.attn.qkv"]
    assert not mask[8:16].any() and mask[:8].all()  # head 1 of q was the one cut
    torch.testing.assert_close(result.model(x), reference, atol=1e-5, rtol=1e-5)


def test_prune_structured_at_zero_sparsity_is_identity():
    model = tiny_lm().eval()
    x = torch.randint(0, V, (1, 16))
    reference = model(x)
    prune_structured_(model, 0.0)
    torch.testing.assert_close(model(x), reference)
