from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from slm_lib.compress.bit_packing import pack_bits, unpack_bits
from slm_lib.compress.quant_grid import QuantSpec, quantize_tensor
from slm_lib.compress.quantize import QuantizeConfig, cast_model, int8_dynamic, quantize_model
from slm_lib.tiny import TinyConfig, TinyLM

specs = st.builds(
    QuantSpec,
    bits=st.integers(2, 8),
    symmetric=st.booleans(),
    granularity=st.sampled_from(["tensor", "channel", "group"]),
    group_size=st.sampled_from([2, 3, 8, 32, 64]),
)


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 8), n=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_pack_unpack_round_trip_and_exact_size(bits, n, seed):
    codes = torch.randint(0, 2**bits, (n,), generator=torch.Generator().manual_seed(seed))
    packed = pack_bits(codes, bits)
    assert packed.dtype == torch.uint8
    assert packed.numel() == math.ceil(n * bits / 8)
    assert torch.equal(unpack_bits(packed, bits, n), codes)


def test_pack_bits_layout_is_little_endian():
    assert pack_bits(torch.tensor([1, 2, 3, 0]), 2).tolist() == [0b00_11_10_01]
    assert pack_bits(torch.tensor([0xA, 0x5]), 4).tolist() == [0x5A]


def test_pack_bits_rejects_codes_out_of_range():
    with pytest.raises(ValueError, match="codes must lie"):
        pack_bits(torch.tensor([4]), 2)


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


def _tiny_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Embedding(10, 64), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def test_quantize_model_accounts_every_byte_and_leaves_input_alone():
    model = _tiny_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    spec = QuantSpec(bits=4, symmetric=False, granularity="group", group_size=32)
    result = quantize_model(model, QuantizeConfig(spec))
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])
    weights = [model[0].weight, model[1].weight, model[3].weight]
    expected = sum(quantize_tensor(w, spec).nbytes for w in weights) + (32 + 10) * 2  # biases in fp16
    assert result.stored_bytes == expected
    assert result.fp32_bytes == sum(p.numel() for p in model.parameters()) * 4
    assert result.simulated and result.n_quantized == 3
    assert not torch.equal(result.model[1].weight, model[1].weight)


def test_quantize_model_counts_a_tied_matrix_once():
    model = TinyLM(TinyConfig(vocab_size=20, n_layer=1, n_embd=32, block_size=16, tie_head=True))
    result = quantize_model(model, QuantizeConfig(QuantSpec(bits=8)))
    assert result.model.head.weight is result.model.tok_emb.weight
    untied = TinyLM(TinyConfig(vocab_size=20, n_layer=1, n_embd=32, block_size=16))
    assert quantize_model(untied, QuantizeConfig(QuantSpec(bits=8))).n_quantized == result.n_quantized + 1


def test_int8_per_channel_is_about_four_times_smaller_on_the_lab_model():
    model = TinyLM(TinyConfig(vocab_size=103))  # the teacher's shape
    int8 = quantize_model(model, QuantizeConfig(QuantSpec(bits=8, granularity="channel")))
    int4 = quantize_model(model, QuantizeConfig(QuantSpec(4, False, "group", 32)))
    assert 3.9 <= int8.compression < 4.0
    assert int4.compression >= 6.0


def test_cast_model_halves_the_bytes():
    model = _tiny_model()
    for dtype in ("float16", "bfloat16"):
        result = cast_model(model, dtype)
        assert result.stored_bytes * 2 == result.fp32_bytes
        assert not result.simulated
    assert model[1].weight.dtype == torch.float32
    with pytest.raises(ValueError, match="dtype"):
        cast_model(model, "int8")


def test_int8_dynamic_uses_real_int8_kernels_and_stays_close():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 8)).eval()
    qmodel = int8_dynamic(model)
    assert "DynamicQuantizedLinear" in repr(qmodel)
    assert isinstance(model[0], nn.Linear) and model[0].weight.dtype == torch.float32  # input untouched
    x = torch.randn(16, 64)
    with torch.no_grad():
        ref, out = model(x), qmodel(x)
    assert (out - ref).abs().max() < 0.05 * ref.abs().max()
