"""Widgets for "Compress a real SLM": the measured variant tables and the answers to the fixed prompt."""

from __future__ import annotations

import streamlit as st

from app_ui.learn_ui import column_help
from slm_lib.learn import answer_note, variant_advice
from slm_lib.smollm.compress import FIXED_PROMPT, VARIANTS, VariantResult

__all__ = ["answers_view", "variant_tables"]


def _delta(result: VariantResult, base: VariantResult | None) -> str | None:
    return None if base is None else f"{100 * (result.perplexity / base.perplexity - 1):+.2f}%"


def _show(rows: list[dict[str, object]], key: str, formats: dict[str, object]) -> None:
    st.dataframe(rows, hide_index=True, key=key, column_config=column_help(rows[0], formats))


_PATTERNS = {"dense": "dense", "unstructured": "50% unstructured", "2:4": "2:4"}


def _grid_lesson(results: dict[str, VariantResult], base: VariantResult | None) -> None:
    """Same 4 bits, same blocks, same kernel, two grids: the file's own grid costs nothing, a shifted one a lot."""
    zero_point, q4_1 = results.get("int4-g32"), results.get("int4-q4_1")
    if base is None or zero_point is None or q4_1 is None:
        return
    st.markdown(
        f"**Same 4 bits, same blocks of 32, same kernel, two grids.** The file's Q4_1 grid runs from each block's "
        f"minimum to its maximum; re-quantizing onto it gives back every stored code: ΔPPL {_delta(q4_1, base)}. "
        f"A zero-point grid must hold 0.0 exactly, so its 16 levels sit up to half a step off the file's and "
        f"nearly every weight moves: ΔPPL {_delta(zero_point, base)}."
    )


def variant_tables(results: dict[str, VariantResult]) -> None:
    """The quantization table (llama.cpp's layout) and the pruning table (the Wanda paper's), measured rows only."""
    base = results.get("float")
    if base is None:
        st.caption(
            "ΔPPL stays empty until the **float** row is measured: it is each variant's perplexity relative to "
            "float's. Add float to the variants and press **Measure**."
        )
    number = st.column_config.NumberColumn
    quant = [r for r in results.values() if VARIANTS[r.name].kind != "prune"]
    prune = [r for r in results.values() if VARIANTS[r.name].kind == "prune" or r.name == "float"]
    if quant:
        st.markdown("**Quantization** (layout of llama.cpp's quantize table)")
        rows = [
            {
                "type": r.name,
                "scheme": r.label,
                "bits/weight": r.bits_per_weight,
                "size MB": r.weight_bytes / 1e6,
                "PPL": r.perplexity,
                "ΔPPL": _delta(r, base),
                "tg tokens/s": r.tokens_per_second,
                "computed as": r.runtime,
                "what it means": variant_advice(r, base),
            }
            for r in quant
        ]
        formats = {
            "bits/weight": number(format="%.2f"),
            "size MB": number(format="%.1f"),
            "PPL": number(format="%.3f"),
            "tg tokens/s": number(format="%.1f"),
        }
        _show(rows, "real_slm.quant_table", formats)
        _grid_lesson(results, base)
    if len(prune) > (base is not None):  # the float row alone is not a pruning table
        st.markdown("**Pruning** (layout of the Wanda paper's table: perplexity by sparsity and method)")
        rows = [
            {
                "sparsity": _PATTERNS.get(VARIANTS[r.name].pattern, f"{r.sparsity:.0%} of MLP channels"),
                "method": r.label,
                "PPL": r.perplexity,
                "ΔPPL": _delta(r, base),
                "stored MB (sparse format)": r.weight_bytes / 1e6,
                "GMAC/token": r.macs_per_token / 1e9 if r.macs_per_token else None,
                "tg tokens/s": r.tokens_per_second,
                "what it means": variant_advice(r, base),
            }
            for r in prune
        ]
        _show(
            rows,
            "real_slm.prune_table",
            {
                "PPL": number(format="%.2f"),
                "stored MB (sparse format)": number(format="%.1f"),
                "GMAC/token": number(format="%.3f"),
                "tg tokens/s": number(format="%.1f"),
            },
        )


def answers_view(results: dict[str, VariantResult]) -> None:
    """Each variant's greedy answer to the fixed prompt; broken answers (loops, blanks) are explained."""
    base = results.get("float")
    broken = {name: note for name, r in results.items() if (note := answer_note(r, base))}
    label = "Answers to the fixed prompt" + (f" ({len(broken)} broken, explained)" if broken else "")
    with st.expander(label, expanded=bool(broken)):
        st.caption(FIXED_PROMPT)
        for r in results.values():
            st.markdown(f"**{r.name}**")
            st.text(r.answer)
            if r.name in broken:
                st.warning(broken[r.name], icon=":material/report:")
