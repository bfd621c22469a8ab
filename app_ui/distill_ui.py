"""Distillation page widgets: the live training run and the finished run's results, verdict and samples."""

from __future__ import annotations

import time

import streamlit as st

from app_ui.lab_ui import config_key, distill_table, result_store, teacher_model, train_distilled
from app_ui.learn_ui import column_help, guide, term_help
from slm_lib.compress.charts import loss_chart
from slm_lib.compress.distill import DistillConfig, DistillProgress, DistillResult
from slm_lib.learn import distill_verdict, latency_note, samples_note
from slm_lib.tiny import generate, load_corpus

__all__ = ["results_view", "train_live"]

REDRAW_S = 0.5  # the live loss chart's shortest redraw interval


def train_live(config: DistillConfig) -> DistillResult:
    """Train both students with a progress bar and a live loss chart (both cleared at the end); cached by config."""
    store, key = result_store("distill"), config_key(config)
    result = store.get(key)
    if result is not None:
        st.info("These exact settings ran before: showing that result (runs are seeded, so it is the same).")
        return result  # type: ignore[return-value]
    bar = st.progress(0.0, text="Training…")
    live = st.empty()
    d_ce: list[float] = []
    b_ce: list[float] = []
    vals: list[tuple[int, float, float]] = []
    drawn = [0.0]  # when the chart was last drawn

    def on_step(p: DistillProgress) -> None:
        d_ce.append(p.distilled_ce)
        b_ce.append(p.baseline_ce)
        if p.val is not None:
            vals.append((p.step + 1, *p.val))
        # Redraw at most every half second: a page that falls behind (a busy server) catches up on the
        # steps without drawing each one, so drawing never holds back the result.
        now = time.monotonic()
        if now - drawn[0] >= REDRAW_S or p.step + 1 == p.total_steps:
            drawn[0] = now
            bar.progress((p.step + 1) / p.total_steps, text=f"Step {p.step + 1} of {p.total_steps}")
            curves = {"distilled": d_ce, "hard labels": b_ce}
            live.plotly_chart(loss_chart(curves, vals, p.total_steps), key=f"distill.live{p.step}")

    result = train_distilled(config, on_step)  # queued when the server's training slots are taken
    bar.empty()
    live.empty()
    store.put(key, result)
    return result


@st.cache_data(show_spinner="Writing samples…", max_entries=32)
def _samples(run_key: str, prompt: str) -> dict[str, str] | None:
    run = result_store("distill").get(run_key)
    if run is None:
        return None
    models = {"Teacher": teacher_model(), "Distilled": run.distilled_model, "Hard labels": run.baseline_model}
    return {name: generate(m, load_corpus(), prompt, 160, 0.8, seed=0) for name, m in models.items()}


def results_view(result: DistillResult, current: DistillConfig) -> None:
    """Table, verdict with what to try next, loss curves and samples of a finished run."""
    st.subheader("Results")
    if config_key(result.config) != config_key(current):
        st.warning(
            "These results are for the settings of the last run, not the ones now selected: press **Train** "
            "to run the new settings.",
            icon=":material/history:",
        )
    for flag, who in ((result.distilled_diverged, "distilled"), (result.baseline_diverged, "hard-label")):
        if flag:
            st.error(f"The {who} student's loss became NaN or infinite (diverged); try a lower T or fewer steps.")
    table = distill_table(result)
    number = st.column_config.NumberColumn
    formats = {
        "held-out accuracy": number(format="%.3f"),
        "perplexity": number(format="%.2f"),
        "ms per character": number(format="%.2f"),
        "% of teacher params": number(format="%.1f"),
        "% of teacher accuracy": number(format="%.1f"),
        "stored (KB, fp32)": number(format="%.0f"),
    }
    st.dataframe(table, hide_index=True, key="distill.table", column_config=column_help(table[0], formats))
    gap = 100 * (result.distilled.accuracy - result.baseline.accuracy)
    verdict = "beat" if gap > 0 else "did not beat"
    st.markdown(
        f"In this run the distilled student **{verdict}** the hard-label student: {gap:+.1f} accuracy points "
        f"({result.steps_done} steps, {result.transfer_windows} windows of student data, "
        f"{result.seconds:.0f} s). Both started at {result.initial_accuracy:.1%}.",
        help=term_help("windows", "hard label"),
    )
    guide(distill_verdict(result))
    if note := latency_note(result):
        st.caption(note)
    curves = {"distilled": result.distilled_ce, "hard labels": result.baseline_ce}
    st.plotly_chart(loss_chart(curves, result.val_curve, result.steps_done), key="distill.final_chart")
    st.caption(
        "Training-batch loss falling while held-out loss rises means the student is memorising its "
        "small transfer set; soft targets slow that down."
    )
    prompt = st.text_input("Prompt for samples", "The for statement", key="distill.prompt", max_chars=200)
    texts = _samples(config_key(result.config), prompt or "The ")
    if texts is None:
        st.info("That run's models are no longer kept on the server; train again to see samples.")
        return
    st.caption(samples_note(result.teacher.params, result.teacher.accuracy))
    for col, (name, text) in zip(st.columns(3), texts.items(), strict=True):
        col.markdown(f"**{name}** (T = 0.8, seed 0)")
        col.code(prompt + text, language=None, wrap_lines=True)
