"""Whole models: every byte accounted, inputs untouched, real casts and int8 kernels."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from slm_lib.compress.quant_grid import QuantSpec, quantize_tensor
from slm_lib.compress.quantize import (
    LAB_SCHEMES,
    QuantizeConfig,
    cast_model,
    int8_dynamic,
    quantize_model,
    quantize_scheme,
)
from slm_lib.tiny import TinyConfig, TinyLM


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


def test_each_scheme_says_how_it_computes():
    model = _tiny_model()
    compute = {name: quantize_scheme(model, name).compute for name in LAB_SCHEMES}
    assert compute["fp16"] == "real fp16 storage and compute" and compute["fp32"] == "real fp32 storage and compute"
    assert compute["int8 dynamic (torch.ao)"] == "real int8 kernels (CPU)"
    assert all(
        compute[name].startswith("fake-quantized") for name in LAB_SCHEMES if name.startswith("int") and "(" not in name
    )
