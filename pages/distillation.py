"""Distillation lab: train a student from the teacher live, next to a hard-label student."""

import streamlit as st

from app_ui import fail, page_header, show_code
from app_ui.lab_ui import config_key, distill_table, result_store, teacher_model, teacher_summary, training_slot
from slm_lib.compress.charts import loss_chart, soft_target_chart
from slm_lib.compress.distill import DistillConfig, distill
from slm_lib.compress.distill_loss import distillation_loss, soft_targets
from slm_lib.compress.students import PRESETS, make_student
from slm_lib.settings import limits
from slm_lib.tiny import generate, load_corpus, param_count

page_header(
    "Knowledge distillation",
    "A small **student** learns to imitate a bigger **teacher**. Instead of only the right next character "
    "(a *hard label*), it copies the teacher's whole probability distribution, softened by a **temperature "
    "T** (*soft targets*): that distribution says which wrong answers are nearly right. Here the teacher is a "
    "tiny character-level transformer trained on Python's documentation. **Train** builds two students from "
    "the same starting weights, on the same batches, for the same steps: one distilled, one on hard labels "
    "only, so what distillation buys is measured, not claimed.",
)

try:
    teacher, info, corpus = teacher_model(), teacher_summary(), load_corpus()
except (FileNotFoundError, ValueError) as exc:
    fail(f"The teacher could not be loaded: {exc}", "Run `make teacher` to train it again.")
st.caption(
    f"Teacher: {info['layers']} layers × width {info['width']}, {info['params']:,} parameters, held-out "
    f"next-character accuracy {info['accuracy']:.1%}, perplexity {info['perplexity']:.2f} "
    f"(trained {info['steps']} steps, seed {info['seed']}, {info['seconds']} s on {info['device']})."
)

st.subheader("What soft targets look like")
context = st.text_input("Context the teacher continues", "The return statement retur", key="distill.context")
temps = (0.5, 1.0, 2.0, 4.0, 8.0)
if context.strip():
    soft = soft_targets(teacher, context[-limits().max_prompt_chars :], temps)
    st.plotly_chart(soft_target_chart(soft.chars, soft.temperatures, soft.probs), key="distill.soft_chart")
    st.caption(
        "T = 1 is the teacher's own distribution; higher T flattens it, so the small probabilities of "
        "plausible alternatives become visible and carry signal to the student."
    )

st.subheader("Train two students")
n_train = len(corpus.train)
sizes = [s for s in (10_000, 20_000, 50_000, 100_000, 200_000) if s < n_train] + [n_train]
default = DistillConfig()  # the page's defaults are the library's (the benchmark measures those)
c1, c2 = st.columns(2)
presets = list(PRESETS)
preset = c1.selectbox(
    "Student", presets, presets.index(default.preset), format_func=lambda k: PRESETS[k].label, key="distill.preset"
)
transfer = c2.select_slider(
    "Student's data (transfer set)",
    sizes,
    value=default.transfer_chars,
    key="distill.transfer",
    format_func=lambda n: f"{n / 1000:.0f} K chars ({n / n_train:.0%} of the training text)",
)
c3, c4, c5, c6 = st.columns(4)
temperature = c3.slider("Temperature T", 0.5, 10.0, default.temperature, 0.5, key="distill.temperature")
alpha = c4.slider("alpha (share of the soft loss)", 0.0, 1.0, default.alpha, 0.05, key="distill.alpha")
hidden = c5.slider(
    "Hidden-state matching",
    0.0,
    4.0,
    default.hidden_weight,
    0.5,
    key="distill.hidden",
    help="Weight of a second loss: each student block's output should match the teacher's residual stream "
    "after the teacher block it replaces (relative squared error). 0 = match the output distribution only. "
    "Only for students copied from the teacher.",
)
steps = c6.slider("Steps", 10, min(600, limits().max_train_steps), default.steps, 10, key="distill.steps")


@st.cache_data
def student_params(preset_key: str) -> int:
    return param_count(make_student(teacher_model(), preset_key))


share = student_params(preset) / info["params"]
st.caption(
    f"This student has {student_params(preset):,} parameters, {share:.1%} of the teacher. Loss = alpha · T² · "
    "KL(teacher‖student at T) + (1 − alpha) · cross-entropy (+ the hidden-state term, if set). The teacher saw "
    "all the training text; the "
    "student only the transfer set. Little data is the classic setting where soft targets help most; give "
    "the student all of it and see whether hard labels catch up."
)
config = DistillConfig(
    preset=preset,
    temperature=temperature,
    alpha=alpha,
    steps=steps,
    transfer_chars=transfer,
    hidden_weight=hidden if PRESETS[preset].from_teacher else 0.0,
)
key, store = config_key(config), result_store("distill")

b1, b2 = st.columns([1, 5])
train_clicked = b1.button("Train", type="primary", key="distill.train")
b2.button("Stop", key="distill.stop", on_click=lambda: st.session_state.update({"distill.stopped": True}))
if st.session_state.pop("distill.stopped", False):
    st.warning("Stopped. A run in progress is discarded, never kept half-trained; the last finished result stays.")

if train_clicked:
    result = store.get(key)
    if result is not None:
        st.info("These exact settings ran before: showing that result (runs are seeded, so it is the same).")
    else:
        with training_slot() as free:
            if not free:
                fail("Other training runs are using this server's CPU right now.", "Try again in a minute.")
            bar = st.progress(0.0, text="Training…")
            live = st.empty()
            every = max(1, steps // 30)
            d_ce: list[float] = []
            b_ce: list[float] = []
            vals: list[tuple[int, float, float]] = []

            def on_step(p):
                d_ce.append(p.distilled_ce)
                b_ce.append(p.baseline_ce)
                if p.val is not None:
                    vals.append((p.step + 1, *p.val))
                if p.step % every == 0 or p.step + 1 == p.total_steps:
                    bar.progress((p.step + 1) / p.total_steps, text=f"Step {p.step + 1} of {p.total_steps}")
                    curves = {"distilled": d_ce, "hard labels": b_ce}
                    live.plotly_chart(loss_chart(curves, vals, p.total_steps), key=f"distill.live{p.step}")

            result = distill(teacher, config, on_step=on_step)
            bar.empty()
            live.empty()
        store.put(key, result)
    st.session_state["distill.result"] = result  # one assignment: an interrupted run never leaves half a result

result = st.session_state.get("distill.result")
if result is not None:
    st.subheader("Results")
    if config_key(result.config) != key:
        st.caption("These results are for the settings of the last run, not the ones now selected.")
    for flag, who in ((result.distilled_diverged, "distilled"), (result.baseline_diverged, "hard-label")):
        if flag:
            st.error(f"The {who} student's loss became NaN or infinite (diverged); try a lower T or fewer steps.")
    st.dataframe(
        distill_table(result),
        hide_index=True,
        key="distill.table",
        column_config={
            "held-out accuracy": st.column_config.NumberColumn(format="%.3f"),
            "perplexity": st.column_config.NumberColumn(format="%.2f"),
            "ms per character": st.column_config.NumberColumn(format="%.2f"),
            "% of teacher params": st.column_config.NumberColumn(format="%.1f"),
            "% of teacher accuracy": st.column_config.NumberColumn(format="%.1f"),
            "stored (KB, fp32)": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    gap = 100 * (result.distilled.accuracy - result.baseline.accuracy)
    verdict = "beat" if gap > 0 else "did not beat"
    st.markdown(
        f"In this run the distilled student **{verdict}** the hard-label student: {gap:+.1f} accuracy points "
        f"({result.steps_done} steps, {result.transfer_windows} windows of student data, "
        f"{result.seconds:.0f} s). Both started at {result.initial_accuracy:.1%}."
    )
    curves = {"distilled": result.distilled_ce, "hard labels": result.baseline_ce}
    st.plotly_chart(loss_chart(curves, result.val_curve, result.steps_done), key="distill.final_chart")
    st.caption(
        "Training-batch loss falling while held-out loss rises means the student is memorising its "
        "small transfer set; soft targets slow that down."
    )

    @st.cache_data(show_spinner="Writing samples…", max_entries=32)
    def samples(run_key: str, prompt: str) -> dict[str, str] | None:
        run = result_store("distill").get(run_key)
        if run is None:
            return None
        models = {"Teacher": teacher_model(), "Distilled": run.distilled_model, "Hard labels": run.baseline_model}
        return {name: generate(m, load_corpus(), prompt, 160, 0.8, seed=0) for name, m in models.items()}

    prompt = st.text_input("Prompt for samples", "The for statement", key="distill.prompt", max_chars=200)
    texts = samples(config_key(result.config), prompt or "The ")
    if texts is None:
        st.info("That run's models are no longer kept on the server; train again to see samples.")
    else:
        for col, (name, text) in zip(st.columns(3), texts.items(), strict=True):
            col.markdown(f"**{name}** (T = 0.8, seed 0)")
            col.code(prompt + text, language=None, wrap_lines=True)

show_code(distillation_loss, make_student)
