"""A Llama forward pass in plain torch, fast enough to chat with on two CPU cores.

transformers' ``LlamaForCausalLM`` spends most of a 135M model's decode step in
Python (masks, cache objects, hooks): ~10 tokens/s here. The maths is small:
per layer an RMSNorm, one fused q/k/v matmul, RoPE, attention over a KV cache,
an output matmul, another RMSNorm and a SwiGLU MLP. Written out directly with
fused weights and a preallocated KV cache, the same model runs 2-3x faster and
gives the same logits (tests compare against transformers).

Weights can be float (``nn.functional.linear``) or int8 per output channel,
multiplied by torch's CPU int8 weight-only kernel ``torch._weight_int8pack_mm``
(activations in bfloat16, the layout that kernel is fast for).

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

__all__ = ["DenseLinear", "FastLlama", "Int8Linear", "KVCache", "Linear", "generate_tokens"]


class DenseLinear:
    """``y = x @ W.T`` with a float weight of shape (out, in)."""

    def __init__(self, weight: Tensor) -> None:
        self.weight = weight.contiguous()

    def __call__(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight)

    def nbytes(self) -> int:
        return self.weight.numel() * self.weight.element_size()


class Int8Linear:
    """``y ≈ x @ (codes * scale).T`` with int8 codes (out, in) and one float scale per output row.

    The CPU kernel reads 1 byte per weight instead of 4; it wants bfloat16 activations.
    """

    def __init__(self, codes: Tensor, scales: Tensor) -> None:
        if codes.dtype != torch.int8 or codes.dim() != 2 or scales.shape != (codes.shape[0],):
            raise ValueError(f"need int8 codes (out, in) and scales (out,), got {codes.dtype} {tuple(codes.shape)}")
        self.codes = codes.contiguous()
        self.scales = scales.to(torch.bfloat16).contiguous()

    def __call__(self, x: Tensor) -> Tensor:
        shape = x.shape
        y = torch._weight_int8pack_mm(x.reshape(-1, shape[-1]).to(torch.bfloat16), self.codes, self.scales)
        return y.to(x.dtype).reshape(*shape[:-1], -1)

    def nbytes(self) -> int:
        return self.codes.numel() + self.scales.numel() * 2  # scales kept as 16-bit floats


Linear = DenseLinear | Int8Linear
LinearFactory = Callable[[Tensor], Linear]  # float weight (out, in) -> a Linear


@dataclass
class _Layer:
    attn_norm: Tensor  # (d,)
    qkv: Linear  # (q_dim + 2 * kv_dim, d): q, k and v projections stacked, one matmul
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
    """Inference-only Llama built from a transformers Llama's weights (which it never modifies)."""

    def __init__(
        self, config: object, embed: Tensor, final_norm: Tensor, lm_head: Linear, layers: list[_Layer]
    ) -> None:
        self.n_heads = config.num_attention_heads
        self.n_kv = config.num_key_value_heads
        self.head_dim = getattr(config, "head_dim", None) or config.hidden_size // self.n_heads
        self.eps = config.rms_norm_eps
        self.max_len = config.max_position_embeddings
        self.embed, self.final_norm, self.lm_head, self.layers = embed, final_norm, lm_head, layers
        theta = (getattr(config, "rope_parameters", None) or {}).get("rope_theta") or config.rope_theta
        # RoPE tables for every position: (max_len, head_dim), halves repeated as in transformers
        inv_freq = 1.0 / (theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float32) / self.head_dim))
        freqs = torch.outer(torch.arange(self.max_len, dtype=torch.float32), inv_freq)
        angles = torch.cat([freqs, freqs], dim=-1)
        self.cos, self.sin = angles.cos(), angles.sin()

    @classmethod
    def from_hf(
        cls,
        model: torch.nn.Module,
        make_linear: LinearFactory = DenseLinear,
        weights: dict[str, Tensor] | None = None,
    ) -> FastLlama:
        """Copy (and optionally re-encode) a transformers Llama's weights; ``model`` is left as is.

        Args:
            model: a transformers ``LlamaForCausalLM``.
            make_linear: turns each (fused) float weight (out, in) into a Linear, e.g. an int8 one.
            weights: replacement weights by module name (``"model.layers.0.mlp.down_proj"``), e.g. pruned.
        """
        cfg, base, swap = model.config, model.model, weights or {}

        def w(name: str, module: torch.nn.Module) -> Tensor:
            return swap.get(name, module.weight).detach().float()

        layers = []
        for i, blk in enumerate(base.layers):
            att, mlp, pre = blk.self_attn, blk.mlp, f"model.layers.{i}"
            qkv = torch.cat([w(f"{pre}.self_attn.{n}", getattr(att, n)) for n in ("q_proj", "k_proj", "v_proj")])
            gate_up = torch.cat([w(f"{pre}.mlp.gate_proj", mlp.gate_proj), w(f"{pre}.mlp.up_proj", mlp.up_proj)])
            layers.append(
                _Layer(
                    attn_norm=blk.input_layernorm.weight.detach().float().clone(),
                    qkv=make_linear(qkv),
                    o=make_linear(w(f"{pre}.self_attn.o_proj", att.o_proj).clone()),
                    mlp_norm=blk.post_attention_layernorm.weight.detach().float().clone(),
                    gate_up=make_linear(gate_up),
                    down=make_linear(w(f"{pre}.mlp.down_proj", mlp.down_proj).clone()),
                )
            )
        embed = base.embed_tokens.weight.detach().float().clone()
        head = model.lm_head.weight.detach().float()
        lm_head = DenseLinear(embed if head.data_ptr() == base.embed_tokens.weight.data_ptr() else head.clone())
        return cls(cfg, embed, base.norm.weight.detach().float().clone(), lm_head, layers)

    def new_cache(self, max_len: int) -> KVCache:
        """An empty KV cache for one sequence of at most ``max_len`` tokens (one per generation)."""
        if not 1 <= max_len <= self.max_len:
            raise ValueError(f"max_len must be in [1, {self.max_len}], got {max_len}")
        shape = (len(self.layers), self.n_kv, max_len, self.head_dim)
        return KVCache(torch.zeros(shape), torch.zeros(shape))

    def _rope(self, x: Tensor, pos: int) -> Tensor:
        # x: (1, heads, T, hd); rotate pairs (i, i + hd/2) by the position's angle
        cos = self.cos[pos : pos + x.shape[2]]
        sin = self.sin[pos : pos + x.shape[2]]
        half = self.head_dim // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * cos + rotated * sin

    def _attend(self, q: Tensor, keys: Tensor, vals: Tensor) -> Tensor:
        """Grouped-query attention of q (1, nh, T, hd) over keys/values (nkv, S, hd) -> (1, T, nh * hd)."""
        nh, T, hd = q.shape[1], q.shape[2], self.head_dim
        if T > 1:  # a whole prompt from position 0: causal mask; each kv head serves nh / nkv query heads
            group = nh // self.n_kv
            k = keys.repeat_interleave(group, dim=0).unsqueeze(0)  # (1, nh, S, hd)
            v = vals.repeat_interleave(group, dim=0).unsqueeze(0)
            att = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (1, nh, T, hd)
            return att.transpose(1, 2).reshape(1, T, nh * hd)
        # one new token sees every cached position, so no mask. Plain matmuls: torch's fused
        # CPU attention kernel is ~100x slower than this for a single query.
        qg = q.view(self.n_kv, nh // self.n_kv, hd)  # (nkv, group, hd)
        scores = torch.matmul(qg, keys.transpose(1, 2)) * hd**-0.5  # (nkv, group, S)
        out = torch.matmul(scores.softmax(dim=-1), vals)  # (nkv, group, hd)
        return out.reshape(1, 1, nh * hd)

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
        x = self.embed[ids]  # (1, T, d)
        for i, lyr in enumerate(self.layers):
            h = F.rms_norm(x, (x.shape[-1],), lyr.attn_norm, self.eps)
            q, k, v = lyr.qkv(h).split([nh * hd, nkv * hd, nkv * hd], dim=-1)
            q = self._rope(q.view(1, T, nh, hd).transpose(1, 2), pos)  # (1, nh, T, hd)
            k = self._rope(k.view(1, T, nkv, hd).transpose(1, 2), pos)  # (1, nkv, T, hd)
            cache.k[i, :, pos : pos + T] = k[0]
            cache.v[i, :, pos : pos + T] = v.view(T, nkv, hd).transpose(0, 1)
            x = x + lyr.o(self._attend(q, cache.k[i, :, : pos + T], cache.v[i, :, : pos + T]))
            h = F.rms_norm(x, (x.shape[-1],), lyr.mlp_norm, self.eps)
            gate, up = lyr.gate_up(h).chunk(2, dim=-1)
            x = x + lyr.down(F.silu(gate) * up)
        cache.length = pos + T
        if last_only:
            x = x[:, -1:]
        return self.lm_head(F.rms_norm(x, (x.shape[-1],), self.final_norm, self.eps))


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
