"""Distillation runs: two students side by side, reproducible, stoppable, divergence reported per student."""

from __future__ import annotations

import copy
import math

import pytest
import torch

from slm_lib.compress.distill import DistillConfig, distill
from slm_lib.compress.distill_loss import forward_with_states, hidden_state_loss
from slm_lib.tiny import EvalConfig

FAST = dict(steps=4, batch=4, transfer_chars=3_000, eval_every=2, latency_tokens=2)


QUICK_EVAL = EvalConfig(max_windows=2)


pytestmark = pytest.mark.usefixtures("one_thread")


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_config_validation_names_the_value():
    with pytest.raises(ValueError, match="preset='big'"):
        DistillConfig(preset="big")
    with pytest.raises(ValueError, match="alpha=1.5"):
        DistillConfig(alpha=1.5)
    with pytest.raises(ValueError, match="temperature=0"):
        DistillConfig(temperature=0)


def test_distill_trains_two_students_without_touching_the_teacher(teacher):
    before = copy.deepcopy(teacher)
    seen = []
    result = distill(teacher, DistillConfig(preset="half", **FAST), on_step=seen.append, eval_config=QUICK_EVAL)
    assert same_state(teacher, before)
    assert result.steps_done == 4 == len(seen) == len(result.distilled_ce) == len(result.baseline_ce)
    assert [p.step for p in seen] == [0, 1, 2, 3] and seen[1].val is not None and seen[0].val is None
    assert all(math.isfinite(x) and x >= 0 for x in result.distilled_ce + result.baseline_ce)
    assert all(math.isfinite(p.distilled_loss) and p.distilled_loss >= 0 for p in seen)
    assert [v[0] for v in result.val_curve] == [2, 4]
    assert result.distilled.params == result.baseline.params < result.teacher.params
    assert 0 <= result.distilled.accuracy <= 1 and result.distilled.ms_per_token > 0
    assert result.distilled.retained == pytest.approx(result.distilled.accuracy / result.teacher.accuracy)
    assert not result.stopped and not (result.distilled_diverged or result.baseline_diverged)
    assert not same_state(result.distilled_model, result.baseline_model)  # different losses, different weights


def test_distill_is_reproducible(teacher):
    cfg = DistillConfig(preset="narrow", **FAST)
    a = distill(teacher, cfg, eval_config=QUICK_EVAL)
    b = distill(teacher, cfg, eval_config=QUICK_EVAL)
    assert a.distilled_ce == b.distilled_ce and a.baseline_ce == b.baseline_ce


def test_alpha_zero_makes_both_students_identical(teacher):
    result = distill(
        teacher, DistillConfig(preset="half", alpha=0.0, hidden_weight=0.0, **FAST), eval_config=QUICK_EVAL
    )
    assert result.distilled_ce == result.baseline_ce  # same init, same batches, same loss


def test_stop_and_divergence_are_reported(teacher):
    calls = iter([False, False, True])
    stopped = distill(
        teacher, DistillConfig(preset="half", **FAST), should_stop=lambda: next(calls), eval_config=QUICK_EVAL
    )
    assert stopped.stopped and stopped.steps_done == 2
    broken = copy.deepcopy(teacher)
    with torch.no_grad():
        broken.head.bias.fill_(float("nan"))  # teacher logits NaN -> the distilled loss is NaN
    result = distill(broken, DistillConfig(preset="narrow", **FAST), eval_config=QUICK_EVAL)
    assert result.distilled_diverged and not result.baseline_diverged
    assert result.distilled_ce == () and len(result.baseline_ce) == 4


def test_hidden_state_matching_changes_the_distilled_student_only(teacher):
    plain = distill(teacher, DistillConfig(preset="half", hidden_weight=0.0, **FAST), eval_config=QUICK_EVAL)
    matched = distill(teacher, DistillConfig(preset="half", hidden_weight=1.0, **FAST), eval_config=QUICK_EVAL)
    assert matched.baseline_ce == plain.baseline_ce  # the hard-label student never sees the teacher
    assert matched.distilled_ce[0] == plain.distilled_ce[0]  # same start: the first batch's CE is identical
    assert not same_state(matched.distilled_model, plain.distilled_model)


def test_forward_with_states_is_the_models_forward(teacher):
    x = torch.randint(0, teacher.config.vocab_size, (2, 16))
    logits, states = forward_with_states(teacher, x, (1, 3))
    assert torch.allclose(logits, teacher(x), atol=1e-6)
    assert states.shape == (2, 2, 16, teacher.config.n_embd)


def test_hidden_state_loss_is_relative_to_the_teachers_scale():
    t = torch.randn(2, 3, 4, 8)
    assert hidden_state_loss(t, t).item() == 0.0
    assert hidden_state_loss(torch.zeros_like(t), t).item() == pytest.approx(1.0)
    assert hidden_state_loss(torch.zeros_like(t), 10 * t).item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="hidden_weight=-1"):
        DistillConfig(hidden_weight=-1)
