"""Pruning whole models: exact sparsity, inputs untouched, recovery keeps zeros at zero, honest byte counts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from slm_lib.compress.prune import PruneConfig, prune, sparsity_sweep
from slm_lib.tiny import EvalConfig, TinyConfig, TinyLM, evaluate, load_corpus

V = load_corpus().vocab_size  # recovery training reads the real corpus


def tiny_lm(seed: int = 0) -> TinyLM:
    torch.manual_seed(seed)
    return TinyLM(TinyConfig(vocab_size=V, n_layer=2, n_head=4, n_embd=32, block_size=16))


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.state_dict().items()}


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


def test_sparsity_sweep_scores_each_level_and_starts_at_the_model_itself():
    model = tiny_lm()
    before = snapshot(model)
    quick = EvalConfig(max_windows=2)
    seen = []
    points = sparsity_sweep(model, "global", (0.0, 0.5, 0.9), quick, on_point=lambda p, i, n: seen.append((i, n)))
    assert [p.sparsity for p in points] == [0.0, 0.5, 0.9] and seen == [(1, 3), (2, 3), (3, 3)]
    assert points[0].accuracy == evaluate(model, "val", quick).accuracy  # level 0: nothing pruned
    reference = evaluate(prune(model, PruneConfig("global", 0.5)).model, "val", quick)
    assert (points[1].accuracy, points[1].perplexity) == (reference.accuracy, reference.perplexity)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert [p.sparsity for p in sparsity_sweep(model, "2:4", (0.0, 0.3, 0.9), quick)] == [0.0, 0.5]
