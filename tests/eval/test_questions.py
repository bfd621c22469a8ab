"""Question sets: the built-in set and validation of uploaded CSV / JSON files."""

from __future__ import annotations

import json

import pytest

from slm_lib.eval.questions import (
    DEFAULT_CATEGORY,
    MAX_FILE_BYTES,
    MAX_QUESTIONS,
    QuestionItem,
    QuestionSetError,
    categories,
    filter_categories,
    load_question_set,
    parse_question_file,
)

AREAS = {
    "Reasoning & math",
    "Summarization",
    "Classification & sentiment",
    "Translation",
    "Code generation",
    "Factual QA",
    "Healthcare text",
    "Creative writing",
    "Recommendations",
}


def test_builtin_set_covers_every_application_area():
    items = load_question_set("builtin")
    assert len(items) >= 40
    assert set(categories(items)) == AREAS
    per_area = {c: sum(i.category == c for i in items) for c in AREAS}
    assert min(per_area.values()) >= 4, per_area
    assert len({i.question for i in items}) == len(items), "duplicate questions"
    assert len({i.reference for i in items}) == len(items), "duplicate references"


def test_builtin_set_has_the_source_articles_hypotenuse_question():
    items = load_question_set()
    hyp = [i for i in items if "hypotenuse" in i.question.lower()]
    assert hyp and "pythagorean" in hyp[0].reference.lower()


def test_unknown_set_name_is_refused():
    with pytest.raises(ValueError, match="unknown question set 'mine'"):
        load_question_set("mine")


def test_good_csv_with_bom_quotes_blank_lines_and_optional_category():
    data = (
        '\ufeffQuestion,Reference,Category\n"What is 2+2, exactly?",Four.,Math\n\nCapital of France?,Paris.,\n'
    ).encode()
    items = parse_question_file(data, "set.CSV")
    assert items == [
        QuestionItem("What is 2+2, exactly?", "Four.", "Math"),
        QuestionItem("Capital of France?", "Paris.", DEFAULT_CATEGORY),
    ]


def test_good_csv_without_category_column_and_with_aliases():
    items = parse_question_file(b"prompt,expected\nHi?,Hello.\n", "set.csv")
    assert items == [QuestionItem("Hi?", "Hello.", DEFAULT_CATEGORY)]


def test_good_json_list_and_object_forms():
    rows = [{"question": "Q1?", "reference": "R1.", "category": "A"}, {"question": "Q2?", "answer": "R2."}]
    as_list = parse_question_file(json.dumps(rows).encode(), "set.json")
    as_obj = parse_question_file(json.dumps({"questions": rows}).encode(), "set.json")
    assert as_list == as_obj == [QuestionItem("Q1?", "R1.", "A"), QuestionItem("Q2?", "R2.", DEFAULT_CATEGORY)]


def test_filter_categories_keeps_order_and_empty_means_all():
    items = [QuestionItem("a", "b", "X"), QuestionItem("c", "d", "Y"), QuestionItem("e", "f", "X")]
    assert filter_categories(items, ["X"]) == [items[0], items[2]]
    assert filter_categories(items, []) == items
    assert categories(items) == ["X", "Y"]


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"question,reference\nq,r\n", "set.txt", "not a .csv or .json file"),
        (b"\xff\xfeq\x00", "set.csv", "not UTF-8"),
        (b"question,reference\nq\x00,r\n", "set.csv", "NUL bytes"),
        (b"  \n", "set.csv", "the file is empty"),
        (b"question,reference\n", "set.csv", "no questions"),
        (
            b"question,answr\nq,r\n",
            "set.csv",
            "missing required column 'reference' \\(found: question, answr\\)",
        ),
        (b"question,reference\nq,r\nq2,r2,extra\n", "set.csv", "^Row 3: expected 2 cells, found 3"),
        (b"question,reference,category\nq,r,c\n ,r2,c\n", "set.csv", "^Row 3: 'question' is empty"),
        (b'[{"question": "q", "reference": "r"},', "set.json", "invalid JSON at line 1"),
        (b'{"items": []}', "set.json", "expected a JSON list"),
        (
            b'[{"question": "q", "reference": "r"}, "oops"]',
            "set.json",
            "^Row 2: expected an object, found str",
        ),
        (b'[{"question": "q"}]', "set.json", "^Row 1: missing required field 'reference'"),
        (b'[{"question": "q", "reference": 42}]', "set.json", "^Row 1: 'reference' must be text, found int"),
    ],
)
def test_bad_files_name_the_row_and_problem(data, filename, message):
    with pytest.raises(QuestionSetError, match=message):
        parse_question_file(data, filename)


def test_row_number_is_exposed_on_the_error():
    with pytest.raises(QuestionSetError) as info:
        parse_question_file(b"question,reference\nq,r\nq2,\n", "set.csv")
    assert info.value.row == 3


def test_size_limit_is_checked_before_parsing():
    data = b"question,reference\n" + b"q,r\n" * (MAX_FILE_BYTES // 4 + 1)
    with pytest.raises(QuestionSetError, match="limit is"):
        parse_question_file(data, "big.csv")


def test_too_many_questions_and_too_long_text_are_refused():
    many = "question,reference\n" + "q,r\n" * (MAX_QUESTIONS + 1)
    with pytest.raises(QuestionSetError, match=f"limit is {MAX_QUESTIONS}"):
        parse_question_file(many.encode(), "many.csv")
    long = json.dumps([{"question": "q" * 5000, "reference": "r"}]).encode()
    with pytest.raises(QuestionSetError, match="^Row 1: 'question' has 5,000 characters"):
        parse_question_file(long, "long.json")


def test_question_item_validates_its_fields():
    with pytest.raises(ValueError, match="reference must be a non-empty string"):
        QuestionItem("q", "  ")


# ---- issue 11: uploads are parsed within bounds ----


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested 100,000 levels deep"),
        (b'[{"question": "q", "reference": "r", "n": ' + b"9" * 5_000 + b"}]", "number with 5,000 characters"),
        (b'[{"question": "q", "reference": "r", "n": 1.' + b"5" * 5_000 + b"}]", "number with 5,002 characters"),
        (b'[{"question": "\\ud800", "reference": "r"}]', "Row 1: 'question' contains \\ud800"),
        (b'[{"question": "q", "reference": "r", "n": NaN}]', "contains NaN"),
    ],
    ids=["deep nesting", "5000-digit number", "5000-digit fraction", "lone surrogate", "NaN"],
)
def test_hostile_json_uploads_get_a_clear_message(data, words):
    with pytest.raises(QuestionSetError) as info:
        parse_question_file(data, "set.json")
    assert words in str(info.value)


def test_json_strings_with_brackets_do_not_count_as_nesting():
    data = json.dumps([{"question": "[" * 3_000 + "?", "reference": "{" * 3_000}]).encode()
    assert parse_question_file(data, "set.json")[0].reference == "{" * 3_000
