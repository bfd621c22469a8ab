"""assess(): similarity unchanged, BERTScore-style highlights checked against a plain reimplementation,
any-of references, inputs untouched, and the fluent-wrong cases ranked as the issue asks."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from slm_lib.eval import similarity
from slm_lib.eval.alignment import BASELINE, MATCH, align, rescale
from slm_lib.eval.assess import Assessor, assess, assess_batch, overall_score
from slm_lib.eval.word_diff import shared_words, word_diff

DATA = Path(__file__).parents[1] / "data"
CASES = json.loads((DATA / "assess_cases.json").read_text(encoding="utf-8"))["cases"]
SIMILARITY_CASES = json.loads((DATA / "similarity_cases.json").read_text(encoding="utf-8"))["cases"]


@pytest.fixture(scope="module")
def model():
    return similarity.load_model()


def test_token_embeddings_share_the_sentence_vectors_of_embed(model):
    texts = ["Not all birds can fly.", "", "word " * 300, "Canberra is the capital of Australia."]
    tokens = similarity.embed_tokens(texts, model)
    plain = similarity.embed(texts, model)
    for t, v, chunks in zip(tokens, plain.vectors, plain.chunks, strict=True):
        assert np.allclose(t.vector, v, atol=1e-6) and t.chunks == chunks
    assert tokens[0].pieces == ("not", "all", "birds", "can", "fly", ".")
    assert [texts[0][a:b] for a, b in tokens[0].spans] == ["Not", "all", "birds", "can", "fly", "."]
    assert len(tokens[2].pieces) == 300 and tokens[1].tokens.shape == (0, 384)
    assert np.allclose(np.linalg.norm(tokens[3].tokens, axis=1), 1.0, atol=1e-5)


def test_alignment_equals_a_plain_bertscore(model):
    answer, reference = "Automobiles need petrol to drive.", "Cars run on gasoline."
    a, r = similarity.embed_tokens([answer, reference], model)
    h = align(a, r, answer, reference)
    # BERTScore by hand: greedy max cosine per token, punctuation left out, rescaled against the baseline.
    keep_a = [i for i, p in enumerate(a.pieces) if any(c.isalnum() for c in p)]
    keep_r = [i for i, p in enumerate(r.pieces) if any(c.isalnum() for c in p)]
    sims = a.tokens[keep_a] @ r.tokens[keep_r].T
    p, rec = rescale(sims.max(axis=1).mean()), rescale(sims.max(axis=0).mean())
    assert h.precision == pytest.approx(p, abs=1e-5) and h.recall == pytest.approx(rec, abs=1e-5)
    assert h.f1 == pytest.approx(2 * p * rec / (p + rec), abs=1e-5)
    assert rescale(BASELINE) == 0.0 and rescale(1.0) == 1.0
    assert {"Cars", "gasoline"} <= set(h.covered), "synonyms count as covered"
    assert all(w.score >= MATCH for w in h.reference_words if w.status == "covered")


def test_highlights_show_the_swapped_name(model):
    a = assess("The capital of Australia is Sydney.", "The capital of Australia is Canberra.", model=model)
    assert "Canberra" in a.highlights.missed and "Sydney" in a.highlights.unsupported
    assert "capital" in a.highlights.covered


def test_similarity_is_todays_score_and_overall_follows_its_formula(model):
    answer, reference = "All birds can fly.", "Not all birds can fly."
    a = assess(answer, reference, model=model)
    assert a.similarity == pytest.approx(similarity.score(answer, reference, model), abs=1e-5)
    assert a.flags and a.flag_kinds == ("negation",)
    assert a.overall == pytest.approx(overall_score(a.similarity, a.highlights.recall, len(a.flags)), abs=1e-6)
    assert 0.0 <= a.overall <= 0.5 * max(a.similarity, 0.0) + 0.5


def test_any_of_references_pick_the_best_fit_and_inputs_stay_unchanged(model):
    refs = ["Où est la gare ?", "Où se trouve la gare ?"]
    kept = copy.deepcopy(refs)
    a = assess("Où se trouve la gare ?", refs, "Translate 'Where is the train station?'", model)
    assert refs == kept
    assert a.reference_index == 1 and a.reference == refs[1] and a.similarity == pytest.approx(1.0, abs=1e-5)
    single = assess("Où se trouve la gare ?", refs[0], model=model)
    assert a.overall > single.overall
    with pytest.raises(ValueError, match="at least one reference"):
        assess("x", [], model=model)


def test_empty_answers_score_zero_and_batches_equal_single_calls(model):
    assert assess("", "The capital is Paris.", model=model).overall == 0.0
    answers, refs = ["Paris.", "Lyon.", "Paris."], ["The capital of France is Paris."] * 3
    batch = assess_batch(answers, refs, ["Capital of France?"] * 3, model)
    single = [assess(a, r, "Capital of France?", model) for a, r in zip(answers, refs, strict=True)]
    assert [b.overall for b in batch] == pytest.approx([s.overall for s in single], abs=1e-6)
    assert batch[0] == batch[2], "deterministic"


def test_assessor_embeds_each_reference_once(model, monkeypatch):
    calls = []
    real = similarity.embed_tokens

    def counting(texts, m=None):
        calls.append(list(texts))
        return real(texts, m)

    monkeypatch.setattr(importlib.import_module("slm_lib.eval.assess"), "embed_tokens", counting)
    assessor = Assessor(model)
    assessor(["a", "b"], [("The reference.",)] * 2)
    assessor(["c"], [("The reference.",)])
    assert sum(t == "The reference." for batch in calls for t in batch) == 1


def _ranking(cases, model):
    n = len(cases)
    found = assess_batch(
        [c["right"] for c in cases] + [c["wrong"] for c in cases],
        [c["reference"] for c in cases] * 2,
        [c["question"] for c in cases] * 2,
        model,
    )
    return found[:n], found[n:]


def test_overall_meets_the_targets_on_the_dev_cases(model):
    """The issue's targets, on the cases used while building the checks."""
    cases = [c for c in CASES if c["split"] == "dev"]
    right, wrong = _ranking(cases, model)
    n = len(cases)
    wins = sum(r.overall > w.overall for r, w in zip(right, wrong, strict=True))
    assert wins >= 22 / 24 * n, f"{wins}/{n}"
    gap = np.mean([r.overall - w.overall for r, w in zip(right, wrong, strict=True)])
    sim_gap = np.mean([r.similarity - w.similarity for r, w in zip(right, wrong, strict=True)])
    assert gap >= 3 * max(sim_gap, 0.0) and gap > 0.1
    assert sum(w.flagged for w in wrong) >= 2 / 3 * n
    assert sum(r.flagged for r in right) <= n / 8


def test_overall_beats_similarity_on_the_held_out_cases(model):
    """A floor, not a target: held-out cases scored 12/17 right-above-wrong with overall against 10/17 with
    similarity, the first time they were run (bench/results/assess.json); keep it from getting worse."""
    cases = [c for c in CASES if c["split"] == "held_out"]
    right, wrong = _ranking(cases, model)
    wins = sum(r.overall > w.overall for r, w in zip(right, wrong, strict=True))
    sim_wins = sum(r.similarity > w.similarity for r, w in zip(right, wrong, strict=True))
    assert wins >= 12 and wins > sim_wins
    assert sum(w.flagged for w in wrong) >= 11 and sum(r.flagged for r in right) <= len(cases) / 8


def test_good_answers_of_the_similarity_cases_are_rarely_flagged(model):
    right, wrong = _ranking(
        [
            {"question": c["question"], "reference": c["reference"], "right": c["good"], "wrong": c["poor"]}
            for c in SIMILARITY_CASES
        ],
        model,
    )
    assert sum(r.flagged for r in right) <= len(right) / 8
    off = [i for i, c in enumerate(SIMILARITY_CASES) if c["poor_kind"] == "off_target"]
    assert sum(right[i].overall > wrong[i].overall for i in off) >= 0.9 * len(off)


def test_word_diff_and_shared_words():
    assert word_diff("Not all birds fly.", "All birds fly.") == [
        ("removed", "Not all"),
        ("added", "All"),
        ("same", "birds fly ."),
    ]
    assert word_diff("same", "same") == [("same", "same")]
    assert shared_words("Automobiles need petrol.", "Cars run on gasoline.") == 0.0
    assert shared_words("Cars run on gasoline.", "Cars run on gasoline.") == 1.0
