"""Streamlit helpers for the gallery, compare and chooser pages: cached catalog, widgets, card views."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from app_ui import fail
from slm_lib.catalog.cards import NOT_PUBLISHED, SLM_MAX_PARAMS_B, CatalogError, ModelCard, load_models
from slm_lib.catalog.charts import memory_breakdown_figure
from slm_lib.catalog.filters import license_kind
from slm_lib.catalog.hardware import (
    DEVICES,
    QUANTS,
    RESERVE_RULE,
    DevicePreset,
    custom_device,
    default_reserve_gb,
    measured_speeds,
)
from slm_lib.catalog.memory import estimate_speed, memory_table

__all__ = [
    "QuerySpec",
    "cached_models",
    "cards_or_fail",
    "choice",
    "csv_list",
    "device_picker",
    "fact_rows",
    "link",
    "model_card_view",
    "number_in",
    "quant_picker",
    "reserve_picker",
    "size_badge",
    "short_facts",
    "sync_query",
    "init_from_query",
]

_URL = re.compile(r"https?://\S+")


@st.cache_data(show_spinner="Loading the model catalog…")
def cached_models() -> list[ModelCard]:
    """The validated catalog, loaded once per process (raises CatalogError when the file is broken)."""
    return load_models()


def cards_or_fail() -> list[ModelCard]:
    """The validated catalog, or a clear error naming the broken entry and field."""
    try:
        return cached_models()
    except (CatalogError, OSError) as exc:
        fail(f"The model catalog could not be loaded: {exc}", "Fix the named entry in assets/models.json.")


def link(source: str | None) -> str:
    """A markdown link for a citation: the URL becomes the link, any extra text stays readable."""
    if not source:
        return NOT_PUBLISHED
    match = _URL.search(source)
    if not match:
        return source
    url = match.group(0).rstrip(").,")
    rest = source.replace(match.group(0), "").strip(" ,;")
    host = url.split("/")[2]
    return f"[{host}]({url})" + (f" {rest}" if rest else "")


def _num(value: float | int | None, fmt: str) -> str:
    return NOT_PUBLISHED if value is None else fmt.format(value)


def short_facts(card: ModelCard) -> str:
    """One markdown line: size, context, license and MMLU."""
    size = _num(card.params_b, "{:g} B params")
    if card.active_params_b is not None:
        size += f" ({card.active_params_b:g} B active)"
    mmlu = f"MMLU {card.mmlu.score:g}" if card.mmlu else "MMLU (5-shot) not published"
    return f"{size} · context {_num(card.context_tokens, '{:,}')} · {card.license} · {mmlu}"


def size_badge(card: ModelCard) -> str:
    """Markdown after a model's name: nothing for an SLM, a coloured label otherwise."""
    if card.is_slm:
        return ""
    return " · :orange[above the SLM line]" if card.size_class == "borderline" else " · :red[reference LLM]"


def _size_text(card: ModelCard) -> str:
    rule = f"SLM line: under {SLM_MAX_PARAMS_B:g} billion parameters in memory"
    return f"{card.size_label} ({card.size_note or rule})"


def fact_rows(card: ModelCard) -> list[tuple[str, str, str]]:
    """(fact, value, markdown source) rows for the full card."""
    langs = ", ".join(card.languages) or NOT_PUBLISHED
    if card.languages_note:
        langs += f" ({card.languages_note})"
    rows = [
        ("Size class", _size_text(card), "params_b"),
        ("Parameters", _num(card.params_b, "{:g} billion"), "params_b"),
        ("Active parameters per token (MoE)", _num(card.active_params_b, "{:g} billion"), "active_params_b"),
        ("Maximum context", _num(card.context_tokens, "{:,} tokens"), "context_tokens"),
        ("Training tokens", _num(card.training_tokens_t, "{:g} trillion"), "training_tokens_t"),
        ("License", f"{card.license} ({license_kind(card)})", "license"),
        ("Released", card.release or NOT_PUBLISHED, "release"),
        ("Ollama tag", card.ollama_tag or "not on Ollama", "ollama_tag"),
        ("Ollama download", _num(card.ollama_size_gb, "{:g} GB"), "ollama_size_gb"),
        ("Modalities (input)", ", ".join(card.modalities) or NOT_PUBLISHED, "modalities"),
        ("Languages (listed by the vendor)", langs, "languages"),
        ("Techniques", ", ".join(card.techniques) or NOT_PUBLISHED, "techniques"),
        ("Layers", _num(card.n_layers, "{}"), "n_layers"),
        ("Attention heads (query / KV)", f"{_num(card.n_heads, '{}')} / {_num(card.n_kv_heads, '{}')}", "n_kv_heads"),
        ("Head dimension", _num(card.head_dim, "{}"), "head_dim"),
        ("Vocabulary", _num(card.vocab_size, "{:,} tokens"), "vocab_size"),
    ]
    out = [(name, value, link(card.source(field))) for name, value, field in rows]
    out += [(f"{b.name}", b.label(), link(b.source)) for b in card.benchmarks.values()]
    return out


def quant_picker(key: str, default: str = "q4_K_M") -> str:
    """A quantization selectbox whose options explain themselves."""
    names = list(QUANTS)
    if key not in st.session_state:
        st.session_state[key] = default
    name = st.selectbox(
        "Quantization", names, key=key, format_func=lambda q: f"{q} ({QUANTS[q].bits_per_weight:g} bits/weight)"
    )
    st.caption(QUANTS[name].plain)
    return name


def device_picker(key: str) -> DevicePreset | None:
    """A device preset or the user's own RAM / bandwidth; None (after an error message) when impossible."""
    options = [*DEVICES, "custom"]
    choice = st.selectbox(
        "Device",
        options,
        key=f"{key}.preset",
        format_func=lambda d: "My own numbers…" if d == "custom" else DEVICES[d].label,
    )
    if choice != "custom":
        device = DEVICES[choice]
        st.caption(f"{device.memory_gb:g} GB memory, {device.bandwidth_gb_s:g} GB/s ({device.basis}).")
        return device
    ram = st.number_input(
        "Memory available (GB)", min_value=0.0, max_value=10_000.0, value=8.0, step=1.0, key=f"{key}.ram"
    )
    bw = st.number_input("Memory bandwidth (GB/s, 0 = unknown)", min_value=0.0, value=0.0, key=f"{key}.bw")
    try:
        device = custom_device(ram, bw or None)
    except ValueError as exc:
        st.error(f"{exc}. Enter how much memory (RAM or GPU VRAM) the device has, e.g. 8.")
        return None
    if device.bandwidth_gb_s is None:
        st.caption(
            "No speed estimate without a memory bandwidth: the estimate is bandwidth ÷ bytes read per token. "
            "Your device's spec sheet lists it in GB/s (e.g. 51.2 for DDR4-3200 in two channels)."
        )
    return device


def reserve_picker(key: str, memory_gb: float) -> float | None:
    """The memory kept free for the system: None for the default rule, or the user's own figure in GB."""
    default = default_reserve_gb(memory_gb)
    keep_default = st.checkbox(
        f"Keep {default:g} GB free for the operating system and other apps ({RESERVE_RULE})",
        value=True,
        key=f"{key}.default",
    )
    if keep_default:
        return None
    return float(
        st.number_input(
            "Memory to keep free (GB)",
            min_value=0.0,
            value=default,
            step=0.5,
            key=f"{key}.gb",
            help="Lower it only if the device runs nothing else while the model answers.",
        )
    )


def model_card_view(card: ModelCard, key: str) -> None:
    """The full card: every fact with its source, the pull command, memory by quantization, speed."""
    st.header(card.name)
    st.caption(f"{card.vendor} · {card.family} · {_size_text(card)}")
    for line in card.strengths:
        st.markdown(f"- {line}")
    if card.ollama_pull:
        st.code(card.ollama_pull, language="bash")
    table = "| fact | value | source |\n|---|---|---|\n" + "\n".join(
        f"| {f} | {v} | {s} |" for f, v, s in fact_rows(card)
    )
    st.markdown(table)
    if card.params_b is None:
        st.info("The parameter count is not published, so memory and speed cannot be estimated.")
        return
    st.subheader("Memory by quantization")
    ceiling = card.context_tokens or 131_072
    ctx = int(
        st.number_input(
            "Context length (tokens)",
            min_value=1,
            max_value=ceiling,
            value=min(4096, ceiling),
            step=1024,
            key=f"{key}.ctx",
        )
    )
    rows = memory_table(card, ctx)
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "quantization": name,
                    "bits/weight": e.weight_bits,
                    "weights GB": round(e.weights_gb, 2),
                    "KV cache GB": NOT_PUBLISHED if e.kv_cache_gb is None else round(e.kv_cache_gb, 2),
                    "total GB": NOT_PUBLISHED if e.total_gb is None else round(e.total_gb, 2),
                    "what it means": QUANTS[name].plain,
                }
                for name, e in zip(QUANTS, rows, strict=True)
            ]
        ),
        hide_index=True,
    )
    if rows[0].kv_cache_gb is None:
        st.info(
            "KV cache: not published (this model's layer and head numbers are not in a verified config "
            "file), so only the weights are shown."
        )
    st.plotly_chart(memory_breakdown_figure(rows, list(QUANTS)), key=f"{key}.chart")
    st.caption(
        "Estimates: weights = parameters × bits / 8; KV cache = 2 × layers × KV heads × head size × "
        "context × 2 bytes; plus a 10% allowance (an assumption)."
    )
    _speed_section(card, ctx, key)


def _speed_section(card: ModelCard, ctx: int, key: str) -> None:
    st.subheader("Speed on a device (estimate) and published measurements")
    device = device_picker(f"{key}.device")
    if device is not None:
        speed = estimate_speed(card, device, "q4_K_M", ctx)
        if speed is None:
            st.info("No memory bandwidth for this device, so no speed estimate (it is bandwidth ÷ bytes per token).")
        else:
            st.metric(
                f"Estimated at q4_K_M, {ctx:,}-token context",
                f"≤ {speed.tokens_per_s:.1f} tokens/s",
                help=f"{speed.label}: {device.bandwidth_gb_s:g} GB/s ÷ "
                f"{speed.gb_read_per_token:.2f} GB read per token. Real runs are slower.",
            )
    measured = measured_speeds(card.id)
    if measured:
        st.markdown("Published measured runs (not run by this app):")
        st.markdown(
            "| hardware | setup | tokens/s | source |\n|---|---|---|---|\n"
            + "\n".join(f"| {m.hardware} | {m.setup} | {m.tokens_per_s:g} | {link(m.source)} |" for m in measured)
        )
    else:
        st.caption("No published measured speed for this model in our sources.")


@dataclass(frozen=True)
class QuerySpec:
    """How one widget's value is stored in the URL."""

    param: str
    default: Any
    parse: Callable[[str], Any]
    dump: Callable[[Any], str]


def choice(options: Iterable[Any]) -> Callable[[Any], Any]:
    """A URL parser that accepts only one of ``options`` (ValueError otherwise)."""
    allowed = list(options)

    def parse(raw: Any) -> Any:  # noqa: ANN401 - values are whatever the widget holds
        if raw not in allowed:
            raise ValueError(raw)
        return raw

    return parse


def number_in(low: float, high: float, kind: type = float) -> Callable[[str], Any]:
    """A URL parser for a number widget: finite, whole when ``kind`` is int, within its bounds (ValueError else)."""

    def parse(raw: str) -> Any:  # noqa: ANN401 - int or float, as the widget holds
        value = float(raw)
        if not math.isfinite(value) or not low <= value <= high or (kind is int and not value.is_integer()):
            raise ValueError(raw)
        return kind(value)

    return parse


def csv_list(raw: str) -> list[str]:
    return [v for v in raw.split(",") if v]


def init_from_query(specs: dict[str, QuerySpec]) -> None:
    """Seed widget state from the URL once per session, so a shared link reproduces the view."""
    for key, spec in specs.items():
        if key in st.session_state:
            continue
        raw = st.query_params.get(spec.param)
        try:
            st.session_state[key] = spec.default if raw is None else spec.parse(raw)
        except (ValueError, KeyError):
            st.session_state[key] = spec.default  # a hand-edited bad link falls back to the default


def sync_query(specs: dict[str, QuerySpec]) -> None:
    """Write the current widget values back into the URL (defaults are left out to keep links short)."""
    for key, spec in specs.items():
        value = st.session_state.get(key, spec.default)
        if value == spec.default:
            if spec.param in st.query_params:
                del st.query_params[spec.param]
        else:
            st.query_params[spec.param] = spec.dump(value)
