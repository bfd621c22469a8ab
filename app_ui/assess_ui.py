"""Why an answer scored as it did: scores, flags, highlighted words, word diffs and the optional judge.

Shared by the Playground, the evaluation run detail and the score-limits lesson. All outside text
(answers, references, flags that quote them, judge replies) is escaped for Markdown and passed
through ``slm_lib.safe_text.neutralize`` before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import streamlit as st

from app_ui.jobs_ui import run_job
from slm_lib.eval.alignment import Highlights, WordMatch
from slm_lib.eval.assess import Assessment
from slm_lib.eval.judge import RUBRIC, Verdict
from slm_lib.eval.word_diff import word_diff
from slm_lib.jobs import SCORE
from slm_lib.safe_text import neutralize

__all__ = [
    "SCORE_HELP",
    "assessments",
    "judge_rubric",
    "md",
    "render_assessment",
    "render_diff",
    "render_highlights",
    "render_verdict",
]

_ESCAPE = re.compile(r"([\\`*_{}\[\]()#+\-.!|~:$>])")
_COLOURS = {"covered": "green", "missed": "red", "supported": "green", "unsupported": "orange"}
SCORE_HELP = (
    "Overall starts from the mean of the similarity and the share of the reference's words the answer "
    "covers, and halves for each fact flag. Similarity is the plain cosine of sentence embeddings: it "
    "measures topic and wording, not truth."
)


def md(text: str) -> str:
    """Outside text as inert Markdown: punctuation escaped (no links, emphasis, colour directives or
    LaTeX can start), then the one sanitizer (``<`` and control characters)."""
    return neutralize(_ESCAPE.sub(r"\\\1", text)).text


@st.cache_data(show_spinner="Checking the answers' facts and words (all-MiniLM-L6-v2)…", max_entries=256)
def assessments(answers: tuple[str, ...], references: tuple[str, ...], question: str = "") -> list[Assessment]:
    """Assess each answer against the references (any-of), one batch; cached by the texts."""
    n = len(answers)
    kwargs = {"answers": list(answers), "references": [references] * n, "questions": [question] * n}
    return run_job(SCORE, "slm_lib.eval.tasks:assess_task", kwargs)  # the embedding model works in a worker


def _marked(text: str, matches: Sequence[WordMatch], show: set[str]) -> str:
    """``text`` with the words whose status is in ``show`` coloured, everything escaped."""
    out, pos = [], 0
    for w in matches:
        out.append(_ESCAPE.sub(r"\\\1", text[pos : w.start]))
        word = _ESCAPE.sub(r"\\\1", text[w.start : w.end])
        out.append(f":{_COLOURS[w.status]}-background[{word}]" if w.status in show else word)
        pos = w.end
    out.append(_ESCAPE.sub(r"\\\1", text[pos:]))
    return neutralize("".join(out).replace("\n", "  \n")).text


def render_highlights(h: Highlights, answer: str, reference: str) -> None:
    """The reference with covered/missed words and the answer with unsupported words marked."""
    st.markdown("**Reference** · :green-background[covered] · :red-background[missed]")
    st.markdown(_marked(reference, h.reference_words, {"covered", "missed"}) or "*(empty)*")
    st.markdown("**Answer** · :orange-background[no support in the reference]")
    st.markdown(_marked(answer, h.answer_words, {"unsupported"}) or "*(empty)*")
    st.caption(
        f"Token alignment (BERTScore-style, all-MiniLM-L6-v2 token embeddings, rescaled): "
        f"precision {h.precision:.2f} (answer supported by the reference) · recall {h.recall:.2f} "
        f"(reference covered by the answer) · F1 {h.f1:.2f}"
    )


def render_assessment(a: Assessment, answer: str, key: str, expanded: bool = False) -> None:
    """Both scores side by side, the flags as hints, and an expander with the highlighted words."""
    c1, c2 = st.columns(2)
    c1.metric("Overall", f"{a.overall:.2f}", help=SCORE_HELP)
    c2.metric("Similarity to reference", f"{a.similarity:.3f}", help="Cosine of all-MiniLM-L6-v2 sentence embeddings.")
    for flag in a.flags:
        st.warning(f"Check this: {md(flag)}", icon=":material/flag:")
    if not a.flags:
        st.caption("No fact flagged (the checks are hints: read the answer too).")
    with st.expander("Why this score: words covered, missed, unsupported", expanded=expanded):
        if a.reference_index:
            st.caption(f"Scored against alternative reference {a.reference_index} (the best fit).")
        render_highlights(a.highlights, answer, a.reference)


def render_diff(first: str, second: str) -> None:
    """Two answers word by word: words only in the first struck through in red, only in the second green."""
    parts = []
    for op, text in word_diff(first, second):
        body = _ESCAPE.sub(r"\\\1", text)
        parts.append(
            body
            if op == "same"
            else f":red-background[~~{body}~~]"
            if op == "removed"
            else f":green-background[{body}]"
        )
    st.markdown(neutralize(" ".join(parts)).text or "*(both empty)*")


def render_verdict(v: Verdict) -> None:
    """A judge's verdict beside (never inside) the local score."""
    if v.error:
        st.caption(f"Judge {md(v.judge)}: no verdict ({md(v.error)})")
        return
    # Material icons: they render without an emoji font
    icon = {"correct": ":material/check_circle:", "partly correct": ":material/adjust:", "wrong": ":material/cancel:"}
    icon = icon.get(v.verdict, ":material/help:")
    st.caption(f"Judge {md(v.judge)}: {icon} **{v.verdict}**: {md(v.reason)}")


def judge_rubric() -> None:
    """The rubric every judge gets, shown as plain text."""
    st.code(RUBRIC, language=None)
