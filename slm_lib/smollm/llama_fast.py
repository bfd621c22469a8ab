"""A Llama forward pass in plain torch, fast enough to chat with on two CPU cores.

transformers' ``LlamaForCausalLM`` spends most of a 135M model's decode step in
Python (masks, cache objects, hooks): ~10 tokens/s here. The maths is small:
per layer an RMSNorm, one fused q/k/v matmul, RoPE, attention over a KV cache,
an output matmul, another RMSNorm and a SwiGLU MLP. Written out directly, the
same model gives the same logits (tests compare against transformers) with far
fewer operations per token, and each one dispatched from Python costs a few
microseconds, about as long as the arithmetic of a small matmul. So a decode
step keeps the op count down: q, k and v come out of one matmul (gate and up
of another), RoPE turns q and k in one go, the attention scale 1/sqrt(64) is
folded into the q weights (a power of two: exact), activations stay 2-D
(tokens, features), and the KV cache is preallocated for the whole answer.

Weights can be float (``nn.functional.linear``), int8 per output row (torch's CPU
int8 weight-only kernel ``torch._weight_int8pack_mm``) or int4 in blocks of 32
(torch's CPU int4 kernel ``_weight_int4pack_mm_for_cpu``, bfloat16 activations):
the quantized ones read 1 or 1/2 byte per weight instead of 4.

Example:
    fast = FastLlama.from_hf(model)                # model: a transformers Llama, not modified
    cache = fast.new_cache(256)
    logits = fast.forward(torch.tensor([[1, 2, 3]]), cache)   # (1, 3, vocab)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "DenseLinear",
    "FastLlama",
    "Int4Linear",
    "Int8Linear",
    "KVCache",
    "Layer",
    "Linear",
    "generate_tokens",
]


class DenseLinear:
    """``y = x @ W.T`` with a float weight of shape (out, in)."""

    def __init__(self, weight: Tensor) -> None:
        self.weight = weight.contiguous()
        self.shape = tuple(self.weight.shape)  # (out, in)

    def __call__(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight)

    def rows(self, ids: Tensor) -> Tensor:
        """Rows ``ids`` of the weight, as float: a table lookup (the token embedding)."""
        return self.weight[ids]

    def nbytes(self) -> int:
        return self.weight.numel() * self.weight.element_size()


class Int8Linear:
    """``y ≈ x @ (codes * scale).T`` with int8 codes (out, in) and one scale per output row.

    The CPU kernel reads 1 byte per weight instead of 4 and takes float32 activations as they are.
    """

    def __init__(self, codes: Tensor, scales: Tensor) -> None:
        if codes.dtype != torch.int8 or codes.dim() != 2 or scales.shape != (codes.shape[0],):
            raise ValueError(f"need int8 codes (out, in) and scales (out,), got {codes.dtype} {tuple(codes.shape)}")
        self.codes = codes.contiguous()
        self.scales = scales.to(torch.float16).float().contiguous()  # stored as 16-bit floats
        self.shape = tuple(codes.shape)

    def __call__(self, x: Tensor) -> Tensor:  # x: (tokens, in) float32
        return torch._weight_int8pack_mm(x, self.codes, self.scales)

    def rows(self, ids: Tensor) -> Tensor:
        """Rows ``ids`` dequantized: (len(ids), in). A lookup reads only those rows."""
        return self.codes[ids].float() * self.scales[ids, None]

    def nbytes(self) -> int:
        return self.codes.numel() + self.scales.numel() * 2


class Int4Linear:
    """``y ≈ x @ W.T`` with ``W = scale * code + minimum`` per block of ``group`` inputs, codes 0..15.

    Codes are packed two per byte in the layout of torch's CPU int4 kernel, which computes
    ``(code - 8) * scale + zero`` with ``zero = minimum + 8 * scale`` (scale and zero in bfloat16,
    the only dtype it is vectorised for, so activations go in as bfloat16 too).
    """

    def __init__(self, codes: Tensor, scale: Tensor, minimum: Tensor, group: int = 32) -> None:
        out, n_in = codes.shape
        if scale.shape != (out, n_in // group) or minimum.shape != scale.shape or n_in % group:
            raise ValueError(f"need codes (out, in) and scale/minimum (out, in/{group}), got {tuple(codes.shape)}")
        if codes.min() < 0 or codes.max() > 15:
            raise ValueError("int4 codes must lie in 0..15")
        self.group, self.shape = group, (out, n_in)
        self.packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes.to(torch.int32).contiguous(), 2)
        zero = minimum.float() + 8 * scale.float()
        self.scales_zeros = torch.stack([scale.float().t(), zero.t()], dim=-1).to(torch.bfloat16).contiguous()

    def __call__(self, x: Tensor) -> Tensor:  # x: (tokens, in) float32 -> (tokens, out) float32
        y = torch.ops.aten._weight_int4pack_mm_for_cpu(x.to(torch.bfloat16), self.packed, self.group, self.scales_zeros)
        return y.float()

    def nbytes(self) -> int:
        return self.packed.numel() + self.scales_zeros.numel() * 2  # 4-bit codes + 16-bit scale and offset


Linear = DenseLinear | Int8Linear | Int4Linear
LinearFactory = Callable[[Tensor], Linear]  # float weight (out, in) -> a Linear


@dataclass
class Layer:
    """One decoder block's weights; q, k, v are one matmul (and gate, up another)."""

    attn_norm: Tensor  # (d,)
    qkv: Linear  # (q_dim + 2 * kv_dim, d): q (pre-scaled by 1/sqrt(head_dim)), k and v stacked
    o: Linear  # (d, q_dim)
    mlp_norm: Tensor  # (d,)
    gate_up: Linear  # (2 * ffn, d): gate and up stacked
    down: Linear  # (d, ffn)


@dataclass
class KVCache:
    """Keys and values of every layer: (layers, kv_heads, max_len, head_dim) each; ``length`` filled."""

    k: Tensor
    v: Tensor
    length: int = 0


class FastLlama:
    """Inference-only Llama built from a transformers Llama's weights (which it never modifies).

    ``embed`` looks token rows up (``embed.rows(ids)``) and ``lm_head`` maps the last hidden state to
    logits; with tied weights (SmolLM2) they are one object, so the table is stored once.
    """

    def __init__(self, config: object, embed: Linear, final_norm: Tensor, lm_head: Linear, layers: list[Layer]) -> None:
        self.n_heads = config.num_attention_heads
        self.n_kv = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.n_heads
        self.eps = config.rms_norm_eps
        self.max_len = config.max_position_embeddings
        self.embed, self.final_norm, self.lm_head, self.layers = embed, final_norm, lm_head, layers
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta") or config.rope_theta
        # RoPE tables for every position: (max_len, head_dim). transformers rotates pairs (i, i + hd/2):
        # x * cos + cat(-x2, x1) * sin, written here as x * cos + roll(x, hd/2) * sin_signed.
        inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        freqs = torch.outer(torch.arange(self.max_len, dtype=torch.float32), inv_freq)  # (max_len, hd/2)
        self.cos = torch.cat([freqs, freqs], dim=-1).cos()
        self.sin = torch.cat([-freqs.sin(), freqs.sin()], dim=-1)

    @staticmethod
    def q_scale(head_dim: int) -> float:
        """The attention scale folded into the q rows of the qkv weight."""
        return head_dim**-0.5

    @classmethod
    def from_hf(
        cls,
        model: torch.nn.Module,
        make_linear: LinearFactory = DenseLinear,
        weights: dict[str, Tensor] | None = None,
        make_head: LinearFactory | None = None,
    ) -> FastLlama:
        """Copy (and optionally re-encode) a transformers Llama's weights; ``model`` is left as is.

        Args:
            model: a transformers ``LlamaForCausalLM``.
            make_linear: turns each (fused) float weight (out, in) into a Linear, e.g. an int8 one.
            weights: replacement weights by module name (``"model.layers.0.mlp.down_proj"``), e.g. pruned.
            make_head: encodes the token table / output head (float by default).
        """
        cfg, base, swap = model.config, model.model, weights or {}
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads

        def w(name: str, module: torch.nn.Module) -> Tensor:
            return swap.get(name, module.weight).detach().float()

        layers = []
        for i, blk in enumerate(base.layers):
            att, mlp, pre = blk.self_attn, blk.mlp, f"model.layers.{i}"
            q = w(f"{pre}.self_attn.q_proj", att.q_proj) * cls.q_scale(head_dim)
            qkv = torch.cat([q, *(w(f"{pre}.self_attn.{n}", getattr(att, n)) for n in ("k_proj", "v_proj"))])
            gate_up = torch.cat([w(f"{pre}.mlp.gate_proj", mlp.gate_proj), w(f"{pre}.mlp.up_proj", mlp.up_proj)])
            layers.append(
                Layer(
                    attn_norm=blk.input_layernorm.weight.detach().float().clone(),
                    qkv=make_linear(qkv),
                    o=make_linear(w(f"{pre}.self_attn.o_proj", att.o_proj).clone()),
                    mlp_norm=blk.post_attention_layernorm.weight.detach().float().clone(),
                    gate_up=make_linear(gate_up),
                    down=make_linear(w(f"{pre}.mlp.down_proj", mlp.down_proj).clone()),
                )
            )
        table = base.embed_tokens.weight.detach().float()
        head_w = model.lm_head.weight.detach().float()
        encode = make_head or (lambda t: DenseLinear(t.clone()))
        embed = encode(table)
        lm_head = embed if head_w.data_ptr() == base.embed_tokens.weight.data_ptr() else encode(head_w)
        return cls(cfg, embed, base.norm.weight.detach().float().clone(), lm_head, layers)

    def macs_per_token(self) -> int:
        """Multiply-adds of the weight matrices for one token (attention over the cache not counted)."""
        mats = [m for lyr in self.layers for m in (lyr.qkv, lyr.o, lyr.gate_up, lyr.down)] + [self.lm_head]
        return sum(m.shape[0] * m.shape[1] for m in mats)

    def new_cache(self, max_len: int) -> KVCache:
        """An empty KV cache for one sequence of at most ``max_len`` tokens (one per generation)."""
        if not 1 <= max_len <= self.max_len:
            raise ValueError(f"max_len must be in [1, {self.max_len}], got {max_len}")
        shape = (len(self.layers), self.n_kv, max_len, self.head_dim)
        return KVCache(torch.zeros(shape), torch.zeros(shape))

    @torch.inference_mode()
    def forward(self, ids: Tensor, cache: KVCache, last_only: bool = False) -> Tensor:
        """Logits for ``ids`` (1, T) continuing the sequence in ``cache`` (which it extends).

        Returns (1, T, vocab), or (1, 1, vocab) with ``last_only`` (saves the big head matmul).
        """
        if ids.dim() != 2 or ids.shape[0] != 1:
            raise ValueError(f"ids must have shape (1, T), got {tuple(ids.shape)}")
        T, pos = ids.shape[1], cache.length
        if pos + T > cache.k.shape[2]:
            raise ValueError(f"sequence of {pos + T} tokens exceeds the cache ({cache.k.shape[2]})")
        if T > 1 and pos > 0:
            raise ValueError("multi-token steps are only supported from an empty cache")
        hd, nh, nkv = self.head_dim, self.n_heads, self.n_kv
        nqk, group, end = nh + nkv, nh // nkv, pos + T
        cos, sin = self.cos[pos:end, None], self.sin[pos:end, None]  # (T, 1, hd): broadcast over heads
        x = self.embed.rows(ids[0])  # (T, d)
        d = x.shape[-1]
        for i, lyr in enumerate(self.layers):
            h = F.rms_norm(x, (d,), lyr.attn_norm, self.eps)
            qkv = lyr.qkv(h)  # (T, (nh + 2 nkv) * hd)
            qk = qkv[:, : nqk * hd].view(T, nqk, hd)
            qk = qk * cos + qk.roll(hd // 2, -1) * sin  # RoPE on q and k heads at once
            cache.k[i, :, pos:end] = qk[:, nh:].transpose(0, 1)
            cache.v[i, :, pos:end] = qkv[:, nqk * hd :].view(T, nkv, hd).transpose(0, 1)
            keys, vals = cache.k[i, :, :end], cache.v[i, :, :end]  # (nkv, S, hd)
            if T == 1:  # one new token sees every cached position: no mask. Plain matmuls: torch's fused
                # CPU attention kernel is ~100x slower than this for a single query.
                qg = qk[0, :nh].view(nkv, group, hd)  # each kv head serves `group` query heads
                att = torch.matmul(torch.matmul(qg, keys.transpose(1, 2)).softmax(-1), vals)  # (nkv, group, hd)
            else:  # a whole prompt from position 0: causal mask
                q = qk[:, :nh].transpose(0, 1)  # (nh, T, hd)
                k, v = keys.repeat_interleave(group, dim=0), vals.repeat_interleave(group, dim=0)
                att = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=1.0).transpose(0, 1)
            x = x + lyr.o(att.reshape(T, nh * hd))
            h = F.rms_norm(x, (d,), lyr.mlp_norm, self.eps)
            gate, up = lyr.gate_up(h).chunk(2, dim=-1)
            x = x + lyr.down(F.silu(gate) * up)
        cache.length = end
        if last_only:
            x = x[-1:]
        return self.lm_head(F.rms_norm(x, (d,), self.final_norm, self.eps))[None]


@torch.inference_mode()
def generate_tokens(
    fast: FastLlama,
    prompt: Tensor,
    max_new_tokens: int,
    temperature: float = 0.0,
    seed: int | None = 0,
    stop_ids: tuple[int, ...] = (),
) -> Iterator[int]:
    """Yield new token ids one at a time: greedy when ``temperature == 0``, else sampled (seeded).

    The prompt (1, T) runs through the model once; every later step feeds one token and
    reuses the KV cache, so a step costs the same at token 5 and token 500.

    Example:
        ids = list(generate_tokens(fast, torch.tensor([[1, 2, 3]]), 8))
    """
    cache = fast.new_cache(min(fast.max_len, prompt.shape[1] + max_new_tokens))
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    logits = fast.forward(prompt, cache, last_only=True)[0, -1]  # (vocab,)
    for step in range(max_new_tokens):
        if temperature == 0:
            token = int(logits.argmax())
        else:
            probs = torch.softmax(logits.float() / temperature, dim=-1)
            token = int(torch.multinomial(probs, 1, generator=gen))
        yield token
        if token in stop_ids or step == max_new_tokens - 1 or cache.length >= cache.k.shape[2]:
            return
        logits = fast.forward(torch.tensor([[token]]), cache)[0, -1]
