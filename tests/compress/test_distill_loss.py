"""The distillation loss against its two limits, and soft targets flattening with temperature."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from slm_lib.compress.distill_loss import distillation_loss, soft_targets

pytestmark = pytest.mark.usefixtures("one_thread")


def test_loss_reduces_to_cross_entropy_and_to_scaled_kl():
    torch.manual_seed(0)
    s, t = torch.randn(6, 11), torch.randn(6, 11)
    y = torch.randint(0, 11, (6,))
    assert distillation_loss(s, t, y, 3.0, 0.0) == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-6)
    p, q = (t / 3).softmax(-1), (s / 3).softmax(-1)
    kl = (p * (p.log() - q.log())).sum(-1).mean()  # KL(teacher || student) by hand
    assert distillation_loss(s, t, y, 3.0, 1.0).item() == pytest.approx(9 * kl.item(), rel=1e-5)
    assert distillation_loss(t, t, y, 2.0, 1.0).item() == pytest.approx(0.0, abs=1e-6)


def test_soft_targets_flatten_with_temperature(teacher):
    st = soft_targets(teacher, "The ", (0.5, 1.0, 4.0))
    assert len(st.probs) == 3 and all(len(p) == len(st.chars) for p in st.probs)
    assert all(sum(p) == pytest.approx(1.0, abs=1e-5) for p in st.probs)
    entropy = [-sum(x * math.log(x) for x in p if x > 0) for p in st.probs]
    assert entropy[0] < entropy[1] < entropy[2]
    with pytest.raises(ValueError, match="context"):
        soft_targets(teacher, "")
