"""The glossary file and its lookups: every term the app's labels use has a plain definition."""

from __future__ import annotations

import json

import pytest

from slm_lib.learn import glossary
from slm_lib.learn.glossary import GlossaryError, get_term, help_for, load_glossary, search, terms_in

# The terms the issue found students stuck on, plus the ones every lab page labels with.
REQUIRED = [
    "perplexity",
    "nats",
    "windows",
    "KV cache",
    "CSR",
    "Wanda",
    "ΔPPL",
    "soft targets",
    "2:4",
    "GGUF",
    "q4_K_M",
    "MMLU",
    "TTFT",
    "tokens/s",
    "embedding",
    "cosine similarity",
    "temperature",
    "hard label",
    "student",
    "teacher",
    "sparsity",
    "group size",
    "zero point",
    "bits per weight",
    "context length",
    "GQA",
]


def test_the_shipped_glossary_has_every_required_term_with_a_one_sentence_definition():
    terms = load_glossary().terms
    assert len(terms) >= 30
    for name in REQUIRED:
        term = get_term(name)
        assert term.short.count(". ") == 0, f"{term.id}: 'short' should be one sentence"
        assert len(term.note) > len(term.short) // 2
    sourced = [t for t in terms if t.source]
    assert len(sourced) >= 20
    assert all(t.source.startswith("https://") for t in sourced)


@pytest.mark.parametrize(
    ("label", "ids"),
    [
        ("ΔPPL", ["delta-ppl"]),  # the longer spelling wins over PPL
        ("PPL", ["perplexity"]),
        ("tg tokens/s", ["tokens-per-second"]),
        ("held-out accuracy", ["held-out", "accuracy"]),
        ("Latency (ms/char)", ["latency"]),
        ("Symmetric (no zero point)", ["zero-point"]),
        ("2:4 (magnitude)", ["two-four", "magnitude"]),
        ("Temperature T", ["temperature"]),
        ("T", ["temperature"]),
        ("Train a student at T = 2", ["student"]),  # a stray capital letter is not a term
        ("kv cache", []),  # acronyms match only in their own case
        ("Perplexity and perplexity", ["perplexity"]),  # each term once
        ("wanda-2of4", []),  # part of a longer token: not a mention
        ("The return statement retur", []),
    ],
)
def test_terms_in_finds_the_terms_a_label_mentions(label, ids):
    assert [t.id for t in terms_in(label)] == ids


def test_help_for_joins_definitions_and_rejects_typos():
    text = help_for("KV cache", "GQA", "kv-cache")
    assert text.startswith("**KV cache**: Memory")
    assert text.count("**") == 4  # two terms, the duplicate dropped
    with pytest.raises(KeyError, match="perplexitty"):
        help_for("perplexitty")


def test_search_ranks_name_matches_before_mentions():
    found = search("cache")
    assert found[0].id == "kv-cache"
    assert len(search("")) == len(load_glossary().terms)
    assert search("zzz-not-a-term") == ()


def _write(tmp_path, terms):
    path = tmp_path / "glossary.json"
    path.write_text(json.dumps({"terms": terms}), encoding="utf-8")
    return path


GOOD = {"id": "nats", "name": "Nats", "short": "A unit.", "note": "More."}


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ([], "non-empty 'terms'"),
        ([{**GOOD, "short": 3}], r"term #0 \(nats\): field 'short'"),
        ([{**GOOD, "id": "Not Valid"}], "lowercase words"),
        ([{**GOOD, "short": "no full stop"}], "one whole sentence"),
        ([{**GOOD, "source": "javascript:alert(1)"}], "http"),
        ([GOOD, GOOD], "duplicate"),
        ([{**GOOD, "see_also": ["perplexity"]}], "unknown term"),
        ([GOOD, {**GOOD, "id": "other", "name": "Other", "aliases": ["nats"]}], "already used"),
    ],
)
def test_a_malformed_file_is_refused_naming_the_entry(tmp_path, terms, message):
    load_glossary.cache_clear()
    with pytest.raises(GlossaryError, match=message):
        load_glossary(_write(tmp_path, terms))
    load_glossary.cache_clear()


def test_module_reexports():
    assert set(glossary.__all__) >= {"Term", "load_glossary", "help_for", "terms_in", "search"}
