"""How much memory a model needs, whether it fits, and how fast it could generate on a device.

Memory = weights + KV cache + a runtime allowance:

- weights: every parameter x bits per weight / 8. A mixture-of-experts model must hold *all* its
  experts, so the total parameter count is used, not the active one.
- KV cache: for each layer the model keeps one key and one value vector per KV head per token,
  so ``2 x n_layers x n_kv_heads x head_dim x context x bytes``. Grouped-query attention (GQA)
  shares each KV head between several query heads, which is why ``n_kv_heads`` (not ``n_heads``)
  appears. Models with sliding-window layers (Gemma 2/3) keep fewer tokens in those layers, so
  the formula is an upper bound for them.
- allowance: 10% on top for activations and runtime buffers (an assumption, not a measurement).

Missing data is not "does not fit": :func:`estimate_need` computes what the published numbers
allow (the weights are a lower bound when the KV cache is unknown) and names what is missing, and
:meth:`Need.status` says "fits", "may fit", "does not fit" or "cannot tell" for a memory budget.

Speed is *estimated*: generating one token reads every active weight (and the KV cache) from
memory once, so tokens/s <= bandwidth / bytes read per token. Published measured runs are listed
beside it where they exist.

Example:
    >>> from slm_lib.catalog.cards import get_card, load_models
    >>> card = get_card(load_models(), "llama-3.2-3b")
    >>> round(estimate_memory(card, "q4_K_M", 8192).weights_gb, 2)   # Ollama's download: 2.0 GB
    1.96
    >>> estimate_need(card, "q4_K_M", 8192).status(1.5)
    'does not fit'
"""

from __future__ import annotations

from dataclasses import dataclass

from slm_lib.catalog.cards import ModelCard
from slm_lib.catalog.hardware import (
    DEVICES,
    GB,
    MEASURED,
    QUANTS,
    DevicePreset,
    MeasuredSpeed,
    QuantPreset,
    custom_device,
    measured_speeds,
    resolve_bits,
)

__all__ = [  # the hardware names stay importable from here for existing callers
    "DEVICES",
    "FIT_STATUSES",
    "KV_BITS",
    "MEASURED",
    "OVERHEAD_FRACTION",
    "QUANTS",
    "DevicePreset",
    "MeasuredSpeed",
    "MemoryEstimate",
    "Need",
    "QuantPreset",
    "SpeedEstimate",
    "custom_device",
    "estimate_memory",
    "estimate_need",
    "estimate_speed",
    "fits",
    "kv_cache_bytes",
    "measured_speeds",
    "memory_table",
    "resolve_bits",
]

OVERHEAD_FRACTION = 0.10
KV_BITS = (4, 8, 16, 32)
FITS, MAY_FIT, TOO_BIG, CANNOT_TELL = "fits", "may fit", "does not fit", "cannot tell"
FIT_STATUSES = (FITS, MAY_FIT, TOO_BIG, CANNOT_TELL)
_NO_KV = "KV-cache size"
_NO_CONTEXT = "maximum context"
_NO_PARAMS = "parameter count"


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


def _check_context_value(context_tokens: int) -> None:
    if isinstance(context_tokens, bool) or not isinstance(context_tokens, int) or context_tokens < 1:
        raise ValueError(f"context length must be a whole number of tokens >= 1, got {context_tokens!r}")


def _check_context(card: ModelCard, context_tokens: int) -> None:
    _check_context_value(context_tokens)
    if card.context_tokens is not None and context_tokens > card.context_tokens:
        raise ValueError(f"context {context_tokens:,} tokens is above {card.name}'s maximum of {card.context_tokens:,}")


def _kv_bytes(card: ModelCard, context_tokens: int, kv_bits: int) -> int | None:
    if kv_bits not in KV_BITS:
        raise ValueError(f"KV-cache bits must be one of {KV_BITS}, got {kv_bits!r}")
    if not card.has_architecture:
        return None
    # one K and one V vector (head_dim numbers) per layer, per KV head, per token
    assert card.n_layers and card.n_kv_heads and card.head_dim  # has_architecture guarantees these
    return 2 * card.n_layers * card.n_kv_heads * card.head_dim * context_tokens * kv_bits // 8


def kv_cache_bytes(card: ModelCard, context_tokens: int, kv_bits: int = 16) -> int | None:
    """Bytes of KV cache at this context, or None when the architecture is not published.

    Example:
        >>> from slm_lib.catalog.cards import get_card, load_models
        >>> llama_3_2_3b = get_card(load_models(), "llama-3.2-3b")
        >>> kv_cache_bytes(llama_3_2_3b, 8192)   # 2 x 28 layers x 8 kv heads x 128 x 8192 x 2 bytes
        939524096
    """
    _check_context(card, context_tokens)
    return _kv_bytes(card, context_tokens, kv_bits)


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


@dataclass(frozen=True)
class Need:
    """What one model needs at a quantization and context, from whatever its card publishes.

    ``total_gb`` is the full estimate (weights + KV cache + allowance) when every number is published;
    ``at_least_gb`` is a lower bound from the published numbers alone (None when even the size is
    unknown); ``missing`` names what is not published.
    """

    model_id: str
    model_name: str
    quant: str
    context_tokens: int
    max_context: int | None
    total_gb: float | None
    at_least_gb: float | None
    missing: tuple[str, ...]

    @property
    def context_too_long(self) -> bool:
        return self.max_context is not None and self.context_tokens > self.max_context

    @property
    def gb(self) -> float | None:
        """The best number to compare needs by: the total if known, else the lower bound."""
        return self.total_gb if self.total_gb is not None else self.at_least_gb

    def status(self, budget_gb: float) -> str:
        """'fits', 'may fit', 'does not fit' or 'cannot tell' for this many GB of memory."""
        if self.at_least_gb is None:
            return CANNOT_TELL
        if self.context_too_long or self.at_least_gb > budget_gb:
            return TOO_BIG
        if self.total_gb is not None and self.total_gb > budget_gb:
            return TOO_BIG
        return FITS if self.total_gb is not None and self.max_context is not None else MAY_FIT

    def sentence(self) -> str:
        """One plain sentence for a card: the need, and what is missing to know it fully."""
        setting = f"at {self.quant} with a context of {self.context_tokens:,} tokens"
        if self.at_least_gb is None:
            return "Its parameter count is not published, so its memory cannot be estimated."
        if self.context_too_long:
            return (
                f"Its maximum context is {self.max_context:,} tokens, below the {self.context_tokens:,} you asked for."
            )
        if self.total_gb is not None:
            text = f"Needs about {self.total_gb:.1f} GB {setting} (estimate: weights, KV cache and a 10% allowance)."
        else:
            text = (
                f"Needs at least {self.at_least_gb:.1f} GB {setting} for the weights alone; its KV cache is "
                "not published (no layer and head numbers), so the total is unknown."
            )
        if self.max_context is None:
            text += " Its maximum context is not published, so that context may not be supported."
        return text


def estimate_need(card: ModelCard, quant: str | float, context_tokens: int, kv_bits: int = 16) -> Need:
    """What ``card`` needs at ``quant`` and ``context_tokens``, never raising for missing card data.

    Raises:
        ValueError: only for impossible requests (unknown quantization, context < 1, bad KV bits).

    Example:
        >>> from slm_lib.catalog.cards import get_card, load_models
        >>> need = estimate_need(get_card(load_models(), "phi-3.5-vision"), "q4_K_M", 4096)
        >>> need.total_gb is None, round(need.at_least_gb, 2), need.missing
        (True, 2.79, ('KV-cache size',))
    """
    bits = resolve_bits(quant)
    _check_context_value(context_tokens)
    label = quant if isinstance(quant, str) else f"{bits:g} bits/weight"
    missing = tuple(
        name
        for name, absent in (
            (_NO_PARAMS, card.params_b is None),
            (_NO_KV, not card.has_architecture),
            (_NO_CONTEXT, card.context_tokens is None),
        )
        if absent
    )
    total = at_least = None
    if card.params_b is not None:
        weights = card.params_b * 1e9 * bits / 8 / GB  # all experts of an MoE: params_b is the total
        kv = _kv_bytes(card, context_tokens, kv_bits)
        at_least = weights * (1 + OVERHEAD_FRACTION)
        if kv is not None:
            at_least = total = (weights + kv / GB) * (1 + OVERHEAD_FRACTION)
    return Need(card.id, card.name, label, context_tokens, card.context_tokens, total, at_least, missing)


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
