"""Page settings in the URL, so a link reproduces a view: lesson links for the labs, filters for the gallery.

A page lists its widgets as ``{session key: QuerySpec}``. :func:`init_from_query` seeds the widgets from the
URL once per session (a bad or unknown value falls back to the default and is reported, never raised);
:func:`sync_query` writes the current values back after the widgets ran (defaults are left out, so links stay
short). URL values are untrusted: they are parsed by the spec's ``parse`` and shown only as plain text.

Example (a lab page)::

    SPECS = {"prune.sparsity": QuerySpec("sparsity", 0.5, number(0.0, 0.9)), ...}
    url_notes(init_from_query(SPECS))
    ...widgets with those keys...
    sync_query(SPECS)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from slm_lib.safe_text import neutralize

__all__ = [
    "PERSISTENT_KEYS",
    "QuerySpec",
    "choice",
    "csv_list",
    "dump_flag",
    "flag",
    "init_from_query",
    "integer",
    "keep_widget_state",
    "lesson_link",
    "number",
    "number_in",
    "sync_query",
    "url_notes",
]

MAX_RAW = 200  # longer URL values are refused before parsing


@dataclass(frozen=True)
class QuerySpec:
    """How one widget's value is stored in the URL: the parameter name, default, parser and writer."""

    param: str
    default: Any
    parse: Callable[[str], Any]
    dump: Callable[[Any], str] = field(default=str)


def choice(options: Iterable[Any]) -> Callable[[Any], Any]:
    """A parser that accepts only one of ``options`` (ValueError otherwise)."""
    allowed = list(options)

    def parse(raw: Any) -> Any:  # noqa: ANN401 - values are whatever the widget holds
        if raw not in allowed:
            raise ValueError(f"must be one of {', '.join(map(str, allowed))}")
        return raw

    return parse


def number(lo: float, hi: float, step: float | None = None) -> Callable[[str], float]:
    """A parser for a float in ``[lo, hi]``, snapped to the slider's ``step`` when given."""

    def parse(raw: str) -> float:
        value = float(raw)
        if not lo <= value <= hi:  # also refuses nan
            raise ValueError(f"must be between {lo:g} and {hi:g}")
        if step:
            value = round(lo + round((value - lo) / step) * step, 10)
        return value

    return parse


def number_in(low: float, high: float, kind: type = float) -> Callable[[str], Any]:
    """A URL parser for a number widget: finite, whole when ``kind`` is int, within its bounds (ValueError else)."""

    def parse(raw: str) -> Any:  # noqa: ANN401 - int or float, as the widget holds
        value = float(raw)
        if not math.isfinite(value) or not low <= value <= high or (kind is int and not value.is_integer()):
            raise ValueError(f"must be a number from {low:g} to {high:g}")
        return kind(value)

    return parse


def integer(lo: int, hi: int, step: int = 1) -> Callable[[str], int]:
    """A parser for an int in ``[lo, hi]``, snapped to ``step`` from ``lo``."""

    def parse(raw: str) -> int:
        value = int(raw)
        if not lo <= value <= hi:
            raise ValueError(f"must be a whole number between {lo} and {hi}")
        return lo + round((value - lo) / step) * step

    return parse


def flag(raw: str) -> bool:
    """``1``/``0`` (also true/false, yes/no, on/off) as a bool."""
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("must be 1 or 0")


def dump_flag(value: bool) -> str:
    return "1" if value else "0"


def csv_list(raw: str) -> list[str]:
    return [v for v in raw.split(",") if v]


def init_from_query(specs: dict[str, QuerySpec]) -> list[str]:
    """Seed widget state from the URL once per session; returns a plain-text note per value that was refused."""
    notes = []
    for key, spec in specs.items():
        if key in st.session_state:
            continue
        raw = st.query_params.get(spec.param)
        value = spec.default
        if raw is not None:
            try:
                if len(raw) > MAX_RAW:
                    raise ValueError("is too long")
                value = spec.parse(raw)
            except (ValueError, KeyError, TypeError) as exc:
                shown = raw if len(raw) <= 40 else raw[:40] + "…"
                default = spec.dump(spec.default) or "the default"
                notes.append(f"{spec.param} = “{shown}” {exc}: using {default} instead.")
        st.session_state[key] = value
    return notes


def sync_query(specs: dict[str, QuerySpec], share: str | None = None) -> None:
    """Write the current widget values back into the URL (defaults are left out to keep links short).

    With ``share`` (the page's URL path), a caption shows the lesson link a teacher can send.
    """
    for key, spec in specs.items():
        value = st.session_state.get(key, spec.default)
        if value == spec.default:
            if spec.param in st.query_params:
                del st.query_params[spec.param]
        else:
            st.query_params[spec.param] = spec.dump(value)
    if share is not None:
        link = lesson_link(specs, share)
        st.caption(
            f"Lesson link for these settings: `{link}` after this app's address (the address bar holds it too); "
            "opening it reopens this lab as you see it, with the result if this server has run it.",
            help="Only values that differ from the defaults are in the link; a bad value falls back to its "
            "default with a note.",
        )


def url_notes(notes: list[str]) -> None:
    """Tell the reader which link values were not used (the values are outside text: made safe first)."""
    if notes:
        body = "\n".join(f"- {neutralize(n).text}" for n in notes)
        st.warning(f"Some settings in this link could not be used:\n{body}", icon=":material/link_off:")


def lesson_link(specs: dict[str, QuerySpec], page: str) -> str:
    """The relative link that reopens ``page`` with the current settings (for a teacher to share)."""
    params = {
        spec.param: spec.dump(st.session_state[key])
        for key, spec in specs.items()
        if key in st.session_state and st.session_state[key] != spec.default
    }
    return f"{page}?{urlencode(params, safe=':,')}" if params else page


# Widget values that survive a page switch (Streamlit drops a widget's state when its page is not shown).
PERSISTENT_KEYS: tuple[str, ...] = (
    "eval.models",
    "eval.source",
    "eval.template",
    "eval.system",
    "eval.temperature",
    "eval.max_tokens",
    "eval.seed",
    "eval.repeats",
    "eval.sweep",
    "eval.categories",
)


def keep_widget_state(keys: Iterable[str] = PERSISTENT_KEYS) -> None:
    """Called by the router on every run: re-assigning a key stops Streamlit's end-of-run clean-up of it."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]
