"""Home: what an SLM is, how SLMs are made, where they are used, which backends are live."""

import streamlit as st

from app_ui import page_header
from app_ui.learn_ui import quiz
from app_ui.status_ui import backend_status_panel
from slm_lib.learn import load_quiz

page_header(
    "SLM Explorer",
    "**Small language models (SLMs)** are language models with fewer than about **10 billion parameters**. "
    "They trade some breadth of knowledge for speed, low memory and low cost, so they run on laptops, "
    "phones and single GPUs, offline, under your control. This app explains how they are made, helps you "
    "pick one for your device and task, and lets you watch them answer side by side.",
)

st.header("How SLMs are made from large models")
TECHNIQUES = [
    (
        "Knowledge distillation",
        "app_pages/distillation.py",
        "A small *student* learns to imitate a large *teacher's* output probabilities, not just the right answer. "
        "Gemma 2 2B and Llama 3.2 1B/3B were trained this way.",
    ),
    (
        "Pruning",
        "app_pages/pruning.py",
        "Remove the weights, neurons or attention heads that matter least. Only *structured* pruning makes "
        "the matrices smaller and the model faster; zeros alone do not.",
    ),
    (
        "Quantization",
        "app_pages/quantization.py",
        "Store each weight in 8, 4 or fewer bits instead of 32. Memory drops 4-8x; accuracy drops a little, "
        "more so below 4 bits.",
    ),
]
for col, (name, page, text) in zip(st.columns(3), TECHNIQUES, strict=True):
    with col.container(border=True):
        st.subheader(name, anchor=False)  # no hidden anchor icon: it wrapped the title and left a gap
        st.write(text)
        st.page_link(page, label=f"Try {name.lower()} live", icon=":material/play_arrow:")

st.header("Where SLMs are applied")
USES = {
    "Edge and on-device": "Phones, IoT boxes, a Raspberry Pi: real-time answers with no network.",
    "Chatbots and assistants": "Fast, cheap replies for customer support and internal helpers.",
    "Summarization": "Concise overviews of documents, tickets and meetings.",
    "Classification and sentiment": "Routing, tagging and sentiment analysis at high volume.",
    "Translation": "Lightweight translation between common languages.",
    "Code generation": "Completions and small functions inside the editor.",
    "Math and reasoning": "Step-by-step arithmetic and word problems.",
    "Healthcare text": "Structuring clinical notes on premises, where data may not leave.",
    "Recommendations": "Personalised suggestions from a short profile.",
}
cols = st.columns(3)
for i, (use, text) in enumerate(USES.items()):
    cols[i % 3].markdown(f"**{use}**  \n{text}")
st.page_link("app_pages/chooser.py", label="Which SLM fits my use case and device?", icon=":material/explore:")

st.header("Backends available now")
backend_status_panel()

st.caption(
    "Start here: [SLM vs LLM](slm_vs_llm) for the big picture, the Compress section to watch models shrink, "
    "Choose to pick a model, and Compare to see real answers side by side. New words? The "
    "[Glossary](glossary) explains every term, and the **?** beside a label gives its one-line definition."
)
quiz("home", load_quiz("home"))
