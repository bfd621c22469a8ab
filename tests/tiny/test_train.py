"""The shared training loop: models side by side, one diverging alone, stop, time limit, inputs trained in place."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from slm_lib.tiny import FitConfig, fit_


def line(seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(1, 1)


def to_three(model: nn.Module, step: int) -> torch.Tensor:
    return (model(torch.ones(1, 1)) - 3).pow(2).mean()


def nan_loss(model: nn.Module, step: int) -> torch.Tensor:
    return model(torch.ones(1, 1)).sum() * math.nan


def test_models_train_side_by_side_and_one_diverging_leaves_the_other_running():
    good, bad = line(0), line(1)
    bad_before = bad.weight.detach().clone()
    seen = []
    run = fit_(
        {"good": (good, to_three), "bad": (bad, nan_loss)},
        FitConfig(20, 0.1),
        on_step=lambda s, losses: seen.append((s, losses)),
    )
    assert run.steps_done == 20 and not run.stopped
    assert run.diverged == {"good": False, "bad": True}
    assert len(run.losses["good"]) == 20 and run.losses["good"][-1] < run.losses["good"][0]
    assert len(run.losses["bad"]) == 1 and math.isnan(run.losses["bad"][0])
    assert torch.equal(bad.weight, bad_before)  # a NaN loss never reaches the weights
    assert [s for s, _ in seen] == list(range(20)) and all(set(losses) == {"good"} for _, losses in seen)


def test_same_model_and_loss_give_the_same_result_as_one_model_alone():
    a, b, alone = line(0), line(0), line(0)
    pair = fit_({"a": (a, to_three), "b": (b, to_three)}, FitConfig(10, 0.05, warmup_steps=2, weight_decay=0.1))
    single = fit_({"a": (alone, to_three)}, FitConfig(10, 0.05, warmup_steps=2, weight_decay=0.1))
    assert pair.losses["a"] == pair.losses["b"] == single.losses["a"]
    assert torch.equal(a.weight, alone.weight)


def test_every_model_diverging_ends_the_run():
    run = fit_({"bad": (line(0), nan_loss)}, FitConfig(10, 0.1), on_step=lambda s, losses: pytest.fail("no step taken"))
    assert run.diverged["bad"] and run.steps_done == 1 and not run.stopped


def test_stop_and_time_limit_end_the_run_before_a_step():
    calls = iter([False, False, True])
    run = fit_({"m": (line(0), to_three)}, FitConfig(10, 0.1), should_stop=lambda: next(calls))
    assert run.stopped and run.steps_done == 2 and len(run.losses["m"]) == 2
    timed = fit_({"m": (line(0), to_three)}, FitConfig(10, 0.1, max_seconds=1e-9))
    assert timed.stopped and timed.steps_done == 0 and timed.losses["m"] == ()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps=0"),
        ({"lr": 0.0}, "lr=0.0"),
        ({"grad_clip": 0.0}, "grad_clip=0.0"),
        ({"max_seconds": 0.0}, "max_seconds=0.0"),
    ],
)
def test_config_names_the_bad_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FitConfig(**{"steps": 5, "lr": 0.1, **kwargs})
