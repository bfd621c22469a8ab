"""One tensor on the grid: error within half a step, packed byte counts, a hand-computed int8 reference."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from slm_lib.compress.quant_grid import QuantSpec, group_spans, quantize_tensor

specs = st.builds(
    QuantSpec,
    bits=st.integers(2, 8),
    symmetric=st.booleans(),
    granularity=st.sampled_from(["tensor", "channel", "group"]),
    group_size=st.sampled_from([2, 3, 8, 32, 64]),
)


@settings(max_examples=80, deadline=None)
@given(
    spec=specs,
    rows=st.integers(1, 6),
    cols=st.integers(1, 70),
    scale=st.floats(1e-3, 10.0),
    seed=st.integers(0, 2**16),
)
def test_round_trip_error_is_at_most_half_a_step(spec, rows, cols, scale, seed):
    w = torch.randn(rows, cols, generator=torch.Generator().manual_seed(seed)) * scale
    w[0, 0] = 0.0  # a pruned weight
    original = w.clone()
    qt = quantize_tensor(w, spec)
    back = qt.dequantize()
    assert back.shape == w.shape
    assert torch.equal(w, original)  # input not mutated
    steps = qt.element_scales()
    assert ((back - w).abs() <= steps / 2 * (1 + 1e-5) + 1e-7).all()
    assert back[0, 0] == 0.0  # zero is always on the grid, so pruned weights stay exactly zero
    grid = qt.grid(0)
    assert len(grid) == (2**spec.bits - 1 if spec.symmetric else 2**spec.bits)


@settings(max_examples=40, deadline=None)
@given(spec=specs, rows=st.integers(1, 5), cols=st.integers(1, 70))
def test_nbytes_counts_packed_codes_scales_and_zero_points(spec, rows, cols):
    qt = quantize_tensor(torch.randn(rows, cols), spec)
    if spec.granularity == "tensor":
        groups, length = 1, rows * cols
    elif spec.granularity == "channel":
        groups, length = rows, cols
    else:
        per_row = math.ceil(cols / spec.group_size)
        groups, length = rows * per_row, spec.group_size
    expected = math.ceil(groups * length * spec.bits / 8) + 2 * groups
    if not spec.symmetric:
        expected += math.ceil(groups * spec.bits / 8)
    assert qt.nbytes == expected


def test_finer_granularity_gives_smaller_error():
    w = torch.randn(16, 128, generator=torch.Generator().manual_seed(0))
    w[3] *= 50  # one outlier row ruins a single per-tensor scale
    errors = {
        g: (quantize_tensor(w, QuantSpec(4, True, g, 32)).dequantize() - w).abs().mean().item()
        for g in ("tensor", "channel", "group")
    }
    assert errors["group"] < errors["channel"] < errors["tensor"]


def test_symmetric_int8_matches_a_hand_computed_reference():
    w = torch.tensor([[1.27, -0.5, 0.0, 0.333]])
    qt = quantize_tensor(w, QuantSpec(bits=8, symmetric=True, granularity="channel"))
    scale = qt.scale.float().item()
    assert scale == pytest.approx(1.27 / 127, rel=1e-3)
    expected = torch.round(w / scale) * scale
    assert torch.allclose(qt.dequantize(), expected)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bits": 1}, "bits"),
        ({"bits": 9}, "bits"),
        ({"granularity": "row"}, "granularity"),
        ({"group_size": 1}, "group_size"),
    ],
)
def test_spec_validation_names_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        QuantSpec(**kwargs)


def test_quantize_rejects_nan():
    with pytest.raises(ValueError, match="NaN"):
        quantize_tensor(torch.tensor([1.0, float("nan")]), QuantSpec())


@given(spec=specs, rows=st.integers(1, 5), cols=st.integers(1, 70), data=st.data())
@settings(max_examples=60, deadline=None)
def test_group_spans_tile_the_row_and_name_each_element_scale(spec, rows, cols, data):
    qt = quantize_tensor(torch.randn(rows, cols), spec)
    row = data.draw(st.integers(0, rows - 1))
    spans = group_spans(qt, row)
    assert spans[0][1] == 0 and spans[-1][2] == cols
    assert all(a[2] == b[1] for a, b in zip(spans, spans[1:], strict=False))  # contiguous, no overlap
    steps = qt.element_scales()[row]
    for group, start, end in spans:  # reference: every element of a span uses that group's scale
        assert torch.equal(steps[start:end], qt.scale[group].float().expand(end - start))


def test_group_spans_rejects_a_row_outside_the_tensor():
    qt = quantize_tensor(torch.randn(3, 8), QuantSpec(bits=4))
    with pytest.raises(ValueError, match="row=3"):
        group_spans(qt, 3)
