"""Glossary page: search, links to one term, and link values that are not terms (shown inert, never raised)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from slm_lib.learn.glossary import load_glossary
from tests.app import HOME, unescaped


def open_glossary(**query) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=60)
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page("app_pages/glossary.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_term_is_listed_and_search_narrows_it():
    at = open_glossary()
    assert at.title[0].value == "Glossary"
    assert len(at.expander) == len(load_glossary().terms)
    at.text_input(key="glossary.q").input("cache").run()
    assert at.expander[0].label.startswith("**KV cache**")
    assert len(at.expander) < 10
    assert at.query_params["q"] == "cache"  # the search is part of the link


def test_a_term_link_opens_that_term_first():
    at = open_glossary(term="wanda")
    first = at.expander[0]
    assert first.label.startswith("**Wanda**")
    assert any("arxiv.org/abs/2306.11695" in m.value for m in first.markdown)


def test_an_unknown_or_hostile_term_value_is_reported_as_text():
    at = open_glossary(term="<script>alert(1)</script>")
    raw = at.warning[0].value
    assert "could not be used" in unescaped(raw) and "<script>" not in raw  # escaped: shown as text, never HTML
    assert len(at.expander) == len(load_glossary().terms)  # falls back to the whole list


def test_link_button_puts_the_term_in_the_url():
    at = open_glossary(q="nats")
    at.button(key="glossary.link.nats").click().run()
    assert at.query_params["term"] == "nats"
