"""Pruning lab: zero out or cut away weights of the tiny teacher, then measure what really got smaller."""

import streamlit as st

from app_ui import fail, page_header, show_code
from app_ui.compress_ui import (
    finished_runs,
    prune_result_view,
    prune_view,
    sweep,
    teacher_or_fail,
)
from app_ui.learn_ui import guide, quiz, term_help
from app_ui.url_state import QuerySpec, choice, dump_flag, flag, init_from_query, integer, number, sync_query, url_notes
from slm_lib.compress.charts import sweep_figure
from slm_lib.compress.prune import prune, sparsity_sweep
from slm_lib.compress.sparsity import n_of_m_mask, unstructured_mask
from slm_lib.compress.structured import prune_structured_
from slm_lib.learn import load_quiz, prune_advice, structured_rounding
from slm_lib.learn.quiz import prune_question
from slm_lib.settings import limits

page_header(
    "Pruning",
    "Pruning removes weights the model barely uses. **Unstructured** pruning zeroes the smallest weights "
    "(per layer, or ranked **globally** across layers); **2:4** keeps the 2 largest of every 4 inputs; "
    "**structured** pruning cuts whole MLP neurons and attention heads, so the matrices themselves shrink. "
    "Every number below is measured on the tiny character-level teacher (held-out text).",
)
teacher = teacher_or_fail()

METHODS = {
    "magnitude": "Unstructured, per layer (smallest |w|)",
    "global": "Unstructured, global ranking",
    "structured": "Structured: neurons and heads",
    "2:4": "Semi-structured 2:4",
}
MAX_STEPS = min(200, limits().max_train_steps)
SPECS = {  # the URL holds every setting, so a link reproduces the lesson
    "prune.method": QuerySpec("method", "magnitude", choice(METHODS)),
    "prune.sparsity": QuerySpec("sparsity", 0.5, number(0.0, 0.9, 0.05), lambda v: f"{v:g}"),
    "prune.recover": QuerySpec("recover", True, flag, dump_flag),
    "prune.steps": QuerySpec("steps", 30, integer(5, MAX_STEPS, 5)),
}
url_notes(init_from_query(SPECS))

left, right = st.columns(2)
method = left.selectbox(
    "Method", list(METHODS), format_func=METHODS.get, key="prune.method", help=term_help("", "pruning", "2:4")
)
sparsity = left.slider(
    "Sparsity",
    0.0,
    0.9,
    step=0.05,
    key="prune.sparsity",
    disabled=method == "2:4",
    help=term_help(
        "Sparsity",
        text="Fraction of the pruned layers' weights set to zero (structured: of each "
        "block's neurons and heads). 2:4 is always 50%.",
    ),
)
recover = right.toggle("Recovery fine-tune afterwards", key="prune.recover", help=term_help("recovery"))
steps = right.slider(
    "Recovery steps",
    5,
    MAX_STEPS,
    step=5,
    key="prune.steps",
    disabled=not recover,
    help=term_help("Recovery steps", text="About 0.25 s per step on 2 idle CPU cores."),
)
sync_query(SPECS, share="pruning")
current = (method, 0.5 if method == "2:4" else sparsity, steps if recover else 0)
if "prune.config" not in st.session_state and current in finished_runs():
    st.session_state["prune.config"] = current  # a lesson link whose result this server already has
if right.button("Prune", type="primary", key="prune.run"):
    st.session_state["prune.config"] = current

config = st.session_state.get("prune.config")
if config is not None and st.button("Stop / clear", key="prune.stop", help="Interrupts a running fine-tune."):
    del st.session_state["prune.config"]  # an interrupted run caches nothing, so no half result remains
    config = None
if config is None:
    st.info("Pick a method and sparsity, then press **Prune**.")
else:
    try:
        view = prune_view(*config)
    except ValueError as exc:
        fail(str(exc), "Change the settings and press **Prune** again.")
    if config != current:
        st.warning(
            f"These results are for {METHODS[config[0]].lower()} at {config[1]:.0%} with {config[2]} recovery "
            "steps. You have changed the settings since: press **Prune** to measure the new ones.",
            icon=":material/history:",
        )
    rounding = None
    if view.method == "structured":
        cfg = teacher.config
        rounding = structured_rounding(config[1], cfg.n_embd, cfg.n_head, cfg.mlp_hidden)
    prune_result_view(view, METHODS[view.method], rounding)
    guide(
        prune_advice(
            method=view.method,
            sparsity=view.sparsity,
            accuracy=view.pruned.accuracy,
            teacher_accuracy=view.teacher.accuracy,
            recover_steps=len(view.recover_losses),
        )
    )

st.subheader("Accuracy vs sparsity")
st.caption("One pruning per sparsity level for the chosen method, no recovery fine-tune.")
if st.button("Run the sweep", key="prune.sweep"):
    st.session_state["prune.swept"] = method
swept = st.session_state.get("prune.swept")
if swept:
    points = sweep(swept)
    st.plotly_chart(sweep_figure(points, swept, points[0].accuracy), key="prune.sweep_chart")  # point 0: unpruned
    if swept == "2:4":
        st.caption("2:4 has one setting (50%), so the sweep is two measured points: dense and 2:4.")

show_code(unstructured_mask, n_of_m_mask, prune_structured_, prune, sparsity_sweep)
questions = list(load_quiz("pruning"))
if config is not None:
    questions[-1] = prune_question(METHODS[view.method].lower(), view.params, view.teacher_params)
quiz("prune", questions)
