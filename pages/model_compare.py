"""Compare models: two to four models side by side, every fact sourced, with a benchmark chart."""

import streamlit as st

from app_ui import page_header, show_code
from app_ui.catalog_ui import QuerySpec, cards_or_fail, choice, fact_rows, init_from_query, quant_picker, sync_query
from slm_lib.catalog.cards import NOT_PUBLISHED
from slm_lib.catalog.charts import benchmark_figure, weights_memory_figure
from slm_lib.catalog.memory import QUANTS, estimate_need

DEFAULT_MODELS = ["llama-3.2-3b", "phi-3.5-mini", "gemma-2-2b"]

page_header(
    "Compare models",
    "Pick two to four models to see their published facts side by side. Scores come from each model's own "
    "card or report; shots and evaluation harnesses differ (base vs instruct, vendor vs third party), so a "
    "gap of a point or two means little. The URL keeps your choice, so you can share the comparison.",
)
cards = cards_or_fail()
by_id = {c.id: c for c in cards}


def _models(raw: str) -> list[str]:
    ids = [i for i in raw.split(",") if i in by_id][:4]
    if not ids:
        raise ValueError(raw)
    return ids


SPECS = {
    "compare.models": QuerySpec("models", DEFAULT_MODELS, _models, ",".join),
    "compare.quant": QuerySpec("quant", "q4_K_M", choice(QUANTS), str),
    "compare.ctx": QuerySpec("ctx", 4096, int, str),
}
init_from_query(SPECS)

chosen = st.multiselect(
    "Models (2 to 4)",
    list(by_id),
    key="compare.models",
    max_selections=4,
    format_func=lambda i: by_id[i].name + ("" if by_id[i].is_slm else f" ({by_id[i].size_label})"),
)
col_q, col_c = st.columns(2)  # drawn before the check below, so a short list never resets them
with col_q:
    quant = quant_picker("compare.quant")
with col_c:
    ctx = int(st.number_input("Context (tokens)", min_value=1, max_value=1_000_000, step=1024, key="compare.ctx"))
sync_query(SPECS)
if len(chosen) < 2:
    st.info("Pick at least two models to compare.")
    st.stop()
picked = [by_id[i] for i in chosen]

rows: dict[str, dict[str, str]] = {}  # fact -> model name -> "value [source](url)"
for card in picked:
    for fact, value, src in fact_rows(card):
        rows.setdefault(fact, {})[card.name] = value if src == NOT_PUBLISHED else f"{value} {src}"
    rows.setdefault("Memory needed", {})[card.name] = estimate_need(card, quant, ctx).sentence()
    pull = f"`{card.ollama_pull}`" if card.ollama_pull else "not on Ollama"
    rows.setdefault("Ollama", {})[card.name] = pull
header = [c.name for c in picked]
lines = ["| fact | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
lines += [
    f"| {fact} | " + " | ".join(by_model.get(n, "not published") for n in header) + " |"
    for fact, by_model in rows.items()
]
st.subheader("Facts")
st.markdown("\n".join(lines))
st.caption(f"Memory at {quant} with a context of {ctx:,} tokens, KV cache and a 10% allowance included.")

st.subheader("Published benchmark scores")
names = sorted({n for c in picked for n in c.benchmarks})
shared = [n for n in names if sum(n in c.benchmarks for c in picked) >= 2]
show = st.multiselect("Benchmarks", names, default=shared or names, key="compare.benchmarks")
if show:
    st.plotly_chart(benchmark_figure(picked, show), key="compare.bench_chart")
missing = [
    f"{c.name}: {', '.join(n for n in show if n not in c.benchmarks)}"
    for c in picked
    if any(n not in c.benchmarks for n in show)
]
if missing:
    st.caption("Not published (so no bar): " + "; ".join(missing) + ".")

st.subheader("Memory for the weights")
st.plotly_chart(weights_memory_figure(picked), key="compare.weights_chart")
show_code(benchmark_figure)
