"""SLM vs LLM: eight dimensions in plain words or sourced numbers, two charts, and a quiz."""

import streamlit as st

from app_ui import fail, page_header
from app_ui.catalog_ui import cards_or_fail, link
from app_ui.learn_ui import quiz, terms_line
from slm_lib.catalog import charts
from slm_lib.catalog.slm_vs_llm import ComparisonError, load_comparison, select_dimensions
from slm_lib.learn.quiz import Question


def cell(text: str) -> str:
    """Project text as one Markdown table cell (a pipe or line break would end the cell)."""
    return text.replace("|", "\\|").replace("\n", " ")


page_header(
    "SLM vs LLM",
    "How small language models differ from large ones. Pick the dimensions you care about, switch between "
    "**plain words** and **numbers** (every number links to its source), and expand a row for an example.",
)

try:
    data = load_comparison()
except (ComparisonError, OSError) as exc:
    fail(f"The comparison data could not be loaded: {exc}", "Restore `assets/slm_vs_llm.json` from the repository.")

names = {d.id: d.name for d in data.dimensions}
chosen = st.multiselect("Dimensions", list(names), default=list(names), format_func=names.get, key="vs.dims")
view = st.segmented_control("View", ["Plain words", "Numbers"], default="Plain words", key="vs.view")
dims = select_dimensions(data, chosen)
if not dims:
    st.info("Pick at least one dimension above.")

if view == "Numbers":
    for dim in dims:
        with st.expander(f"**{dim.name}**: {dim.example}", expanded=True):
            rows = "\n".join(f"| {cell(f.label)} | {cell(f.value)} | {cell(link(f.source))} |" for f in dim.numbers)
            st.markdown("| Model / setting | Figure | Source |\n|---|---|---|\n" + rows)
    terms_line(*(f"{f.label} {f.value}" for d in dims for f in d.numbers))
else:  # a Markdown table wraps long cells instead of cutting them off
    rows = "\n".join(f"| **{cell(d.name)}** | {cell(d.slm)} | {cell(d.llm)} |" for d in dims)
    if dims:
        st.markdown("| Dimension | SLMs | LLMs |\n|---|---|---|\n" + rows)
        terms_line(*(f"{d.slm} {d.llm}" for d in dims))
    for dim in dims:
        with st.expander(f"More on {dim.name.lower()}"):
            st.markdown(f"{dim.detail}\n\n**Example.** {dim.example}")

if view == "Numbers":
    st.subheader("Parameters vs knowledge (MMLU, 5-shot)")
    cards = cards_or_fail()
    st.plotly_chart(charts.params_vs_mmlu_figure(cards), key="vs.chart.mmlu")
    st.caption("Hover a point for its source and date. " + charts.params_vs_mmlu_caption(cards))
    st.subheader("Memory to hold the weights")
    st.plotly_chart(charts.weights_memory_figure(cards), key="vs.chart.memory")
    st.caption(
        "Parameters x bits per weight (computed; every expert of a mixture-of-experts model counts). The KV cache "
        "and runtime come on top: see the gallery."
    )

quiz("vs", [Question(q.question, q.options, q.answer, q.explanation) for q in data.quiz], "Check yourself")
