"""Compare models: two to four models side by side, every fact sourced, with a benchmark chart."""

import streamlit as st

from app_ui import page_header, show_code
from app_ui.catalog_ui import cards_or_fail, fact_rows, quant_picker
from slm_lib.catalog.cards import NOT_PUBLISHED
from slm_lib.catalog.charts import benchmark_figure, weights_memory_figure
from slm_lib.catalog.memory import estimate_memory

page_header(
    "Compare models",
    "Pick two to four models to see their published facts side by side. Scores come from each model's own "
    "card or report; shots and evaluation harnesses differ (base vs instruct, vendor vs third party), so a "
    "gap of a point or two means little.",
)
cards = cards_or_fail()
by_id = {c.id: c for c in cards}
if "compare.models" not in st.session_state:
    st.session_state["compare.models"] = ["llama-3.2-3b", "phi-3.5-mini", "gemma-2-2b"]
chosen = st.multiselect(
    "Models (2 to 4)",
    list(by_id),
    key="compare.models",
    max_selections=4,
    format_func=lambda i: by_id[i].name + (" (LLM)" if by_id[i].is_llm else ""),
)
if len(chosen) < 2:
    st.info("Pick at least two models to compare.")
    st.stop()
picked = [by_id[i] for i in chosen]

col_q, col_c = st.columns(2)
with col_q:
    quant = quant_picker("compare.quant")
with col_c:
    ctx = int(
        st.number_input("Context (tokens)", min_value=1, max_value=1_000_000, value=4096, step=1024, key="compare.ctx")
    )

rows: dict[str, dict[str, str]] = {}  # fact -> model name -> "value [source](url)"
for card in picked:
    for fact, value, src in fact_rows(card):
        rows.setdefault(fact, {})[card.name] = value if src == NOT_PUBLISHED else f"{value} {src}"
    try:
        est = estimate_memory(card, quant, ctx)
        need = (
            f"{est.total_gb:.1f} GB"
            if est.total_gb is not None
            else f"KV cache not published; weights {est.weights_gb:.1f} GB"
        )
    except ValueError as exc:  # context above this model's maximum, or size undisclosed
        need = str(exc)
    rows.setdefault("Memory needed", {})[card.name] = need
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
st.caption(f"Memory at {quant} with a {ctx:,}-token context, KV cache and a 10% allowance included.")

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
