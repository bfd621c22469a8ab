"""Widgets that keep a student oriented: glossary hover help, the end-of-page quiz, and guidance boxes.

- ``term_help(label)``: ``help=`` text for a widget whose label mentions glossary terms.
- ``column_help(columns, config)``: ``column_config`` giving every table header its glossary help.
- ``quiz(page, questions)``: "Check your understanding", answers shuffled once per session.
- ``guide(text)``: one sentence on what a result means and what to try next.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

import streamlit as st

from slm_lib.learn.glossary import Term, get_term, terms_in
from slm_lib.learn.quiz import Question, grade, shuffled

__all__ = ["GLOSSARY_PAGE", "column_help", "glossary_link", "guide", "quiz", "term_help", "terms_line"]

GLOSSARY_PAGE = "glossary"  # the Glossary page's URL path, relative so it works under any base path


def glossary_link(term: Term) -> str:
    """A relative link to one term on the Glossary page."""
    return f"{GLOSSARY_PAGE}?term={term.id}"


def term_help(label: str, *extra: str, text: str | None = None) -> str | None:
    """Hover help for ``label``: ``text`` first (what the widget does), then each glossary term it mentions.

    ``extra`` names terms the label does not spell out. Returns None when there is nothing to say, so it can
    be passed straight to ``help=``.
    """
    terms = dict.fromkeys([*terms_in(label), *(get_term(name) for name in extra)])
    parts = [text] if text else []
    parts += [f"**{t.name}**: {t.short} [More]({glossary_link(t)})" for t in terms]
    return "\n\n".join(parts) or None


def column_help(columns: Iterable[str], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """``column_config`` for ``st.dataframe``: the given config plus glossary help on every header it names.

    Existing column settings (number formats, widths) are kept; the input dict is not modified.
    """
    out = dict(config or {})
    for column in columns:
        terms = terms_in(str(column))
        if not terms or (column in out and out[column] is None):  # None hides the column
            continue
        current = out.get(column)
        if current is None:
            current = st.column_config.Column()
        elif isinstance(current, str):
            current = st.column_config.Column(label=current)
        merged = dict(current)
        merged["help"] = "\n\n".join(f"**{t.name}**: {t.short}" for t in terms)
        out[column] = merged
    return out


def terms_line(*texts: str) -> None:
    """A caption linking every glossary term the given texts mention (for tables that cannot carry hover help)."""
    terms = dict.fromkeys(t for text in texts for t in terms_in(text))
    if terms:
        links = " · ".join(f"[{t.name}]({glossary_link(t)})" for t in terms)
        st.caption(f"Terms used here, in plain words: {links}")


def guide(text: str) -> None:
    """One sentence on what a result means and what to try next."""
    st.info(text, icon=":material/lightbulb:")


def _session_seed() -> int:
    if "quiz.seed" not in st.session_state:
        st.session_state["quiz.seed"] = secrets.randbelow(2**31)  # one answer order per visitor
    return st.session_state["quiz.seed"]


def quiz(page: str, questions: Sequence[Question], title: str = "Check your understanding") -> None:
    """The page's questions with radio answers (shuffled once per session); explanation after each answer."""
    st.header(title)
    seed = _session_seed()
    correct = answered = 0
    for q in questions:
        shown = shuffled(q, seed)
        # The key follows the question text, so a question about a new run starts unanswered.
        key = f"{page}.quiz.{zlib.crc32(q.question.encode()):08x}"
        choice = st.radio(shown.question, shown.options, index=None, key=key)
        verdict = grade(shown, choice)
        if verdict is None:
            continue
        answered += 1
        if verdict:
            correct += 1
            st.success(f"Right. {q.explanation}", icon=":material/check_circle:")
        else:
            st.error(f"Not quite: the answer is *{q.options[q.answer]}*. {q.explanation}", icon=":material/cancel:")
    st.caption(f"{correct} of {len(questions)} right ({answered} answered).")
