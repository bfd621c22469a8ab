from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from slm_lib.compress.prune import PruneConfig, prune
from slm_lib.compress.sparsity import n_of_m_mask, sparse_bytes, unstructured_mask
from slm_lib.compress.structured import prune_structured_
from slm_lib.tiny import TinyConfig, TinyLM, load_corpus

V = load_corpus().vocab_size  # recovery training reads the real corpus


def tiny_lm(seed: int = 0) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(TinyConfig(vocab_size=V, n_layer=2, n_head=4, n_embd=32, block_size=16))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 20), min_size=1, max_size=3),
    sparsity=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_unstructured_mask_zeroes_exactly_the_requested_count(shape, sparsity, seed):
    scores = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    mask = unstructured_mask(scores, sparsity)
    assert mask.shape == scores.shape and mask.dtype == torch.bool
    assert int((~mask).sum()) == round(sparsity * scores.numel())
    if mask.any() and (~mask).any():  # every removed score is <= every kept score
        assert scores[~mask].max() <= scores[mask].min()


def test_unstructured_mask_is_exact_with_ties():
    mask = unstructured_mask(torch.zeros(10), 0.3)
    assert int((~mask).sum()) == 3


def test_n_of_m_mask_keeps_the_two_largest_of_every_four():
    scores = torch.randn(8, 16, generator=torch.Generator().manual_seed(1)).abs()
    mask = n_of_m_mask(scores, 2, 4)
    groups, kept = scores.view(-1, 4), mask.view(-1, 4)
    assert (kept.sum(1) == 2).all()
    for g, k in zip(groups, kept, strict=True):
        assert set(g.topk(2).indices.tolist()) == set(k.nonzero().flatten().tolist())
    with pytest.raises(ValueError, match="multiple of m=4"):
        n_of_m_mask(torch.rand(3, 6))


def test_sparse_bytes_matches_hand_counted_encodings():
    w = torch.tensor([[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 3.0, 0.0]])
    # CSR: 3 values x (4 bytes + 1-byte column index) + 3 row pointers x 4 bytes
    assert sparse_bytes(w) == 3 * 5 + 3 * 4
    # 2:4: half of 8 values (4 x 4 bytes) + 4 x 2 bits of positions (1 byte)
    assert sparse_bytes(w, "n:m") == 16 + 1
    wide = torch.zeros(1, 300)
    wide[0, 299] = 1.0
    assert sparse_bytes(wide) == 4 + 2 + 2 * 4  # 300 columns need a 2-byte index
    with pytest.raises(ValueError, match="layout"):
        sparse_bytes(w, "coo")


@pytest.mark.parametrize("method", ["magnitude", "global"])
def test_unstructured_pruning_is_exact_and_leaves_the_input_alone(method):
    model = tiny_lm()
    before = snapshot(model)
    result = prune(model, PruneConfig(method, sparsity=0.4))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    pruned = {n: m for n, m in result.model.named_modules() if isinstance(m, nn.Linear) and n != "head"}
    zeros = sum(int((m.weight == 0).sum()) for m in pruned.values())
    total = sum(m.weight.numel() for m in pruned.values())
    assert abs(zeros - 0.4 * total) <= (len(pruned) if method == "magnitude" else 1)
    assert result.sparsity == pytest.approx(0.4, abs=1e-3)
    if method == "magnitude":  # the same fraction in every layer
        for name, m in pruned.items():
            assert int((m.weight == 0).sum()) == round(0.4 * m.weight.numel()), name
    assert torch.equal(result.model.head.weight, model.head.weight)  # the head is skipped by default
    assert result.params == result.original_params  # zeros still take their place in dense matrices
    other_zeros = sum(int((p == 0).sum()) for p in model.parameters()) - sum(
        int((dict(model.named_modules())[n].weight == 0).sum()) for n in pruned
    )  # zero-initialised biases
    assert result.nonzero_params == result.params - zeros - other_zeros
    assert result.stored_bytes_dense == result.params * 4
    assert result.stored_bytes_sparse <= result.stored_bytes_dense


def test_global_pruning_ranks_all_layers_together():
    model = tiny_lm()
    with torch.no_grad():
        model.blocks[0].mlp.fc.weight.mul_(0.01)  # one layer of tiny weights loses most of them
    result = prune(model, PruneConfig("global", sparsity=0.3))
    layer = result.masks["blocks.0.mlp.fc"]
    assert (~layer).float().mean() > 0.9


def test_two_four_pattern_and_its_encoding_pays_off():
    result = prune(tiny_lm(), PruneConfig("2:4"))
    for name, mask in result.masks.items():
        assert (mask.view(-1, 4).sum(1) == 2).all(), name
    assert result.sparsity == pytest.approx(0.5)
    assert result.stored_bytes_sparse < result.stored_bytes_dense


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


def test_recovery_trains_but_keeps_pruned_weights_at_zero():
    model = tiny_lm()
    seen: list[int] = []
    result = prune(model, PruneConfig("magnitude", sparsity=0.5, recover_steps=3), on_step=lambda s, _: seen.append(s))
    assert seen == [0, 1, 2] and len(result.recover_losses) == 3
    no_recovery = prune(model, PruneConfig("magnitude", sparsity=0.5))
    for name, mask in result.masks.items():
        weight = dict(result.model.named_modules())[name].weight
        assert (weight[~mask] == 0).all(), name
        assert not torch.equal(weight, dict(no_recovery.model.named_modules())[name].weight)
    assert result.sparsity == pytest.approx(0.5)
    assert not any("mask" in k for k in result.model.state_dict())


def test_recovery_can_be_stopped():
    result = prune(tiny_lm(), PruneConfig("2:4", recover_steps=5), should_stop=lambda: True)
    assert result.recover_stopped and result.recover_losses == ()


def test_prune_works_on_any_model_with_linear_layers():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    result = prune(model, PruneConfig("magnitude", sparsity=0.25))
    assert int((result.model[0].weight == 0).sum()) == 64
    with pytest.raises(ValueError, match="TinyLM"):
        prune(model, PruneConfig("structured", sparsity=0.25))
    with pytest.raises(ValueError, match="TinyLM"):
        prune(model, PruneConfig("magnitude", sparsity=0.25, recover_steps=2))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"method": "random"}, "method"), ({"sparsity": 1.0}, "sparsity"), ({"recover_steps": -1}, "recover")],
)
def test_config_validation_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PruneConfig(**kwargs)


def test_recovery_time_budget_ends_training_early():
    config = PruneConfig("magnitude", sparsity=0.5, recover_steps=50, recover_seconds=1e-9)
    result = prune(tiny_lm(), config)
    assert result.recover_stopped and len(result.recover_losses) == 0
    with pytest.raises(ValueError, match="recover_seconds"):
        PruneConfig(recover_seconds=0)
