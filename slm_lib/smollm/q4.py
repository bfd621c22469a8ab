"""Q4_1, the GGUF's own 4-bit grid, and reading the on-board model straight from its GGUF file.

llama.cpp's Q4_1 cuts every row of a weight matrix into blocks of 32 consecutive inputs and stores, per
block, a float16 scale ``d``, a float16 minimum ``m`` and 32 codes of 4 bits: ``w = d * q + m`` with
``q`` in 0..15. The grid starts at the block's minimum and ends at its maximum, wherever they are: it does
not have to contain 0.0. A zero-point grid (``w = (q - z) * s`` with an integer ``z``, the layout PyTorch
and ONNX use) must contain 0.0 exactly, so its 16 levels sit up to half a step away from Q4_1's: the same
4 bits per weight, re-quantized onto a shifted grid, move almost every weight. :func:`quantize_q4_1`
applied to weights that came out of a Q4_1 file gives back the file's own codes.

Example:
    >>> w = torch.randn(8, 64)
    >>> blocks = quantize_q4_1(w)
    >>> torch.equal(quantize_q4_1(blocks.dequantize()).codes, blocks.codes)  # a Q4_1 model maps onto itself
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch
from torch import Tensor

from slm_lib.smollm.llama_fast import FastLlama, Int4Linear, Int8Linear, Layer

__all__ = ["BLOCK", "Q4Blocks", "fast_from_gguf", "int8_rows", "quantize_q4_1", "read_q4_1"]

BLOCK = 32  # weights per block, along the input dimension


@dataclass(frozen=True, eq=False)
class Q4Blocks:
    """A (out, in) matrix in Q4_1: codes 0..15, one float16 scale and minimum per block of 32 inputs."""

    codes: Tensor  # (out, in) uint8, one code per weight (packed two per byte when stored)
    d: Tensor  # (out, in / 32) float32 holding float16 values: the grid step
    m: Tensor  # (out, in / 32) float32 holding float16 values: the block's minimum = the value of code 0

    @property
    def nbytes(self) -> int:
        """Stored bytes as in the GGUF file: 16 bytes of codes + 2 + 2 per block of 32 (5 bits/weight)."""
        return self.codes.numel() // 2 + 2 * (self.d.numel() + self.m.numel())

    def dequantize(self) -> Tensor:
        """``d * q + m`` in float32, (out, in)."""
        out, n_in = self.codes.shape
        q = self.codes.view(out, n_in // BLOCK, BLOCK).float()
        return (q * self.d[..., None] + self.m[..., None]).view(out, n_in)

    @staticmethod
    def cat(parts: list[Q4Blocks]) -> Q4Blocks:
        """Stack matrices with the same input size along their rows (e.g. q, k and v into one qkv)."""
        return Q4Blocks(*(torch.cat([getattr(p, f) for p in parts]) for f in ("codes", "d", "m")))

    def scaled(self, factor: float) -> Q4Blocks:
        """The matrix times ``factor`` (same codes): ``d`` and ``m`` scaled, exactly for a power of two."""
        return Q4Blocks(self.codes, self.d * factor, self.m * factor)

    def linear(self) -> Int4Linear:
        """This matrix on torch's int4 CPU kernel (the same codes; scale and offset in bfloat16)."""
        return Int4Linear(self.codes, self.d, self.m, BLOCK)


@torch.no_grad()
def quantize_q4_1(w: Tensor) -> Q4Blocks:
    """Quantize ``w`` (out, in), not modified, the way llama.cpp writes Q4_1 (``quantize_row_q4_1_ref``).

    Per block: ``d = (max - min) / 15``, ``m = min``, ``q = round((w - min) / d)``; ``d`` and ``m`` are stored
    as float16. Round-trip error is at most half a step plus float16 rounding of ``d`` and ``m``.
    """
    if w.dim() != 2 or w.shape[1] % BLOCK:
        raise ValueError(f"need a matrix whose input size is a multiple of {BLOCK}, got {tuple(w.shape)}")
    g = w.detach().float().reshape(w.shape[0], -1, BLOCK)  # (out, blocks, 32)
    lo, hi = g.amin(-1), g.amax(-1)
    d = (hi - lo) / 15
    inv = torch.where(d > 0, 1 / d, torch.zeros_like(d))
    q = torch.clamp(torch.floor((g - lo[..., None]) * inv[..., None] + 0.5), 0, 15)  # ggml: (int)(x + 0.5f)
    return Q4Blocks(q.to(torch.uint8).view(w.shape), d.half().float(), lo.half().float())


def read_q4_1(raw: np.ndarray | Tensor) -> Q4Blocks:
    """Parse a Q4_1 tensor as stored in a GGUF file: (rows, 20 * blocks) bytes -> codes, ``d``, ``m``.

    Each 20-byte block is ``d`` (float16), ``m`` (float16), then 16 bytes whose low nibbles are codes
    0..15 of the block and whose high nibbles are codes 16..31.
    """
    data = torch.from_numpy(np.array(raw, dtype=np.uint8))  # a copy: the file is mapped read-only
    rows = data.shape[0]
    blocks = data.view(rows, -1, 20)  # (rows, n_blocks, 20)
    d = blocks[..., 0:2].contiguous().view(torch.float16)[..., 0].float()  # (rows, n_blocks)
    m = blocks[..., 2:4].contiguous().view(torch.float16)[..., 0].float()
    qs = blocks[..., 4:]  # (rows, n_blocks, 16)
    codes = torch.cat([qs & 0x0F, qs >> 4], dim=-1)  # (rows, n_blocks, 32): low nibbles first
    return Q4Blocks(codes.reshape(rows, -1).contiguous(), d, m)


def int8_rows(w: Tensor) -> Int8Linear:
    """``w`` (rows, in) as int8 with one scale per row (symmetric): the head and the token table."""
    scale = (w.abs().amax(1) / 127).clamp(min=torch.finfo(torch.float16).tiny)
    codes = torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)
    return Int8Linear(codes, scale)


def _unpermute(blocks: Q4Blocks, n_head: int) -> Q4Blocks:
    """Undo llama.cpp's row order for q and k (pairs interleaved) back to Hugging Face's (halves)."""

    def rows(t: Tensor) -> Tensor:
        return t.reshape(n_head, t.shape[0] // n_head // 2, 2, -1).transpose(1, 2).reshape(t.shape)

    return Q4Blocks(rows(blocks.codes), rows(blocks.d), rows(blocks.m))


def fast_from_gguf(path: Path) -> FastLlama:
    """The on-board model straight from its GGUF file, on real int4 and int8 kernels, no float copy.

    Linear layers keep the file's own Q4_1 codes (run by the int4 kernel); the Q8_0 token table, which is
    also the output head, becomes int8 per row (the int8 kernel). Peak memory stays near the file's size.
    """
    import gguf

    reader = gguf.GGUFReader(str(path))

    def field(key: str) -> float:
        f = reader.fields[key]
        return f.parts[f.data[0]][0].item()

    cfg = SimpleNamespace(
        num_attention_heads=int(field("llama.attention.head_count")),
        num_key_value_heads=int(field("llama.attention.head_count_kv")),
        hidden_size=int(field("llama.embedding_length")),
        rms_norm_eps=float(field("llama.attention.layer_norm_rms_epsilon")),
        max_position_embeddings=int(field("llama.context_length")),
        rope_theta=float(field("llama.rope.freq_base")),
    )
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    tensors = {t.name: t for t in reader.tensors}
    n_layers = int(field("llama.block_count"))

    def q4(name: str) -> Q4Blocks:
        t = tensors[name]
        if t.tensor_type != gguf.GGMLQuantizationType.Q4_1:
            raise ValueError(f"{name} is {t.tensor_type.name}, expected Q4_1")
        return read_q4_1(t.data)

    def vec(name: str) -> Tensor:
        return torch.from_numpy(np.array(tensors[name].data, dtype=np.float32))

    layers = []
    for i in range(n_layers):
        b = f"blk.{i}"
        q = _unpermute(q4(f"{b}.attn_q.weight"), cfg.num_attention_heads).scaled(FastLlama.q_scale(head_dim))
        k = _unpermute(q4(f"{b}.attn_k.weight"), cfg.num_key_value_heads)
        layers.append(
            Layer(
                attn_norm=vec(f"{b}.attn_norm.weight"),
                qkv=Q4Blocks.cat([q, k, q4(f"{b}.attn_v.weight")]).linear(),
                o=q4(f"{b}.attn_output.weight").linear(),
                mlp_norm=vec(f"{b}.ffn_norm.weight"),
                gate_up=Q4Blocks.cat([q4(f"{b}.ffn_gate.weight"), q4(f"{b}.ffn_up.weight")]).linear(),
                down=q4(f"{b}.ffn_down.weight").linear(),
            )
        )
    emb = tensors["token_embd.weight"]
    table = torch.from_numpy(gguf.quants.dequantize(emb.data, emb.tensor_type))  # (vocab, d) from Q8_0
    head = int8_rows(table)
    del table
    return FastLlama(cfg, head, vec("output_norm.weight"), head, layers)
