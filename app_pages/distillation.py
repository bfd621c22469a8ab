"""Distillation lab: train a student from the teacher live, next to a hard-label student."""

import streamlit as st

from app_ui import fail, page_header, show_code
from app_ui.distill_ui import results_view, train_live
from app_ui.lab_ui import config_key, result_store, teacher_model, teacher_summary
from app_ui.learn_ui import quiz, term_help
from app_ui.url_state import QuerySpec, choice, init_from_query, integer, number, sync_query, url_notes
from slm_lib.compress.charts import soft_target_chart
from slm_lib.compress.distill import DistillConfig
from slm_lib.compress.distill_loss import distillation_loss, soft_targets
from slm_lib.compress.students import PRESETS, make_student
from slm_lib.learn import load_quiz
from slm_lib.learn.quiz import distill_question
from slm_lib.settings import limits
from slm_lib.tiny import load_corpus, param_count

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
    f"(trained {info['steps']} steps, seed {info['seed']}, {info['seconds']} s on {info['device']}).",
    help=term_help("held-out", "perplexity"),
)

st.subheader("What soft targets look like")
context = st.text_input(
    "Context the teacher continues", "The return statement retur", key="distill.context", help=term_help("soft targets")
)
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
MAX_STEPS = min(600, limits().max_train_steps)
DEFAULT = DistillConfig()  # the page's defaults are the library's (the benchmark measures those)
SPECS = {  # the URL holds every setting, so a link reproduces the lesson
    "distill.preset": QuerySpec("student", DEFAULT.preset, choice(PRESETS)),
    "distill.transfer": QuerySpec("data", DEFAULT.transfer_chars, lambda raw: choice(sizes)(int(raw))),
    "distill.temperature": QuerySpec("T", DEFAULT.temperature, number(0.5, 10.0, 0.5), lambda v: f"{v:g}"),
    "distill.alpha": QuerySpec("alpha", DEFAULT.alpha, number(0.0, 1.0, 0.05), lambda v: f"{v:g}"),
    "distill.hidden": QuerySpec("hidden", DEFAULT.hidden_weight, number(0.0, 4.0, 0.5), lambda v: f"{v:g}"),
    "distill.steps": QuerySpec("steps", DEFAULT.steps, integer(10, MAX_STEPS, 10)),
}
url_notes(init_from_query(SPECS))
c1, c2 = st.columns(2)
preset = c1.selectbox(
    "Student", list(PRESETS), format_func=lambda k: PRESETS[k].label, key="distill.preset", help=term_help("Student")
)
transfer = c2.select_slider(
    "Student's data (transfer set)",
    sizes,
    key="distill.transfer",
    format_func=lambda n: f"{n / 1000:.0f} K chars ({n / n_train:.0%} of the training text)",
    help=term_help("transfer set", "windows"),
)
c3, c4, c5, c6 = st.columns(4)
temperature = c3.slider("Temperature T", 0.5, 10.0, step=0.5, key="distill.temperature", help=term_help("Temperature"))
alpha = c4.slider("alpha (share of the soft loss)", 0.0, 1.0, step=0.05, key="distill.alpha", help=term_help("alpha"))
hidden = c5.slider(
    "Hidden-state matching",
    0.0,
    4.0,
    step=0.5,
    key="distill.hidden",
    help="Weight of a second loss: each student block's output should match the teacher's residual stream after "
    "the teacher block it replaces (relative squared error). 0 = match the output distribution only. Only for "
    "students copied from the teacher.",
)
steps = c6.slider("Steps", 10, MAX_STEPS, step=10, key="distill.steps", help="Training steps for each student.")
sync_query(SPECS, share="distillation")


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

b1, b2 = st.columns([1, 5])
train_clicked = b1.button("Train", type="primary", key="distill.train")
b2.button("Stop", key="distill.stop", on_click=lambda: st.session_state.update({"distill.stopped": True}))
if st.session_state.pop("distill.stopped", False):
    st.warning("Stopped. A run in progress is discarded, never kept half-trained; the last finished result stays.")
if "distill.result" not in st.session_state and (cached := result_store("distill").get(config_key(config))):
    st.session_state["distill.result"] = cached  # a lesson link whose run this server already has
if train_clicked:
    st.session_state["distill.result"] = train_live(config)  # one assignment: never half a result

result = st.session_state.get("distill.result")
if result is not None:
    results_view(result, config)

show_code(distillation_loss, make_student)
questions = list(load_quiz("distillation"))
if result is not None:
    questions.append(distill_question(result))
quiz("distill", questions)
