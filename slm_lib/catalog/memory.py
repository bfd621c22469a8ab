"""How much memory a model needs, and how fast it could generate, on a given device.

Memory = weights + KV cache + a runtime allowance:

- weights: every parameter x bits per weight / 8. A mixture-of-experts model must hold *all* its
  experts, so the total parameter count is used, not the active one.
- KV cache: for each layer the model keeps one key and one value vector per KV head per token,
  so ``2 x n_layers x n_kv_heads x head_dim x context x bytes``. Grouped-query attention (GQA)
  shares each KV head between several query heads, which is why ``n_kv_heads`` (not ``n_heads``)
  appears. Models with sliding-window layers (Gemma 2/3) keep fewer tokens in those layers, so
  the formula is an upper bound for them.
- allowance: 10% on top for activations and runtime buffers (an assumption, not a measurement).

Speed is *estimated*: generating one token reads every active weight (and the KV cache) from
memory once, so tokens/s <= bandwidth / bytes read per token. Published measured runs are listed
beside it where they exist.

Example:
    card = get_card(load_models(), "llama-3.2-3b")
    estimate_memory(card, "q4_K_M", 8192).weights_gb   # ~1.96 (Ollama's download: 2.0 GB)
"""

from __future__ import annotations

from dataclasses import dataclass

from slm_lib.catalog.cards import ModelCard

__all__ = [
    "DEVICES",
    "MEASURED",
    "OVERHEAD_FRACTION",
    "QUANTS",
    "DevicePreset",
    "MeasuredSpeed",
    "MemoryEstimate",
    "QuantPreset",
    "SpeedEstimate",
    "custom_device",
    "estimate_memory",
    "estimate_speed",
    "fits",
    "kv_cache_bytes",
    "measured_speeds",
    "memory_table",
    "resolve_bits",
]

GB = 1e9  # decimal gigabytes, as Ollama and vendors print sizes
OVERHEAD_FRACTION = 0.10
KV_BITS = (4, 8, 16, 32)
_QUANTIZE_README = "https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/README.md"
_PPL_README = "https://github.com/ggml-org/llama.cpp/blob/master/tools/perplexity/README.md"
_BOTH = _QUANTIZE_README + " (bits/weight); " + _PPL_README + " (perplexity on Llama 3 8B)"
_L32 = "https://huggingface.co/meta-llama/Llama-3.2-{}-Instruct (model card, quantization section)"
_NVIDIA = "NVIDIA's published bandwidth"


@dataclass(frozen=True)
class QuantPreset:
    """A quantization level users meet in Ollama / LM Studio, in effective bits per weight."""

    name: str
    bits_per_weight: float
    plain: str  # one plain sentence
    source: str


QUANTS: dict[str, QuantPreset] = {
    q.name: q
    for q in (
        QuantPreset(
            "fp16", 16.0, "Every weight is a 16-bit float: the reference quality and the most memory.", _QUANTIZE_README
        ),
        QuantPreset(
            "q8_0",
            8.5,
            "8-bit integers with one scale per block of 32 weights: half of fp16, and on "
            "Llama 3 8B perplexity rose by only 0.003.",
            _BOTH,
        ),
        QuantPreset(
            "q6_K",
            6.56,
            "About 6.5 bits per weight in llama.cpp's 'K' super-blocks: hard to tell apart from fp16.",
            _QUANTIZE_README,
        ),
        QuantPreset(
            "q5_K_M",
            5.70,
            "About 5.7 bits; 'M' keeps the most sensitive tensors at higher precision. "
            "(Bits derived from its 5.33 GiB vs 14.97 GiB fp16 file for Llama 3 8B.)",
            _PPL_README,
        ),
        QuantPreset(
            "q4_K_M",
            4.89,
            "The usual default download: about 4.9 bits per weight, a small quality loss "
            "(+0.18 perplexity on Llama 3 8B) for a quarter of the fp16 size.",
            _BOTH,
        ),
        QuantPreset(
            "q4_0",
            4.64,
            "Plain 4-bit blocks with one scale each: a bit smaller than q4_K_M but worse "
            "(+0.47 perplexity on Llama 3 8B). (Bits derived from its 4.34 GiB file.)",
            _PPL_README,
        ),
        QuantPreset(
            "q2_K",
            3.16,
            "About 3 bits: fits almost anywhere, but quality collapses (Llama 3 8B perplexity 6.23 -> 9.75).",
            _BOTH,
        ),
    )
}


@dataclass(frozen=True)
class DevicePreset:
    id: str
    label: str
    memory_gb: float
    bandwidth_gb_s: float | None  # None: unknown, so no speed estimate
    basis: str  # how the bandwidth figure was obtained
    source: str | None


DEVICES: dict[str, DevicePreset] = {
    d.id: d
    for d in (
        DevicePreset(
            "pi5-8gb",
            "Raspberry Pi 5 (8 GB)",
            8,
            17.1,
            "LPDDR4X-4267 on a 32-bit bus: 4267 MT/s x 4 bytes (theoretical peak)",
            "https://www.raspberrypi.com/products/raspberry-pi-5/",
        ),
        DevicePreset(
            "phone-8gb",
            "Phone (8 GB LPDDR5X)",
            8,
            68.3,
            "LPDDR5X-8533 on a 64-bit bus, typical of 2024 flagship phones (assumption): 8533 MT/s x 8 bytes",
            "JEDEC JESD209-5B (LPDDR5X)",
        ),
        DevicePreset(
            "laptop-16gb",
            "Laptop (16 GB DDR5)",
            16,
            89.6,
            "DDR5-5600, two 64-bit channels: 5600 MT/s x 16 bytes (theoretical peak)",
            "JEDEC JESD79-5 (DDR5)",
        ),
        DevicePreset(
            "mac-m4-16gb",
            "Mac mini M4 (16 GB)",
            16,
            120.0,
            "Apple's published memory bandwidth",
            "https://www.apple.com/mac-mini/specs/",
        ),
        DevicePreset(
            "gpu-24gb",
            "Desktop with a 24 GB GPU (RTX 4090)",
            24,
            1008.0,
            _NVIDIA,
            "https://www.nvidia.com/en-us/geforce/graphics-cards/40-series/rtx-4090/",
        ),
        DevicePreset(
            "h100-80gb",
            "Data-centre GPU (H100 SXM 80 GB)",
            80,
            3350.0,
            _NVIDIA,
            "https://www.nvidia.com/en-us/data-center/h100/",
        ),
    )
}


@dataclass(frozen=True)
class MeasuredSpeed:
    """A published token-generation speed (never measured by this app)."""

    model_id: str
    hardware: str
    setup: str
    tokens_per_s: float
    source: str


_GEERLING = "https://github.com/geerlingguy/ai-benchmarks"
_README, _ISSUES = _GEERLING + " (README)", _GEERLING + " (issues)"
MEASURED: tuple[MeasuredSpeed, ...] = (
    MeasuredSpeed("llama-3.2-3b", "Raspberry Pi 5 8GB (CPU)", "Ollama llama3.2:3b", 4.61, _README),
    MeasuredSpeed("llama-3.2-3b", "Raspberry Pi 5 16GB (CPU)", "Ollama llama3.2:3b", 4.88, _README),
    MeasuredSpeed("llama-3.2-3b", "Intel N150 (CPU)", "llama3.2:3b", 9.06, _README),
    MeasuredSpeed(
        "llama-3.2-3b",
        "Intel i3-1315U, 2 threads",
        "llama-bench tg128, Q4_K_M",
        11.05,
        "https://github.com/geerlingguy/sbc-reviews/issues/107",
    ),
    MeasuredSpeed(
        "llama-3.2-3b", "Intel i5-4278U (2014 MacBook Pro), 2 threads", "llama-bench tg128, Q4_K_M", 7.68, _ISSUES
    ),
    MeasuredSpeed("llama-3.2-3b", "Ryzen AI 5 340 (Framework 13, CPU)", "Ollama llama3.2:3b", 23.81, _ISSUES),
    MeasuredSpeed("llama-3.2-3b", "OnePlus 12 phone (CPU)", "ExecuTorch, SpinQuant 4-bit", 19.7, _L32.format("3B")),
    MeasuredSpeed("llama-3.2-3b", "OnePlus 12 phone (CPU)", "ExecuTorch, BF16", 7.6, _L32.format("3B")),
    MeasuredSpeed("llama-3.2-1b", "OnePlus 12 phone (CPU)", "ExecuTorch, SpinQuant 4-bit", 50.2, _L32.format("1B")),
    MeasuredSpeed("llama-3.2-1b", "OnePlus 12 phone (CPU)", "ExecuTorch, BF16", 19.2, _L32.format("1B")),
    MeasuredSpeed(
        "llama-3.1-8b",
        "Intel i5-1135G7 (CPU)",
        "llama-bench tg128, Q4_K_M",
        6.86,
        "https://github.com/brand-o/normiebench (issues #46, #38)",
    ),
    MeasuredSpeed(
        "llama-3.1-8b",
        "Intel N100 (CPU)",
        "llama-bench tg128, Q4_K_M",
        3.01,
        "https://github.com/brand-o/normiebench (issues #46, #38)",
    ),
)


@dataclass(frozen=True)
class MemoryEstimate:
    """Memory to run one model; ``kv_cache_gb``/``total_gb`` are None without published architecture."""

    model_id: str
    weight_bits: float
    context_tokens: int
    kv_bits: int
    weights_gb: float
    kv_cache_gb: float | None
    overhead_gb: float
    total_gb: float | None


@dataclass(frozen=True)
class SpeedEstimate:
    """Upper-bound generation speed from memory bandwidth: an estimate, not a measurement."""

    model_id: str
    device_id: str
    gb_read_per_token: float
    tokens_per_s: float
    includes_kv: bool
    label: str = "upper-bound estimate from memory bandwidth"


def resolve_bits(quant: str | float) -> float:
    """Bits per weight for a preset name (``'q4_K_M'``) or a number in (1, 32]."""
    if isinstance(quant, str):
        if quant not in QUANTS:
            raise ValueError(f"unknown quantization {quant!r}; choose one of {', '.join(QUANTS)}")
        return QUANTS[quant].bits_per_weight
    if isinstance(quant, bool) or not isinstance(quant, (int, float)) or not 1 < quant <= 32:
        raise ValueError(f"weight bits must be in (1, 32], got {quant!r}")
    return float(quant)


def _check_context(card: ModelCard, context_tokens: int) -> None:
    if isinstance(context_tokens, bool) or not isinstance(context_tokens, int) or context_tokens < 1:
        raise ValueError(f"context length must be a whole number of tokens >= 1, got {context_tokens!r}")
    if card.context_tokens is not None and context_tokens > card.context_tokens:
        raise ValueError(f"context {context_tokens:,} tokens is above {card.name}'s maximum of {card.context_tokens:,}")


def kv_cache_bytes(card: ModelCard, context_tokens: int, kv_bits: int = 16) -> int | None:
    """Bytes of KV cache at this context, or None when the architecture is not published.

    Example:
        >>> from slm_lib.catalog.cards import get_card, load_models
        >>> llama_3_2_3b = get_card(load_models(), "llama-3.2-3b")
        >>> kv_cache_bytes(llama_3_2_3b, 8192)   # 2 x 28 layers x 8 kv heads x 128 x 8192 x 2 bytes
        939524096
    """
    _check_context(card, context_tokens)
    if kv_bits not in KV_BITS:
        raise ValueError(f"KV-cache bits must be one of {KV_BITS}, got {kv_bits!r}")
    if not card.has_architecture:
        return None
    # one K and one V vector (head_dim numbers) per layer, per KV head, per token
    assert card.n_layers and card.n_kv_heads and card.head_dim  # has_architecture guarantees these
    return 2 * card.n_layers * card.n_kv_heads * card.head_dim * context_tokens * kv_bits // 8


def estimate_memory(
    card: ModelCard, weight_bits: str | float, context_tokens: int, kv_bits: int = 16
) -> MemoryEstimate:
    """Weights + KV cache + allowance for one model at a quantization and context length.

    Raises:
        ValueError: unknown quantization, context < 1 or above the model's maximum, or unknown size.
    """
    bits = resolve_bits(weight_bits)
    if card.params_b is None:
        raise ValueError(f"{card.name}'s parameter count is not published, so its memory cannot be estimated")
    kv = kv_cache_bytes(card, context_tokens, kv_bits)
    weights_gb = card.params_b * 1e9 * bits / 8 / GB  # all experts of an MoE: params_b is the total
    kv_gb = None if kv is None else kv / GB
    overhead_gb = OVERHEAD_FRACTION * (weights_gb + (kv_gb or 0.0))
    total = None if kv_gb is None else weights_gb + kv_gb + overhead_gb
    return MemoryEstimate(card.id, bits, context_tokens, kv_bits, weights_gb, kv_gb, overhead_gb, total)


def memory_table(card: ModelCard, context_tokens: int, kv_bits: int = 16) -> list[MemoryEstimate]:
    """One estimate per quantization preset, fp16 first."""
    return [estimate_memory(card, name, context_tokens, kv_bits) for name in QUANTS]


def fits(estimate: MemoryEstimate, memory_gb: float) -> bool | None:
    """True/False when the total is known; None when the KV cache size is not published."""
    if memory_gb <= 0:
        raise ValueError(f"device memory must be above 0 GB, got {memory_gb!r}")
    return None if estimate.total_gb is None else estimate.total_gb <= memory_gb


def custom_device(memory_gb: float, bandwidth_gb_s: float | None = None) -> DevicePreset:
    """A user-described device; ValueError for impossible values (0 GB RAM, negative bandwidth)."""
    if isinstance(memory_gb, bool) or not isinstance(memory_gb, (int, float)) or not 0 < memory_gb <= 10_000:
        raise ValueError(f"device memory must be above 0 GB (and at most 10,000), got {memory_gb!r}")
    if bandwidth_gb_s is not None and not 0 < bandwidth_gb_s <= 100_000:
        raise ValueError(f"memory bandwidth must be above 0 GB/s, got {bandwidth_gb_s!r}")
    return DevicePreset(
        "custom", f"Your device ({memory_gb:g} GB)", float(memory_gb), bandwidth_gb_s, "entered by you", None
    )


def estimate_speed(
    card: ModelCard, device: DevicePreset, weight_bits: str | float, context_tokens: int, kv_bits: int = 16
) -> SpeedEstimate | None:
    """Upper-bound tokens/s = bandwidth / bytes read per token; None without a bandwidth figure."""
    bits = resolve_bits(weight_bits)
    if device.bandwidth_gb_s is None or card.params_b is None:
        return None
    # each new token reads every *active* weight once (an MoE skips the experts it did not pick) ...
    active_b = card.active_params_b if card.active_params_b is not None else card.params_b
    read_gb = active_b * 1e9 * bits / 8 / GB
    # ... and the whole KV cache so far, to attend to every earlier token
    kv = kv_cache_bytes(card, context_tokens, kv_bits)
    read_gb += (kv or 0) / GB
    return SpeedEstimate(card.id, device.id, read_gb, device.bandwidth_gb_s / read_gb, kv is not None)


def measured_speeds(model_id: str) -> list[MeasuredSpeed]:
    """Published measured generation speeds for this model (may be empty)."""
    return [m for m in MEASURED if m.model_id == model_id]
