"""Compress the real SmolLM2-135M-Instruct: int8, int4, magnitude, 2:4, Wanda and structured pruning, measured.

Each variant is built from the on-board float model (which is never modified), then measured the way
llama.cpp's quantize table and the Wanda paper report models: perplexity on held-out English text,
bytes of weights stored, decode speed, and the answer to one fixed prompt.

- int8: one scale per output channel, run by torch's int8 weight-only CPU kernel (real int8 matmuls).
- int4-g32 / int4-q4_1: 4-bit codes in blocks of 32 inputs, run by torch's int4 CPU kernel, on two grids:
  a zero-point grid (integer zero point, 0.0 exactly representable) and Q4_1's (float minimum + step), the
  GGUF's own, which gives back the file's codes (:mod:`slm_lib.smollm.q4`). The token table / head is int8.
- pruned-50 / 2of4: zero the smallest |W| (50% of each matrix / 2 of every 4 inputs).
- wanda-50 / wanda-2of4: score = |W| x ||X||_2 of that weight's input channel over a calibration text,
  compared within each output row (Sun et al. 2023). Zeroed weights stay dense float: no speed-up on CPU.
- mlp-75 / mlp-75-ls: remove 25% of every MLP's channels (:mod:`slm_lib.smollm.structured`): smaller
  matrices, fewer multiply-adds per token; ``-ls`` refits ``down_proj`` by least squares on the calibration text.

Example:
    result = build_variant("int8", on_progress=lambda f, msg: print(f"{f:.0%} {msg}"))
    print(result.perplexity, result.weight_bytes, result.tokens_per_second)
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from slm_lib import settings
from slm_lib.compress.quant_grid import QuantizedTensor, QuantSpec, quantize_tensor
from slm_lib.compress.sparsity import n_of_m_mask, sparse_bytes, unstructured_mask
from slm_lib.smollm import loader as smollm
from slm_lib.smollm.llama_fast import DenseLinear, FastLlama, Int4Linear, Int8Linear, generate_tokens
from slm_lib.smollm.measure import FIXED_PROMPT, Progress, chat_ids, eval_text, perplexity
from slm_lib.smollm.q4 import quantize_q4_1
from slm_lib.smollm.structured import mlp_calibration, prune_mlp_channels

__all__ = [
    "FIXED_PROMPT",
    "VARIANTS",
    "VERSION",
    "CompressConfig",
    "VariantResult",
    "VariantSpec",
    "build_fast",
    "build_variant",
    "cached_result",
    "chat_ids",
    "eval_text",
    "perplexity",
    "wanda_input_norms",
]

VERSION = 2  # bump when a variant's recipe changes, so cached results are recomputed


@dataclass(frozen=True)
class VariantSpec:
    """One row of the table: how it is made and how it is described."""

    name: str
    kind: str  # "float" | "quant" | "prune"
    label: str
    sparsity: float = 0.0  # unstructured/2:4: share of zeroed weights; channels: share of MLP channels removed
    bits: float = 32.0
    pattern: str = "dense"  # "dense" | "unstructured" | "2:4" | "channels"
    refit: bool = False  # channels: refit down_proj by least squares on the calibration text


VARIANTS: dict[str, VariantSpec] = {
    v.name: v
    for v in (
        VariantSpec("float", "float", "float32 (dequantized Q4_1 GGUF)"),
        VariantSpec("int8", "quant", "int8 per-channel, weight-only", bits=8),
        VariantSpec("int4-g32", "quant", "int4 zero-point grid (holds 0.0 exactly), groups of 32", bits=4),
        VariantSpec("int4-q4_1", "quant", "int4 Q4_1 grid (minimum + scale), groups of 32", bits=4),
        VariantSpec("pruned-50", "prune", "magnitude, 50% unstructured", 0.5, pattern="unstructured"),
        VariantSpec("2of4", "prune", "magnitude, 2:4", 0.5, pattern="2:4"),
        VariantSpec("wanda-50", "prune", "Wanda, 50% unstructured", 0.5, pattern="unstructured"),
        VariantSpec("wanda-2of4", "prune", "Wanda, 2:4", 0.5, pattern="2:4"),
        VariantSpec("mlp-75", "prune", "structured: 25% of MLP channels removed", 0.25, pattern="channels"),
        VariantSpec(
            "mlp-75-ls",
            "prune",
            "structured: 25% of MLP channels removed + least-squares refit",
            0.25,
            pattern="channels",
            refit=True,
        ),
    )
}


@dataclass(frozen=True)
class CompressConfig:
    """Measurement settings. Defaults: 2,048 held-out tokens in 4 windows of 512, 64 answer tokens."""

    eval_tokens: int = 2048
    window: int = 512
    calib_tokens: int = 512
    answer_tokens: int = 64
    refit_tokens: int = 2048  # calibration tokens for the structured variants (ranking + least squares)

    def __post_init__(self) -> None:
        if not 16 <= self.window <= 2048:
            raise ValueError(f"window must be in [16, 2048], got {self.window}")
        if self.eval_tokens < self.window or self.eval_tokens % self.window:
            raise ValueError(f"eval_tokens={self.eval_tokens} must be a positive multiple of window={self.window}")
        if not 16 <= self.calib_tokens <= 4096:
            raise ValueError(f"calib_tokens must be in [16, 4096], got {self.calib_tokens}")
        if not 64 <= self.refit_tokens <= 8192:
            raise ValueError(f"refit_tokens must be in [64, 8192], got {self.refit_tokens}")
        if not 1 <= self.answer_tokens <= 512:
            raise ValueError(f"answer_tokens must be in [1, 512], got {self.answer_tokens}")


@dataclass(frozen=True)
class VariantResult:
    """Measured numbers for one variant (a row of the table)."""

    name: str
    label: str
    perplexity: float
    eval_tokens: int
    weight_bytes: int
    bits_per_weight: float
    tokens_per_second: float
    ttft_seconds: float
    build_seconds: float
    answer: str
    sparsity: float
    runtime: str  # how the weights are computed with at run time
    macs_per_token: int = 0  # multiply-adds of the weight matrices per generated token


@torch.inference_mode()
def wanda_input_norms(model: nn.Module, calib_ids: Tensor) -> dict[str, Tensor]:
    """||X_j||_2 over calibration tokens for every decoder Linear's input channel j: name -> (in,)."""
    sums: dict[str, Tensor] = {}
    hooks = []
    for name, mod in model.model.layers.named_modules(prefix="model.layers"):
        if isinstance(mod, nn.Linear):

            def hook(_m: nn.Module, args: tuple[Tensor, ...], _out: Tensor, name: str = name) -> None:
                x = args[0].reshape(-1, args[0].shape[-1]).float()  # (tokens, in)
                sums[name] = sums.get(name, 0) + (x * x).sum(0)

            hooks.append(mod.register_forward_hook(hook))
    try:
        model(input_ids=calib_ids)
    finally:
        for h in hooks:
            h.remove()
    return {name: s.sqrt() for name, s in sums.items()}


def _pruned_weights(model: nn.Module, spec: VariantSpec, norms: dict[str, Tensor] | None) -> dict[str, Tensor]:
    """New (masked) weights for every decoder Linear; the model's own weights are untouched."""
    out = {}
    for name, mod in model.model.layers.named_modules(prefix="model.layers"):
        if not isinstance(mod, nn.Linear):
            continue
        w = mod.weight.detach()  # (out, in)
        score = w.abs() if norms is None else w.abs() * norms[name][None, :]  # Wanda: |W_ij| * ||X_j||
        if "2of4" in spec.name:
            keep = n_of_m_mask(score, 2, 4)
        elif norms is None:
            keep = unstructured_mask(score, spec.sparsity)  # magnitude: one comparison group per matrix
        else:  # Wanda: compare within each output row = keep the top (1 - s) * in of each row
            n_in = w.shape[1]
            keep = n_of_m_mask(score, n_in - round(spec.sparsity * n_in), n_in)
        out[name] = w * keep
    return out


class _Bytes:
    """Tallies stored bytes per weight matrix as the variant would store them."""

    def __init__(self) -> None:
        self.total = 0
        self.params = 0


def build_fast(
    model: nn.Module,
    tokenizer: object,
    name: str,
    config: CompressConfig | None = None,
    on_progress: Progress | None = None,
) -> tuple[FastLlama, int, int, str]:
    """Build variant ``name`` of ``model`` (not modified) as a FastLlama.

    Returns:
        (fast model, stored weight bytes, weight count, runtime description).
    """
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; choose one of {', '.join(VARIANTS)}")
    spec, cfg, tally = VARIANTS[name], config or CompressConfig(), _Bytes()
    say = on_progress or (lambda _f, _m: None)

    def count(w: Tensor, nbytes: int) -> None:
        tally.total += nbytes
        tally.params += w.numel()

    if spec.kind == "quant":
        int8 = QuantSpec(bits=8)

        def make_head(table: Tensor) -> Int8Linear:  # the tied token table / output head: int8 per row
            qt = quantize_tensor(table, int8)
            count(table, qt.nbytes)
            return _int8_linear(qt)

        def make_linear(w: Tensor) -> Int8Linear | Int4Linear:
            if name == "int8":
                qt = quantize_tensor(w, int8)
                count(w, qt.nbytes)
                return _int8_linear(qt)
            if name == "int4-g32":  # zero-point grid: it must contain 0.0 exactly
                qt = quantize_tensor(w, QuantSpec(4, symmetric=False, granularity="group", group_size=32))
                count(w, qt.nbytes)
                return _int4_linear(qt)
            blocks = quantize_q4_1(w)  # Q4_1 grid: from each block's minimum to its maximum
            count(w, blocks.nbytes)
            return blocks.linear()

        say(0.1, f"quantizing every matrix ({spec.label})")
        fast = FastLlama.from_hf(model, make_linear, make_head=make_head)
        runtime = "torch int8 kernel" if name == "int8" else "torch int4 kernel; head int8"
    else:
        weights = None
        if spec.pattern == "channels":  # structured: whole MLP channels go, the matrices shrink
            say(0.05, f"calibration: MLP channels over {cfg.refit_tokens} tokens")
            calib_ids = tokenizer(eval_text()[1])["input_ids"][: cfg.refit_tokens]
            calib = mlp_calibration(model, torch.tensor([calib_ids]))
            say(0.15, "ranking channels" + (" and refitting down_proj by least squares" if spec.refit else ""))
            weights = prune_mlp_channels(model, calib, 1 - spec.sparsity, refit=spec.refit)
        elif spec.kind == "prune":
            norms = None
            if name.startswith("wanda"):
                say(0.05, f"calibration: input norms over {cfg.calib_tokens} tokens")
                calib = tokenizer(eval_text()[1])["input_ids"][: cfg.calib_tokens]
                norms = wanda_input_norms(model, torch.tensor([calib]))
            say(0.1, "computing masks")
            weights = _pruned_weights(model, spec, norms)

        def make_linear(w: Tensor) -> DenseLinear:
            if spec.kind == "prune" and spec.pattern != "channels":
                layout = "n:m" if "2of4" in name else "csr"
                count(w, sparse_bytes(w, layout))
            else:
                count(w, w.numel() * 4)
            return DenseLinear(w)

        fast = FastLlama.from_hf(model, make_linear, weights)
        count(fast.embed.weight, fast.embed.nbytes())
        runtime = "float32 dense" + (" (zeros are still multiplied)" if spec.pattern in ("unstructured", "2:4") else "")
        runtime += ", smaller MLP matrices" if spec.pattern == "channels" else ""
    norms_n = sum(lyr.attn_norm.numel() + lyr.mlp_norm.numel() for lyr in fast.layers) + fast.final_norm.numel()
    return fast, tally.total + norms_n * 4, tally.params + norms_n, runtime


def _int8_linear(qt: QuantizedTensor) -> Int8Linear:
    """Signed int8 codes (out, in) and per-row scales from a symmetric per-channel QuantizedTensor."""
    codes = (qt.int_codes() - qt.zero_points()[:, None]).to(torch.int8).view(qt.shape)
    return Int8Linear(codes, qt.scale.float())


def _int4_linear(qt: QuantizedTensor) -> Int4Linear:
    """The int4 kernel for a zero-point QuantizedTensor in groups of 32: ``(q - z) * s = s * q + (-z * s)``."""
    out, n_in = qt.shape
    scale = qt.scale.float().view(out, n_in // 32)
    minimum = -qt.zero_points().float().view(out, n_in // 32) * scale
    return Int4Linear(qt.int_codes().view(out, n_in), scale, minimum, 32)


# --------------------------------------------------------------------------------------------- cache
def _cache_path(name: str, cfg: CompressConfig) -> Path:
    key = f"{name}-v{VERSION}-e{cfg.eval_tokens}w{cfg.window}c{cfg.calib_tokens}a{cfg.answer_tokens}r{cfg.refit_tokens}"
    folder = settings.cache_dir() / "slm-compress"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{key}.json"


def cached_result(name: str, config: CompressConfig | None = None) -> VariantResult | None:
    """The stored result for ``name`` under ``config``, or None if it was never measured."""
    path = _cache_path(name, config or CompressConfig())
    try:
        return VariantResult(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def build_variant(
    name: str, on_progress: Progress | None = None, config: CompressConfig | None = None, use_cache: bool = True
) -> VariantResult:
    """Build variant ``name`` of the on-board SmolLM2 and measure it (cached by variant and version).

    Example:
        build_variant("2of4").perplexity   # higher than build_variant("float").perplexity
    """
    cfg = config or CompressConfig()
    if use_cache and (hit := cached_result(name, cfg)) is not None:
        return hit
    say = on_progress or (lambda _f, _m: None)
    say(0.0, "loading SmolLM2-135M-Instruct")
    loaded = smollm.load()
    start = time.perf_counter()
    fast, nbytes, nparams, runtime = build_fast(loaded.model, loaded.tokenizer, name, cfg, lambda f, m: say(0.3 * f, m))
    build_s = time.perf_counter() - start
    held_out = loaded.tokenizer(eval_text()[0])["input_ids"]
    if len(held_out) < cfg.eval_tokens:
        raise ValueError(f"held-out text has {len(held_out)} tokens, fewer than eval_tokens={cfg.eval_tokens}")
    ppl = perplexity(fast, torch.tensor(held_out[: cfg.eval_tokens]), cfg.window, lambda f, m: say(0.3 + 0.5 * f, m))
    say(0.8, f"answering the fixed prompt ({cfg.answer_tokens} tokens)")
    prompt = chat_ids(loaded.tokenizer)
    t0 = time.perf_counter()
    tokens, ttft = [], 0.0
    for tok in generate_tokens(fast, prompt, cfg.answer_tokens, stop_ids=(loaded.tokenizer.eos_token_id,)):
        ttft = ttft or time.perf_counter() - t0
        tokens.append(tok)
    total = time.perf_counter() - t0
    result = VariantResult(
        name=name,
        label=VARIANTS[name].label,
        perplexity=ppl,
        eval_tokens=cfg.eval_tokens,
        weight_bytes=nbytes,
        bits_per_weight=8 * nbytes / nparams,
        tokens_per_second=len(tokens) / total,
        ttft_seconds=ttft,
        build_seconds=build_s,
        answer=loaded.tokenizer.decode(tokens, skip_special_tokens=True),
        sparsity=VARIANTS[name].sparsity,
        runtime=runtime,
        macs_per_token=fast.macs_per_token(),
    )
    path = _cache_path(name, cfg)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(result), indent=1))
    tmp.replace(path)
    say(1.0, "done")
    return result
