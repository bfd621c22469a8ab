"""Students: copied layers and neurons from the teacher, or a fresh narrow model; the teacher untouched."""

from __future__ import annotations

import copy

import pytest
import torch

from slm_lib.compress.students import PRESETS, make_student, matched_layers
from slm_lib.tiny import load_teacher, param_count

pytestmark = pytest.mark.usefixtures("one_thread")


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


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


def test_trimmed_student_is_under_half_of_the_bundled_teacher(teacher):
    bundled = load_teacher()  # the page's teacher: its embeddings and head are a smaller share than the fixture's
    student = make_student(bundled, "half_trim")
    assert student.config.mlp_hidden == 448 and student.config.n_layer == 2
    assert param_count(student) == 406_759 and param_count(student) / param_count(bundled) <= 0.5
    assert matched_layers(teacher.config.n_layer, "half_trim") == (1, 3)
    assert matched_layers(6, "half") == (1, 3, 5) and matched_layers(5, "half") == (1, 3, 4)
    assert matched_layers(teacher.config.n_layer, "narrow") == ()
