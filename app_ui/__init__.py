"""Streamlit-aware helpers shared by the pages (never imported by ``slm_lib``).

- ``PAGES``: the page registry the router and the tests read.
- ``page_header``, ``show_code``, ``fail``: small widgets every page uses.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn

import streamlit as st

__all__ = ["PAGES", "PageSpec", "fail", "page_header", "show_code"]


@dataclass(frozen=True)
class PageSpec:
    path: str
    title: str
    icon: str
    section: str
    teaches: str
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec(
        "pages/home.py",
        "Home",
        ":material/home:",
        "Learn",
        "What SLMs are, how they are made, where they are used, which backends are live.",
        default=True,
    ),
    PageSpec(
        "pages/slm_vs_llm.py",
        "SLM vs LLM",
        ":material/balance:",
        "Learn",
        "SLMs against LLMs on eight dimensions, in plain words and in sourced numbers, plus a quiz.",
    ),
    PageSpec(
        "pages/distillation.py",
        "Distillation",
        ":material/science:",
        "Compress",
        "Train a student from a teacher live; distilled vs hard-label student, measured.",
    ),
    PageSpec(
        "pages/pruning.py",
        "Pruning",
        ":material/content_cut:",
        "Compress",
        "Unstructured, structured and 2:4 pruning of a tiny model: sparsity vs accuracy, size and speed.",
    ),
    PageSpec(
        "pages/quantization.py",
        "Quantization",
        ":material/numbers:",
        "Compress",
        "Bit width, scheme and granularity: stored bytes, accuracy and latency from fp32 to int2.",
    ),
    PageSpec(
        "pages/real_slm.py",
        "Compress a real SLM",
        ":material/memory:",
        "Compress",
        "Quantize and prune SmolLM2-135M-Instruct: perplexity, bytes, speed and answers.",
    ),
    PageSpec(
        "pages/gallery.py",
        "Model gallery",
        ":material/view_module:",
        "Choose",
        "Sourced model cards with filters by size, memory fit, license, modality and more.",
    ),
    PageSpec(
        "pages/model_compare.py",
        "Compare models",
        ":material/bar_chart:",
        "Choose",
        "Two to four models side by side with a benchmark chart.",
    ),
    PageSpec(
        "pages/chooser.py",
        "Which SLM fits?",
        ":material/explore:",
        "Choose",
        "A ranked recommendation for your use case, device, context and license.",
    ),
    PageSpec(
        "pages/playground.py",
        "Playground",
        ":material/forum:",
        "Compare",
        "One prompt, several SLMs side by side, scored against a reference answer.",
    ),
    PageSpec(
        "pages/score_limits.py",
        "Why scores mislead",
        ":material/rule:",
        "Compare",
        "Live examples of what similarity misses (negation, wrong numbers, long answers, paraphrases) and what "
        "the overall score, fact flags and word highlights add.",
    ),
    PageSpec(
        "pages/evaluation.py",
        "Evaluation runs",
        ":material/leaderboard:",
        "Compare",
        "Question sets through several models: leaderboard, history and exports.",
    ),
)


def page_header(title: str, intro: str) -> None:
    """Title plus a short explanation of what the page teaches."""
    st.title(title)
    st.markdown(intro)


def show_code(*functions: Callable[..., object], label: str = "Show the code") -> None:
    """An expander rendering the ``slm_lib`` functions this page runs."""
    with st.expander(label):
        for fn in functions:
            st.code(inspect.getsource(fn), language="python")


def fail(message: str, fix: str | None = None) -> NoReturn:
    """Show an expected failure as a clear message with its fix, then stop the page.

    ``message`` usually carries an exception's text (outside words): it is shown through the sanitizer.
    """
    from slm_lib.safe_text import neutralize

    text = neutralize(message).text
    st.error(text if fix is None else f"{text}\n\n**Fix:** {fix}")
    st.stop()
    raise AssertionError("unreachable")  # st.stop raises; keeps type checkers honest
