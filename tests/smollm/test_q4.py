"""Q4_1: the GGUF's own codes come back exactly; the int4 kernel matches a float reference."""

from __future__ import annotations

import gguf
import pytest
import torch

from slm_lib.compress.quant_grid import QuantSpec, quantize_tensor
from slm_lib.smollm import loader as smollm
from slm_lib.smollm import q4
from slm_lib.smollm.llama_fast import Int4Linear, Int8Linear


@pytest.fixture(scope="module")
def reader():
    return gguf.GGUFReader(str(smollm.gguf_path()))


def _tensor(reader, name):
    return next(t for t in reader.tensors if t.name == name)


def test_read_q4_1_matches_gguf_dequantization(reader):
    t = _tensor(reader, "blk.0.ffn_down.weight")
    blocks = q4.read_q4_1(t.data)
    ref = torch.from_numpy(gguf.quants.dequantize(t.data, t.tensor_type))  # gguf's own reader: (576, 1536)
    assert blocks.codes.shape == (576, 1536) and blocks.d.shape == (576, 48)
    assert int(blocks.codes.max()) <= 15
    torch.testing.assert_close(blocks.dequantize(), ref, atol=1e-6, rtol=0)
    assert blocks.nbytes == t.data.nbytes  # 20 bytes per block of 32, as in the file


@pytest.mark.parametrize("name", ["blk.0.ffn_down.weight", "blk.7.attn_v.weight", "blk.29.ffn_gate.weight"])
def test_requantizing_gguf_weights_reproduces_their_codes(reader, name):
    t = _tensor(reader, name)
    stored = q4.read_q4_1(t.data)
    again = q4.quantize_q4_1(stored.dequantize())
    assert torch.equal(again.codes, stored.codes)  # every code, exactly
    torch.testing.assert_close(again.d, stored.d, atol=0, rtol=2e-3)  # fp16 rounding of the scale at most
    torch.testing.assert_close(again.m, stored.m, atol=0, rtol=0)
    # the zero-point grid (must hold 0.0) with the same blocks moves most weights off their level
    zp = quantize_tensor(stored.dequantize(), QuantSpec(4, symmetric=False, granularity="group", group_size=32))
    moved = (zp.dequantize() - stored.dequantize()).abs() > 1e-3 * stored.d.repeat_interleave(32, 1)
    assert moved.float().mean() > 0.5


def test_quantize_q4_1_error_is_within_half_a_step():
    w = torch.randn(16, 96)
    before = w.clone()
    blocks = q4.quantize_q4_1(w)
    assert torch.equal(w, before)
    step = blocks.d.repeat_interleave(32, 1)
    assert ((blocks.dequantize() - w).abs() <= step / 2 + 1e-3 * w.abs().max()).all()
    with pytest.raises(ValueError, match="multiple of 32"):
        q4.quantize_q4_1(torch.randn(4, 40))


def test_int4_kernel_matches_float_reference():
    torch.manual_seed(0)
    w = torch.randn(96, 128) * 0.05
    blocks = q4.quantize_q4_1(w)
    x = torch.randn(3, 128)
    ref = x @ blocks.dequantize().T  # the same grid, computed in float
    out = blocks.linear()(x)
    assert out.shape == (3, 96) and out.dtype == torch.float32
    # bfloat16 activations and scales: ~3 significant digits
    torch.testing.assert_close(out, ref, atol=2e-2 * ref.abs().max().item(), rtol=0)


def test_int8_rows_lookup_and_matmul_agree():
    torch.manual_seed(0)
    table = torch.randn(50, 64)
    lin = q4.int8_rows(table)
    assert isinstance(lin, Int8Linear) and lin.nbytes() == 50 * 64 + 50 * 2
    ids = torch.tensor([3, 7])
    torch.testing.assert_close(lin.rows(ids), table[ids], atol=table.abs().max().item() / 127, rtol=0)
    x = torch.randn(1, 64)
    torch.testing.assert_close(lin(x), x @ lin.rows(torch.arange(50)).T, atol=1e-3, rtol=1e-3)


def test_int4_linear_checks_its_inputs():
    with pytest.raises(ValueError, match="0..15"):
        Int4Linear(torch.full((4, 32), 16, dtype=torch.uint8), torch.ones(4, 1), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="scale/minimum"):
        Int4Linear(torch.zeros(4, 32, dtype=torch.uint8), torch.ones(4, 2), torch.zeros(4, 2))


@pytest.mark.slow
def test_model_from_gguf_matches_the_converted_model_on_the_q4_1_grid():
    from slm_lib.smollm import compress as sc

    loaded = smollm.load()
    ids = torch.tensor([[1, 504, 3458, 282, 260, 1345, 30, 216]])
    from_file = q4.fast_from_gguf(smollm.gguf_path())
    rebuilt = sc.build_fast(loaded.model, loaded.tokenizer, "int4-q4_1")[0]
    a = from_file.forward(ids, from_file.new_cache(8))
    b = rebuilt.forward(ids, rebuilt.new_cache(8))
    with torch.inference_mode():
        ref = loaded.model(ids).logits  # float32, the dequantized file
    assert torch.equal(a.argmax(-1), b.argmax(-1))
    torch.testing.assert_close(a, b, atol=0.05, rtol=0)  # the same codes; only the head's rounding differs
    assert (a.argmax(-1) == ref.argmax(-1)).float().mean() >= 0.75
