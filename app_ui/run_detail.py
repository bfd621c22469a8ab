"""A run's answers to one question, explained: both scores, flags, highlighted words, a word diff of
two answers, an optional judge, and assessing answers that older versions scored by similarity only."""

from __future__ import annotations

import streamlit as st

from app_ui import assess_ui
from app_ui.jobs_ui import run_job
from app_ui.run_models import backends_for, model_choices
from slm_lib import settings
from slm_lib.chat import BackendError
from slm_lib.eval.config import model_label, split_model_id
from slm_lib.eval.judge import judge, judge_allowed
from slm_lib.eval.similarity import NEGATION_NOTE
from slm_lib.eval.store import ResultRow, RunStore
from slm_lib.jobs import SCORE
from slm_lib.safe_text import neutralize, one_line, plain

__all__ = ["answer_detail", "backfill_panel"]


def backfill_panel(store: RunStore, run_id: int, rows: list[ResultRow]) -> None:
    """Offer to assess answers scored before assessments existed (their overall and flags are empty)."""
    todo = [r for r in rows if r.complete and r.error is None and r.overall is None and r.id is not None]
    if not todo:
        return
    st.info(f"{len(todo)} answer(s) of this run have a similarity score but no overall score or fact flags yet.")
    if st.button(f"Assess {len(todo)} answer(s) now", key=f"eval.backfill.{run_id}"):
        with st.spinner("Checking facts and words…"):
            kwargs = {
                "answers": [r.answer for r in todo],
                "references": [r.references for r in todo],
                "questions": [r.question for r in todo],
            }
            found = run_job(SCORE, "slm_lib.eval.tasks:assess_task", kwargs)
            store.set_assessments([(r.id, a.similarity, a.overall, a.flags) for r, a in zip(todo, found, strict=True)])
        st.rerun()


def _judge_choices(host: str) -> list[str]:
    return [m for m in model_choices(host)[0] if judge_allowed(m)]


def answer_detail(store: RunStore, run_id: int, rows: list[ResultRow], temperature: float) -> None:
    """Pick a question; its answers side by side with scores, flags and highlights; diff; judge."""
    question = st.selectbox(
        "Question",
        list(dict.fromkeys(r.question for r in rows)),
        key="eval.read",
        format_func=lambda q: one_line(q, 150),
    )
    shown = [r for r in rows if r.question == question and r.repeat == 0 and r.temperature == temperature]
    if not shown:
        return
    refs = shown[0].references
    scorable = [r for r in shown if r.complete and r.error is None and r.answer.strip()]
    found = dict(
        zip(
            (r.model for r in scorable),
            assess_ui.assessments(tuple(r.answer for r in scorable), refs, question),
            strict=True,
        )
    )
    verdicts = st.session_state.get(f"eval.verdicts.{run_id}", {})
    for col, r in zip(st.columns(max(1, min(len(shown), 3))) * len(shown), shown, strict=False):
        with col:
            st.markdown(f"**{plain(model_label(r.model))}**")
            st.markdown(neutralize(r.answer).text or "*(no text)*")  # model output is untrusted
            if r.error:
                st.error(neutralize(r.error).text)
            if r.model in found:
                assess_ui.render_assessment(found[r.model], r.answer, key=f"{run_id}.{r.model}")
            if (r.model, question) in verdicts:
                assess_ui.render_verdict(verdicts[(r.model, question)])
    listed = "  \n".join(
        f"{'Reference' if i == 0 else f'Alternative {i}'}: {assess_ui.md(t)}" for i, t in enumerate(refs)
    )
    st.caption(f"{listed}  \n{NEGATION_NOTE}")
    if len(scorable) >= 2:
        st.markdown("**Two answers word by word**")
        models = [r.model for r in scorable]
        d1, d2 = st.columns(2)
        first = d1.selectbox("First", models, key="eval.diff.a", format_func=model_label)
        second = d2.selectbox("Second", models, index=1, key="eval.diff.b", format_func=model_label)
        texts = {r.model: r.answer for r in scorable}
        assess_ui.render_diff(texts[first], texts[second])
    _judge_panel(run_id, question, scorable, refs)


def _judge_panel(run_id: int, question: str, scorable: list[ResultRow], refs: tuple[str, ...]) -> None:
    host = st.session_state.get("ollama.host") or settings.ollama_host()
    with st.expander("Ask a model to judge these answers (optional)"):
        st.caption("The verdict is shown beside each answer's local scores and never changes them. The rubric:")
        assess_ui.judge_rubric()
        choices = _judge_choices(host)
        picked = st.selectbox("Judge model", choices or ["(none allowed here)"], key="eval.judge.model")
        if st.button("Judge", key="eval.judge.run", disabled=not choices or not scorable):
            kind, name = split_model_id(picked)
            backend = backends_for([picked], host).get(kind)
            if backend is None:
                st.error(f"The '{kind}' backend is not available.")
                return
            verdicts = dict(st.session_state.get(f"eval.verdicts.{run_id}", {}))
            try:
                for r in scorable:
                    verdicts[(r.model, question)] = judge(backend, name, question, refs, r.answer)
            except BackendError as exc:  # judge() reports backend failures itself; this is a safety net
                st.error(neutralize(str(exc)).text)
            st.session_state[f"eval.verdicts.{run_id}"] = verdicts
            st.rerun()
