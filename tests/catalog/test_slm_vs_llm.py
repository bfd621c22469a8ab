from __future__ import annotations

import json
import re

import pytest

from slm_lib.catalog.slm_vs_llm import (
    ASSET,
    ComparisonError,
    grade,
    load_comparison,
    select_dimensions,
    shuffle_quiz,
)

DIMENSIONS = {"size", "training", "compute", "proficiency", "inference", "latency", "control", "cost"}


def test_all_eight_dimensions_with_sourced_numbers():
    data = load_comparison()
    assert {d.id for d in data.dimensions} == DIMENSIONS
    for dim in data.dimensions:
        assert dim.numbers
        assert all(f.source.startswith(("http", "Analytics")) for f in dim.numbers), dim.id


def test_quiz_has_five_or_more_questions_with_valid_answers():
    quiz = load_comparison().quiz
    assert len(quiz) >= 5
    for q in quiz:
        assert grade(q, q.options[q.answer]) is True
        wrong = next(o for i, o in enumerate(q.options) if i != q.answer)
        assert grade(q, wrong) is False
        assert grade(q, None) is None


def test_grade_rejects_an_unknown_option():
    q = load_comparison().quiz[0]
    with pytest.raises(ValueError, match="not one of the options"):
        grade(q, "something else")


def test_select_dimensions_keeps_file_order_and_rejects_unknown():
    data = load_comparison()
    assert [d.id for d in select_dimensions(data, ["cost", "size"])] == ["size", "cost"]
    with pytest.raises(ValueError, match="bogus"):
        select_dimensions(data, ["bogus"])


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r["dimensions"][0]["numbers"][0].update(source="nowhere"), "source 'nowhere'"),
        (lambda r: r["dimensions"][1].update(slm=""), "field 'slm'"),
        (lambda r: r["quiz"][0].update(answer=9), "field 'answer'"),
        (lambda r: r["dimensions"][2].update(numbers=[]), "field 'numbers'"),
    ],
)
def test_malformed_file_names_entry_and_field(tmp_path, mutate, message):
    raw = json.loads(ASSET.read_text(encoding="utf-8"))
    mutate(raw)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ComparisonError, match=message):
        load_comparison(bad)


def _texts(raw):
    """Every sentence-like unit of the file: row texts, and each figure as 'label: value'."""
    for dim in raw["dimensions"]:
        for field in ("slm", "llm", "detail", "example"):
            yield from re.split(r"(?<=[.;])\s+", dim[field])
        for fact in dim["numbers"]:
            yield f"{fact['label']}: {fact['value']}"


_PRECISION = re.compile(r"\b(fp16|F16|16-bit|fp32|F32|32-bit)\b")


def test_no_size_labelled_fp16_equals_parameters_times_four_bytes():
    """A GB figure that is a model's fp32 size (params x 4 bytes) must be called fp32, never fp16."""
    raw = json.loads(ASSET.read_text(encoding="utf-8"))
    checked = 0
    for text in _texts(raw):
        sizes = [float(n) for n in re.findall(r"\b(\d+(?:\.\d+)?)B\b", text)]
        for match in re.finditer(r"(\d[\d,]*(?:\.\d+)?)\s*GB\b", text):
            gb = float(match.group(1).replace(",", ""))
            if not any(abs(gb - 4 * size) <= 0.03 * 4 * size for size in sizes):
                continue
            checked += 1
            words = [(abs(w.start() - match.start()), w.group(1)) for w in _PRECISION.finditer(text)]
            assert words, f"{gb} GB in {text!r} is the fp32 size but names no precision"
            nearest = min(words)[1]
            assert nearest in ("fp32", "F32", "32-bit"), f"{gb} GB in {text!r} is the fp32 size, called {nearest}"
    assert checked >= 2  # the 8B and 405B originals are quoted, labelled fp32


def test_fp16_to_q4_k_m_is_about_3_3x_not_6_5x():
    compute = next(d for d in load_comparison().dimensions if d.id == "compute")
    f16 = next(f for f in compute.numbers if f.label.startswith("Llama 3.1 8B, F16"))
    assert f16.value.startswith("14.96 GiB (16.1 GB) -> 4.58 GiB (4.9 GB)") and "3.3x" in f16.value
    assert "3.3x" in compute.detail and "32 GB to under 5 GB" not in compute.detail
    assert "sustainable" not in compute.slm


def test_licenses_cost_and_training_say_what_the_sources_say():
    dims = {d.id: d for d in load_comparison().dimensions}
    control = " ".join([dims["control"].detail, *(f.value for f in dims["control"].numbers)])
    for term in ("Llama 3.2 Community License", "Gemma Terms of Use", "Qianwen", "Apache 2.0", "MIT"):
        assert term in control
    cost = " ".join([dims["cost"].example, *(f.value for f in dims["cost"].numbers)])
    assert "460k" in cost and "86k" in cost and "1.46M" in cost and "7.0M" in cost
    assert "weeks" not in dims["training"].slm and "30.84M" in dims["training"].example


def test_quiz_shuffle_moves_the_answer_and_keeps_it_right():
    quiz = load_comparison().quiz
    assert shuffle_quiz(quiz, 3) == shuffle_quiz(quiz, 3)  # one visitor's quiz stays put across reruns
    positions = set()
    for seed in range(20):
        for original, shuffled in zip(quiz, shuffle_quiz(quiz, seed), strict=True):
            assert shuffled.question == original.question
            assert sorted(shuffled.options) == sorted(original.options)
            assert shuffled.options[shuffled.answer] == original.options[original.answer]
            positions.add(shuffled.answer)
    assert positions == {0, 1, 2, 3}
