r"""The one sanitizer for text from outside the code: model answers, model names, server errors,
URL values, uploaded files and rows read back from the run database.

Three functions, one per place the text goes:

- ``neutralize(text)`` for Markdown (``st.markdown``, ``st.error``, ``st.caption`` ...): the text is
  parsed with a real CommonMark parser (``markdown-it-py``, plus GFM tables and strikethrough as in
  Streamlit's renderer) and written back as Markdown in which every construct is one this module
  wrote. Every ASCII punctuation character of the text is backslash-escaped, so nothing in it can
  open a link, image, tag, math formula, directive or code span of its own; code is re-fenced with
  a fence longer than any backtick run inside it. Links stay live only for ``http``, ``https`` and
  ``mailto`` targets (others become plain text, titles are dropped); images become click-to-open
  links ("🖼 alt"), so nothing loads by itself; raw HTML is shown as text; block quotes and lists
  deeper than ``MAX_DEPTH`` are flattened; the length is capped (``settings.limits().max_answer_chars``)
  with a visible marker. Because the output is rebuilt, its safety does not depend on the browser's
  parser agreeing with ours: they can only disagree about layout.
- ``plain(text)`` for a single-line label inside Markdown (titles, captions, widget and expander
  labels): one line, shown literally.
- ``one_line(text)`` for places that never render Markdown (table cells, select options): one line,
  control characters removed, capped.

Example:
    >>> print(neutralize("[x](javascript:alert(1)) ![p](https://e.vil/?q=1)").text)
    \[x\]\(javascript\:alert\(1\)\) [🖼 p](<https://e.vil/?q=1>)
    >>> print(plain("**llama** ![](http://e.vil/x)"))
    \*\*llama\*\* \!\[\]\(http\:\/\/e\.vil\/x\)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from slm_lib import settings

__all__ = ["ALLOWED_SCHEMES", "MAX_DEPTH", "SafeText", "is_safe_url", "neutralize", "one_line", "plain"]

ALLOWED_SCHEMES = ("http", "https", "mailto")
MAX_DEPTH = 8  # nested quotes and lists shown; deeper ones are flattened into this level
LABEL_CHARS = 200
# C0/C1 controls (tab and newline stay), DEL, bidi overrides and isolates (used to disguise text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Every ASCII punctuation character gets a backslash (CommonMark can escape each of them).
_ESCAPES = str.maketrans({c: "\\" + c for c in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"})
_LIVE = re.compile(r"(?i)(https?|mailto):")
_DEST_UNSAFE = re.compile(r"[\s<>\\\x00-\x1f\x7f]")
_INFO = re.compile(r"[\w+#.-]{1,32}")
# Streamlit's renderer is CommonMark + GFM (remark-gfm); math, directives and HTML are neutralised by escaping.
# Inline parsing runs per paragraph (below), so a paragraph too costly to parse can be kept as plain text.
_NESTING = 50  # markdown-it stops parsing a container this deep: such text is shown as plain paragraphs
_PARSER = MarkdownIt("commonmark", {"maxNesting": _NESTING}).enable(["table", "strikethrough"]).disable("inline")
LINK_SCAN_BUDGET = 200_000  # characters markdown-it may scan for link labels in one paragraph (it is quadratic)


@dataclass(frozen=True)
class SafeText:
    """Neutralised Markdown plus what was changed, so the page can say so."""

    text: str
    truncated: bool = False
    original_chars: int = 0
    links_removed: int = 0
    images_converted: int = 0


def _clean(text: object) -> str:
    """``str(text)`` without control characters; lone surrogates (unencodable) become U+FFFD."""
    raw = text if isinstance(text, str) else str(text)
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", raw))


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _cap(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[: max(0, max_chars - 1)] + "…"


def one_line(text: object, max_chars: int = LABEL_CHARS) -> str:
    """One line of outside text for places that never render Markdown (table cells, select options).

    Example:
        >>> one_line("llama3.2:1b\\n\\x00<b>x</b>")
        'llama3.2:1b <b>x</b>'
    """
    return _cap(" ".join(_clean(text).split()), max_chars)


def plain(text: object, max_chars: int = LABEL_CHARS) -> str:
    """One line of outside text that any Markdown renderer shows literally (labels, titles, captions).

    Example:
        >>> print(plain("qwen2:1.5b"))
        qwen2\\:1\\.5b
    """
    return _escape(one_line(text, max_chars))


def is_safe_url(target: str) -> bool:
    """True only for absolute ``http``, ``https`` and ``mailto`` URLs (after undoing entity and escape disguises).

    Example:
        >>> is_safe_url("https://example.org"), is_safe_url(" jav&#x61;script:alert(1)"), is_safe_url("/page")
        (True, False, False)
    """
    import html

    plain_target = "".join(ch for ch in html.unescape(str(target)).replace("\\", "") if ch.isprintable())
    return _LIVE.match(plain_target.strip().strip("<>")) is not None


def neutralize(text: object, max_chars: int | None = None) -> SafeText:
    """Return ``text`` rebuilt as safe Markdown (see the module docstring); never raises.

    Args:
        text: untrusted Markdown, e.g. a model's answer or a server's error message.
        max_chars: length cap; ``None`` means ``settings.limits().max_answer_chars``.
    """
    raw = _clean(text)
    cap = settings.limits().max_answer_chars if max_chars is None else max_chars
    truncated = len(raw) > cap
    body = raw[:cap] if truncated else raw  # cut first: parsing is then bounded by the cap
    writer = _Writer()
    tokens = _parse(body)
    if any(t.level >= _NESTING - 2 for t in tokens):  # nested past what the parser keeps: no Markdown at all
        out = "\n".join(_escape(line.strip()) for line in body.split("\n")).strip("\n")
    else:
        out = "\n".join(writer.blocks(SyntaxTreeNode(tokens).children, 0)).strip("\n")
    if truncated:
        out += f"\n\n*\\[… truncated: showing {cap:,} of {len(raw):,} characters\\]*"
    return SafeText(out, truncated, len(raw), writer.links_removed, writer.images_converted)


def _parse(text: str) -> list[Token]:
    """markdown-it tokens of ``text``; a paragraph whose link labels would cost too much to scan stays plain text."""
    env: dict = {}
    tokens = _PARSER.parse(text, env)
    for token in tokens:
        if token.type != "inline":
            continue
        token.children = []
        if _link_scan_cost(token.content) <= LINK_SCAN_BUDGET:
            _PARSER.inline.parse(token.content, _PARSER, env, token.children)
            continue
        for number, line in enumerate(token.content.split("\n")):
            if number:
                token.children.append(Token("softbreak", "br", 0))
            token.children.append(Token("text", "", 0, content=line))
    return tokens


def _link_scan_cost(text: str) -> int:
    """Characters markdown-it scans looking for the ``]`` of every ``[`` (each ``[`` scans to its match or the end)."""
    if "[" not in text:
        return 0
    cost, opened, skip = 0, [], False
    for index, ch in enumerate(text):
        if skip:
            skip = False
        elif ch == "\\":
            skip = True
        elif ch == "[":
            opened.append(index)
        elif ch == "]" and opened:
            cost += index - opened.pop()
    return cost + sum(len(text) - index for index in opened)


class _Writer:
    """Writes a markdown-it syntax tree back as Markdown made only of constructs it chose."""

    def __init__(self) -> None:
        self.links_removed = 0
        self.images_converted = 0

    # ---- blocks: each returns lines; blocks are separated by one blank line ----
    def blocks(self, nodes: list[SyntaxTreeNode], depth: int, tight: bool = False) -> list[str]:
        lines: list[str] = []
        previous = ""
        markers = {"bullet_list": 0, "ordered_list": 0}
        for node in nodes:
            kind = node.type
            block = self.block(node, depth, markers.get(kind, 0))
            if kind in markers:
                markers[kind] += 1  # adjacent lists alternate their marker, so they stay separate lists
            if not block:
                continue
            if lines and (not tight or previous in ("bullet_list", "ordered_list", "blockquote", "table")):
                lines.append("")
            lines += block
            previous = kind
        return lines

    def block(self, node: SyntaxTreeNode, depth: int, nth: int) -> list[str]:
        kind = node.type
        if kind == "paragraph":
            return self.inline(node.children[0] if node.children else None).split("\n")
        if kind == "heading":
            level = int(node.tag[1:])
            return ["#" * level + " " + self.inline(node.children[0] if node.children else None).replace("\n", " ")]
        if kind == "hr":
            return ["***"]
        if kind in ("fence", "code_block"):
            return _fenced(node.content, node.info if kind == "fence" else "")
        if kind == "html_block":  # raw HTML is shown as text, one paragraph per stretch of lines
            return [_escape(line.strip()) for line in node.content.rstrip("\n").split("\n")]
        if kind == "blockquote":
            inner = self.blocks(node.children, depth + 1)
            return inner if depth >= MAX_DEPTH else [f"> {line}" if line else ">" for line in inner]
        if kind in ("bullet_list", "ordered_list"):
            return self.listing(node, depth, nth)
        if kind == "table":
            return self.table(node)
        return self.blocks(node.children, depth)  # anything else: its content only

    def listing(self, node: SyntaxTreeNode, depth: int, nth: int) -> list[str]:
        ordered = node.type == "ordered_list"
        start = int(node.attrs.get("start", 1)) if ordered else 0
        tight = all(p.hidden for item in node.children for p in item.children if p.type == "paragraph")
        lines: list[str] = []
        for index, item in enumerate(node.children):
            inner = self.blocks(item.children, depth + 1, tight)
            if depth >= MAX_DEPTH:
                lines += [""] + inner if lines else inner
                continue
            marker = f"{start + index}{'.)'[nth % 2]}" if ordered else "-*+"[nth % 3]
            pad = " " * (len(marker) + 1)
            if lines and not tight:
                lines.append("")
            lines.append(f"{marker} {inner[0]}" if inner else marker)
            lines += [pad + line if line else "" for line in inner[1:]]
        return lines

    def table(self, node: SyntaxTreeNode) -> list[str]:
        rows = [tr for part in node.children for tr in part.children]
        if not rows:
            return []
        lines = []
        for number, tr in enumerate(rows):
            cells = [self.inline(c.children[0] if c.children else None, in_table=True) for c in tr.children]
            lines.append("| " + " | ".join(c.replace("\n", " ") for c in cells) + " |")
            if number == 0:
                aligns = [str(c.attrs.get("style", "")) for c in tr.children]
                lines.append("|" + "|".join(_align(a) for a in aligns) + "|")
        return lines

    # ---- inline ----
    def inline(self, node: SyntaxTreeNode | None, in_table: bool = False, in_link: bool = False) -> str:
        if node is None:
            return ""
        out = []
        for child in node.children:
            kind = child.type
            if kind in ("text", "text_special", "html_inline"):
                out.append(_escape(child.content))
            elif kind == "softbreak":
                out.append("\n")
            elif kind == "hardbreak":
                out.append("\\\n")
            elif kind in ("em", "strong", "s"):
                mark = {"em": "*", "strong": "**", "s": "~~"}[kind]
                inner = self.inline(child, in_table, in_link)
                out.append(mark + inner + mark if inner else "")
            elif kind == "code_inline":
                out.append(_code_span(child.content, in_table))
            elif kind == "link":
                label = self.inline(child, in_table, in_link=True)
                href = str(child.attrs.get("href", ""))
                if not in_link and _LIVE.match(href):
                    out.append(f"[{label}](<{_destination(href)}>)")
                else:
                    self.links_removed += not _LIVE.match(href)
                    out.append(label)
            elif kind == "image":
                self.images_converted += 1
                alt = "🖼 " + _escape(_text_of(child))
                src = str(child.attrs.get("src", ""))
                out.append(f"[{alt}](<{_destination(src)}>)" if not in_link and _LIVE.match(src) else alt)
            else:
                out.append(self.inline(child, in_table, in_link))
        return "".join(out)


def _text_of(node: SyntaxTreeNode) -> str:
    """The plain text inside an inline node (an image's alt text)."""
    if node.type in ("text", "text_special", "code_inline", "html_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(_text_of(child) for child in node.children)


def _longest_run(text: str, char: str = "`") -> int:
    return max((len(m) for m in re.findall(f"{re.escape(char)}+", text)), default=0)


def _code_span(content: str, in_table: bool) -> str:
    """A code span whose backtick fence is longer than any run inside it (padded when needed)."""
    if not content:
        return ""
    if in_table:
        content = content.replace("|", "\\|")  # GFM splits table cells at every unescaped pipe
    fence = "`" * (_longest_run(content) + 1)
    pad = " " if content.strip(" ") and (content[0] in "` " or content[-1] in "` ") else ""
    return f"{fence}{pad}{content}{pad}{fence}"


def _fenced(content: str, info: str) -> list[str]:
    """A fenced code block that no line of ``content`` can close early."""
    fence = "`" * max(3, _longest_run(content) + 1)
    words = info.split()
    lang = words[0] if words and _INFO.fullmatch(words[0]) else ""
    body = content[:-1] if content.endswith("\n") else content
    return [fence + lang, *(body.split("\n") if body else []), fence]


def _destination(url: str) -> str:
    """A URL written for ``<...>`` link destinations: nothing in it can end the brackets."""
    return _DEST_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode()), url)


def _align(style: str) -> str:
    return {"text-align:left": ":---", "text-align:right": "---:", "text-align:center": ":---:"}.get(style, "---")
