"""SLM vs LLM: eight dimensions in plain words or sourced numbers, two charts, and a quiz."""

import secrets

import pandas as pd
import streamlit as st

from app_ui import fail, page_header
from app_ui.catalog_ui import cards_or_fail
from slm_lib.catalog import charts
from slm_lib.catalog.slm_vs_llm import ComparisonError, grade, load_comparison, select_dimensions, shuffle_quiz

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
            table = pd.DataFrame(
                [{"Model / setting": f.label, "Figure": f.value, "Source": f.source} for f in dim.numbers]
            )
            st.dataframe(table, hide_index=True, width="stretch")
else:
    table = pd.DataFrame([{"Dimension": d.name, "SLMs": d.slm, "LLMs": d.llm} for d in dims])
    st.dataframe(table, hide_index=True, width="stretch")
    for dim in dims:
        with st.expander(f"More on {dim.name.lower()}"):
            st.markdown(f"{dim.detail}\n\n**Example.** {dim.example}")

if view == "Numbers":
    st.subheader("Parameters vs knowledge (MMLU, 5-shot)")
    cards = cards_or_fail()
    st.plotly_chart(charts.params_vs_mmlu_figure(cards), key="vs.chart.mmlu")
    st.caption(
        "Published MMLU 5-shot scores from each model's card or paper (hover for source and date); harnesses "
        "differ, so treat small gaps as noise. " + charts.params_vs_mmlu_caption(cards)
    )
    st.subheader("Memory to hold the weights")
    st.plotly_chart(charts.weights_memory_figure(cards), key="vs.chart.memory")
    st.caption(
        "Parameters x bits per weight (computed; every expert of a mixture-of-experts model counts). The KV cache "
        "and runtime come on top: see the gallery."
    )

st.header("Check yourself")
if "vs.quiz.seed" not in st.session_state:
    st.session_state["vs.quiz.seed"] = secrets.randbits(32)  # options in a different order for each visitor
quiz = shuffle_quiz(data.quiz, st.session_state["vs.quiz.seed"])
correct = 0
for i, q in enumerate(quiz):
    choice = st.radio(q.question, q.options, index=None, key=f"vs.quiz.{i}")
    verdict = grade(q, choice)
    if verdict is True:
        correct += 1
        st.success(f"Right. {q.explanation}")
    elif verdict is False:
        st.error(f"Not quite. {q.explanation}")
answered = sum(st.session_state.get(f"vs.quiz.{i}") is not None for i in range(len(quiz)))
st.metric("Score", f"{correct} / {len(quiz)}", help=f"{answered} answered so far")
