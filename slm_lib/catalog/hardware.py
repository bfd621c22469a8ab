"""The hardware side of "will it fit?": quantization levels, device presets, the memory reserve, measured speeds.

Every figure names where it comes from. Bits per weight and perplexity changes are llama.cpp's own:
bits from the quantize tool's README table (Llama 3.1 8B), perplexity deltas from the help text of
``quantize.cpp`` (Llama 3 8B on WikiText-2). Device bandwidths are theoretical peaks from the memory
standard or the vendor. The reserve for the operating system is this app's rule, not a measurement.

Example:
    >>> default_reserve_gb(8), default_reserve_gb(32)
    (1.6, 6.4)
    >>> DEVICES["laptop-16gb"].bandwidth_gb_s
    89.6
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "DEVICES",
    "GB",
    "MEASURED",
    "QUANTS",
    "RESERVE_FRACTION",
    "RESERVE_MIN_GB",
    "RESERVE_RULE",
    "DevicePreset",
    "MeasuredSpeed",
    "QuantPreset",
    "custom_device",
    "default_reserve_gb",
    "measured_speeds",
    "resolve_bits",
]

GB = 1e9  # decimal gigabytes, as Ollama and vendors print sizes
_LLAMACPP = "https://github.com/ggml-org/llama.cpp/blob/master/tools/"
_QUANTIZE_README = _LLAMACPP + "quantize/README.md"
_QUANTIZE_HELP = _LLAMACPP + "quantize/quantize.cpp"
_PPL_README = _LLAMACPP + "perplexity/README.md"
_BITS_AND_PPL = (
    f"{_QUANTIZE_README} (bits/weight, Llama 3.1 8B); {_QUANTIZE_HELP} (help text: perplexity change, Llama 3 8B)"
)
_L32 = "https://huggingface.co/meta-llama/Llama-3.2-{}-Instruct (model card, quantization section)"
_NVIDIA = "NVIDIA's published bandwidth"

# Memory kept free for the operating system and other apps: this app's rule (an assumption, stated on
# the pages), the larger of a fixed floor and a share of the device's memory.
RESERVE_MIN_GB = 1.5
RESERVE_FRACTION = 0.20
RESERVE_RULE = "the larger of 1.5 GB and 20% of the device's memory"


def default_reserve_gb(memory_gb: float) -> float:
    """GB to leave for the operating system and other apps: max(1.5 GB, 20% of memory), rounded to 0.1 GB."""
    return round(max(RESERVE_MIN_GB, RESERVE_FRACTION * memory_gb), 1)


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
            "fp16",
            16.0,
            "Every weight is a 16-bit float: the reference quality and the most memory.",
            _QUANTIZE_README,
        ),
        QuantPreset(
            "q8_0",
            8.5,
            "8-bit integers with one scale per block of 32 weights: about half of fp16, and on "
            "Llama 3 8B perplexity rose by only 0.003.",
            _BITS_AND_PPL,
        ),
        QuantPreset(
            "q6_K",
            6.56,
            "About 6.6 bits per weight in llama.cpp's 'K' super-blocks: on Llama 3 8B perplexity rose by 0.02.",
            _BITS_AND_PPL,
        ),
        QuantPreset(
            "q5_K_M",
            5.70,
            "About 5.7 bits; 'M' keeps the most sensitive tensors at higher precision "
            "(+0.06 perplexity on Llama 3 8B).",
            _BITS_AND_PPL,
        ),
        QuantPreset(
            "q4_K_M",
            4.89,
            "The usual default download: about 4.9 bits per weight, about 30% of the fp16 size "
            "(3.3x smaller), for a small quality loss (+0.18 perplexity on Llama 3 8B).",
            _BITS_AND_PPL,
        ),
        QuantPreset(
            "q4_0",
            4.64,
            "Plain 4-bit blocks with one scale each: a bit smaller than q4_K_M but worse "
            "(+0.47 perplexity on Llama 3 8B). (Bits derived from its 4.34 GiB file against 14.96 GiB at F16.)",
            f"{_QUANTIZE_HELP} (help text: size and perplexity change, Llama 3 8B); {_QUANTIZE_README} (F16 size)",
        ),
        QuantPreset(
            "q2_K",
            3.16,
            "About 3 bits: fits almost anywhere, but quality collapses (Llama 3 8B perplexity +3.52, from 6.23).",
            f"{_BITS_AND_PPL}; {_PPL_README} (F16 perplexity 6.23)",
        ),
    )
}


def resolve_bits(quant: str | float) -> float:
    """Bits per weight for a preset name (``'q4_K_M'``) or a number in (1, 32]."""
    if isinstance(quant, str):
        if quant not in QUANTS:
            raise ValueError(f"unknown quantization {quant!r}; choose one of {', '.join(QUANTS)}")
        return QUANTS[quant].bits_per_weight
    if isinstance(quant, bool) or not isinstance(quant, (int, float)) or not 1 < quant <= 32:
        raise ValueError(f"weight bits must be in (1, 32], got {quant!r}")
    return float(quant)


@dataclass(frozen=True)
class DevicePreset:
    id: str
    label: str
    memory_gb: float
    bandwidth_gb_s: float | None  # None: unknown, so no speed estimate
    basis: str  # how the bandwidth figure was obtained
    source: str | None


_DDR5_2CH = "DDR5-5600, two 64-bit channels: 5600 MT/s x 16 bytes (theoretical peak; typical, an assumption)"
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
            "laptop-8gb",
            "Laptop (8 GB DDR4)",
            8,
            51.2,
            "DDR4-3200, two 64-bit channels: 3200 MT/s x 16 bytes (theoretical peak; typical of budget "
            "laptops, an assumption)",
            "JEDEC JESD79-4 (DDR4)",
        ),
        DevicePreset("laptop-16gb", "Laptop (16 GB DDR5)", 16, 89.6, _DDR5_2CH, "JEDEC JESD79-5 (DDR5)"),
        DevicePreset("laptop-32gb", "Laptop (32 GB DDR5)", 32, 89.6, _DDR5_2CH, "JEDEC JESD79-5 (DDR5)"),
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


def custom_device(memory_gb: float, bandwidth_gb_s: float | None = None) -> DevicePreset:
    """A user-described device; ValueError for impossible values (0 GB RAM, negative bandwidth)."""
    if isinstance(memory_gb, bool) or not isinstance(memory_gb, (int, float)) or not 0 < memory_gb <= 10_000:
        raise ValueError(f"device memory must be above 0 GB (and at most 10,000), got {memory_gb!r}")
    if bandwidth_gb_s is not None and not 0 < bandwidth_gb_s <= 100_000:
        raise ValueError(f"memory bandwidth must be above 0 GB/s, got {bandwidth_gb_s!r}")
    return DevicePreset(
        "custom", f"Your device ({memory_gb:g} GB)", float(memory_gb), bandwidth_gb_s, "entered by you", None
    )


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
    MeasuredSpeed("llama-3.2-3b", "Ryzen AI 5 340 (Framework 13, CPU)", "Ollama llama3.2:3b", 23.81, _README),
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


def measured_speeds(model_id: str) -> list[MeasuredSpeed]:
    """Published measured generation speeds for this model (may be empty)."""
    return [m for m in MEASURED if m.model_id == model_id]
