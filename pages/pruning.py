"""Pruning lab: zero out or cut away weights of the tiny teacher, then measure what really got smaller."""

import streamlit as st

from app_ui import fail, page_header, show_code
from app_ui.compress_ui import TrainingBusy, cost_table, layer_names, prune_view, sweep, teacher_or_fail
from slm_lib.compress.charts import histogram_figure, mask_figure, sweep_figure
from slm_lib.compress.prune import prune, sparsity_sweep
from slm_lib.compress.sparsity import n_of_m_mask, unstructured_mask
from slm_lib.compress.structured import prune_structured_
from slm_lib.settings import limits

page_header(
    "Pruning",
    "Pruning removes weights the model barely uses. **Unstructured** pruning zeroes the smallest weights "
    "(per layer, or ranked **globally** across layers); **2:4** keeps the 2 largest of every 4 inputs; "
    "**structured** pruning cuts whole MLP neurons and attention heads, so the matrices themselves shrink. "
    "Every number below is measured on the tiny character-level teacher (held-out text).",
)
teacher_or_fail()

METHODS = {
    "magnitude": "Unstructured, per layer (smallest |w|)",
    "global": "Unstructured, global ranking",
    "structured": "Structured: neurons and heads",
    "2:4": "Semi-structured 2:4",
}
left, right = st.columns(2)
method = left.selectbox("Method", list(METHODS), format_func=METHODS.get, key="prune.method")
sparsity = left.slider(
    "Sparsity",
    0.0,
    0.9,
    0.5,
    0.05,
    key="prune.sparsity",
    disabled=method == "2:4",
    help="Fraction of the pruned layers' weights set to zero (structured: of each block's neurons and heads). "
    "2:4 is always 50%.",
)
recover = right.toggle("Recovery fine-tune afterwards", value=True, key="prune.recover")
steps = right.slider(
    "Recovery steps",
    5,
    min(200, limits().max_train_steps),
    30,
    5,
    key="prune.steps",
    disabled=not recover,
    help="Short training on the corpus with pruned weights held at zero. About 0.25 s per step on 2 idle CPU cores.",
)
sparsity = 0.5 if method == "2:4" else sparsity
if right.button("Prune", type="primary", key="prune.run"):
    st.session_state["prune.config"] = (method, sparsity, steps if recover else 0)

config = st.session_state.get("prune.config")
if config is not None and st.button("Stop / clear", key="prune.stop", help="Interrupts a running fine-tune."):
    del st.session_state["prune.config"]  # an interrupted run caches nothing, so no half result remains
    config = None
if config is None:
    st.info("Pick a method and sparsity, then press **Prune**.")
else:
    try:
        view = prune_view(*config)
    except (TrainingBusy, ValueError) as exc:
        fail(str(exc), "Wait a minute and press **Prune** again, or turn the recovery fine-tune off.")
    if view.diverged:
        st.error("Recovery fine-tuning diverged (the loss became NaN or infinite): lower the step count.")
    st.subheader(f"Cost: {METHODS[view.method].lower()}, {view.sparsity:.0%} of pruned weights removed")
    st.dataframe(cost_table(view), hide_index=True)
    a, b, c = st.columns(3)
    a.metric("Held-out accuracy", f"{view.pruned.accuracy:.3f}", f"{view.pruned.accuracy - view.teacher.accuracy:+.3f}")
    b.metric(
        "Params physically present",
        f"{view.params:,}",
        f"{view.params - view.teacher_params:+,}",
        delta_color="inverse",
    )
    c.metric(
        "Latency (ms/char)",
        f"{view.pruned.ms_per_token:.2f}",
        f"{view.pruned.ms_per_token - view.teacher.ms_per_token:+.2f}",
        delta_color="inverse",
    )
    if view.recover_losses:
        st.caption(f"Recovery: {len(view.recover_losses)} steps in {view.recover_seconds:.1f} s.")
        st.line_chart({"training loss": list(view.recover_losses)}, height=160, x_label="step")
    st.info(
        "Why no speed-up from zeros: unstructured zeros still sit in dense matrices, and a CPU's dense matrix "
        "multiply does every multiply-add whether the weight is 0 or not, so only a sparse file format saves "
        "bytes; structured pruning removes whole rows and columns, so the matrices are smaller and every "
        "multiply does less work. (2:4 needs GPU sparse tensor cores to run faster.)"
    )
    st.subheader("Weights before and after")
    layer = st.selectbox("Weight matrix", layer_names(), index=2, key="prune.layer")
    h, m = st.columns(2)
    h.plotly_chart(histogram_figure(view.before[layer], view.after[layer]), key="prune.hist")
    h.caption(f"{int((view.after[layer] == 0).sum()):,} weights are exactly zero after pruning (not drawn).")
    m.plotly_chart(mask_figure(view.masks[layer]), key="prune.mask")
    m.caption(
        "Mask: blue = kept, red = pruned. Zoom in to see the 2:4 pattern; structured pruning cuts whole rows or "
        "columns."
    )

st.subheader("Accuracy vs sparsity")
st.caption("One pruning per sparsity level for the chosen method, no recovery fine-tune.")
if st.button("Run the sweep", key="prune.sweep"):
    st.session_state["prune.swept"] = method
swept = st.session_state.get("prune.swept")
if swept:
    points = sweep(swept)
    st.plotly_chart(sweep_figure(points, swept, points[0].accuracy), key="prune.sweep_chart")  # point 0: unpruned

show_code(unstructured_mask, n_of_m_mask, prune_structured_, prune, sparsity_sweep)
