import copy
import math

import pytest
import torch
import torch.nn.functional as F

from slm_lib.compress.distill import DistillConfig, distill
from slm_lib.compress.distill_loss import distillation_loss, soft_targets
from slm_lib.compress.students import PRESETS, make_student
from slm_lib.tiny import EvalConfig, TinyConfig, TinyLM, TrainConfig, load_corpus, param_count, train

FAST = dict(steps=4, batch=4, transfer_chars=3_000, eval_every=2, latency_tokens=2)
QUICK_EVAL = EvalConfig(max_windows=2)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def teacher(one_thread):
    torch.manual_seed(0)
    cfg = TinyConfig(vocab_size=load_corpus().vocab_size, n_layer=4, n_head=2, n_embd=32, block_size=32)
    model = TinyLM(cfg).cpu()
    return train(model, TrainConfig(steps=15, lr=1e-2, batch_size=8, warmup_steps=1)).model.cpu().eval()


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_loss_reduces_to_cross_entropy_and_to_scaled_kl():
    torch.manual_seed(0)
    s, t = torch.randn(6, 11), torch.randn(6, 11)
    y = torch.randint(0, 11, (6,))
    assert distillation_loss(s, t, y, 3.0, 0.0) == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-6)
    p, q = (t / 3).softmax(-1), (s / 3).softmax(-1)
    kl = (p * (p.log() - q.log())).sum(-1).mean()  # KL(teacher || student) by hand
    assert distillation_loss(s, t, y, 3.0, 1.0).item() == pytest.approx(9 * kl.item(), rel=1e-5)
    assert distillation_loss(t, t, y, 2.0, 1.0).item() == pytest.approx(0.0, abs=1e-6)


def test_half_student_copies_alternate_layers(teacher):
    before = copy.deepcopy(teacher)
    student = make_student(teacher, "half")
    assert same_state(teacher, before)
    assert student.config.n_layer == 2 and param_count(student) < param_count(teacher)
    assert same_state(student.blocks[1], teacher.blocks[2])
    assert torch.equal(student.head.weight, teacher.head.weight)
    assert student.blocks[0].attn.qkv.weight.data_ptr() != teacher.blocks[0].attn.qkv.weight.data_ptr()


def test_slim_student_keeps_the_strongest_neurons(teacher):
    student = make_student(teacher, "half_slim")
    fc, t_fc, t_proj = student.blocks[0].mlp.fc, teacher.blocks[0].mlp.fc, teacher.blocks[0].mlp.proj
    assert fc.out_features == 96 and student.config.mlp_hidden == 96
    score = t_fc.weight.norm(dim=1) * t_proj.weight.norm(dim=0)
    kept = score.topk(96).indices.sort().values
    assert torch.equal(fc.weight, t_fc.weight[kept])
    assert param_count(student) < 0.5 * param_count(teacher)


def test_narrow_student_is_fresh_and_small(teacher):
    student = make_student(teacher, "narrow", seed=1)
    assert student.config.n_embd == 16 and student.config.n_layer == PRESETS["narrow"].n_layer
    assert param_count(student) < param_count(teacher)


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
    result = distill(teacher, DistillConfig(preset="half", alpha=0.0, **FAST), eval_config=QUICK_EVAL)
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


def test_soft_targets_flatten_with_temperature(teacher):
    st = soft_targets(teacher, "The ", (0.5, 1.0, 4.0))
    assert len(st.probs) == 3 and all(len(p) == len(st.chars) for p in st.probs)
    assert all(sum(p) == pytest.approx(1.0, abs=1e-5) for p in st.probs)
    entropy = [-sum(x * math.log(x) for x in p if x > 0) for p in st.probs]
    assert entropy[0] < entropy[1] < entropy[2]
    with pytest.raises(ValueError, match="context"):
        soft_targets(teacher, "")
