"""The fact checks, one by one: each flags the fluent wrong answer and stays quiet on the right one."""

from __future__ import annotations

import pytest

from slm_lib.eval.code_tokens import check_code, code_tokens
from slm_lib.eval.entities import check_entities, entities
from slm_lib.eval.facts import check_facts
from slm_lib.eval.negation import check_negation, polar_answer
from slm_lib.eval.numbers import check_numbers, quantities, same_quantity
from slm_lib.eval.relations import check_relations
from slm_lib.eval.wording import Flag, split_code, words


def messages(flags):
    return [f.message for f in flags]


# ---- numbers -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, value, dim",
    [
        ("1,000", 1000.0, ""),
        ("1000", 1000.0, "year"),
        ("one thousand", 1000.0, ""),
        ("1k", 1000.0, ""),
        ("two hundred and six", 206.0, ""),
        ("twenty-five", 25.0, ""),
        ("minus five degrees Celsius", -5.0, "temperature"),
        ("half a kilogram", 0.5, "mass"),
        ("25%", 25.0, "percent"),
        ("25 per cent", 25.0, "percent"),
        ("$30", 30.0, "usd"),
        ("42.195 km", 42.195, "length"),
        ("7B", 7e9, ""),
        ("a 4-bit model", 4.0, "bits"),
        ("int8", 8.0, "bits"),
        ("16th century", 16.0, "century"),
    ],
)
def test_quantities_read_digits_words_and_units(text, value, dim):
    (q,) = [q for q in quantities(text)]
    assert q.value == pytest.approx(value) and q.dim == dim


def test_equivalent_quantities_are_the_same():
    def q(text):
        return quantities(text)[0]

    assert same_quantity(q("1,000"), q("one thousand"))
    assert same_quantity(q("500 grams"), q("half a kilogram"))
    assert same_quantity(q("0 °C"), q("32 °F"))
    assert same_quantity(q("26.2 miles"), q("42.195 km"))
    assert same_quantity(q("3.14"), q("3.14159"))
    assert same_quantity(q("in 1503"), q("the 16th century"))
    assert not same_quantity(q("5000"), q("5050")), "5000 is not 5050 rounded"
    assert not same_quantity(q("8 hours"), q("8 minutes"))
    assert same_quantity(q("about 23 degrees"), q("23.5 degrees")), "a hedged number is approximate"


def test_summed_durations_count_as_one_quantity():
    assert 165 * 60 in [q.base for q in quantities("It takes 2 hours 45 minutes.")]


@pytest.mark.parametrize(
    "answer, reference, expected",
    [
        ("The sum is 5,000.", "The sum is 5050.", ["the answer says 5,000 where the reference says 5050"]),
        (
            "You need 400 grams.",
            "You need 500 grams.",
            ["the answer says 400 grams where the reference says 500 grams"],
        ),
        ("About 8 hours.", "About 8 minutes.", ["the answer says 8 hours where the reference says 8 minutes"]),
        ("There are 1,240 minutes in a day, a day has 24 hours.", "24 hours, so 1440 minutes.", None),
    ],
)
def test_a_different_number_is_flagged(answer, reference, expected):
    found = messages(check_numbers(answer, reference))
    assert found == expected if expected else len(found) == 1 and "1,240 minutes" in found[0]


@pytest.mark.parametrize(
    "answer, reference, question",
    [
        ("There are one thousand four hundred and forty minutes.", "It has 1440 minutes.", ""),
        ("It costs $30.", "The sale price is 30 dollars.", ""),
        ("You need half a kilogram.", "You need 500 grams.", ""),
        ("Discounted by 25% from 40 dollars gives 30 dollars.", "The sale price is 30 dollars.", "40 dollars, 25%"),
        ("The wall is a few metres wide; the Moon is 384,400 km away.", "No, it is too narrow to see.", ""),
        ("February has 29 days instead of 28.", "366 days, one more than a common year.", ""),
    ],
)
def test_right_or_extra_numbers_are_not_flagged(answer, reference, question):
    assert check_numbers(answer, reference, question) == []


# ---- names and key terms ------------------------------------------------------------------------
def test_entities_are_capitalised_runs_acronyms_and_symbols():
    found = [m.text for m in entities("Leonardo da Vinci used C++ and CO2 in Paris. The 32°F mark.")]
    assert found == ["Leonardo da Vinci", "C++ and CO2", "Paris"]


def test_a_different_name_or_key_term_is_flagged():
    question = "What is the capital of Australia?"
    assert messages(
        check_entities("Australia's capital is Sydney.", "The capital of Australia is Canberra.", question)
    ) == ["the answer names Sydney where the reference names Canberra"]
    assert messages(check_entities("They are white blood cells.", "Red blood cells carry oxygen.")) == [
        "the answer says 'white' where the reference says 'red'"
    ]


@pytest.mark.parametrize(
    "answer, reference, question",
    [
        ("Australia's capital is Canberra, not Sydney.", "The capital of Australia is Canberra.", ""),
        ("It is by the English author Austen.", "Jane Austen wrote it.", ""),
        ("Use Pythagoras: square both sides.", "By the Pythagorean theorem c = sqrt(a^2 + b^2).", ""),
        ("They take in CO2.", "Plants absorb carbon dioxide.", ""),
        ("Ten Simple Ways To Cut Energy Bills", "Save Energy At Home With These Easy Tips", ""),
        ("It is in Paris, by the Seine.", "The Eiffel Tower stands in Paris, France.", "Where is the Eiffel Tower?"),
    ],
)
def test_right_answers_naming_more_or_aliases_are_not_flagged(answer, reference, question):
    assert check_entities(answer, reference, question) == []


# ---- negation and polarity ----------------------------------------------------------------------
def test_polar_answers():
    assert polar_answer("Yes, it can.") is True and polar_answer("No.") is False
    assert polar_answer("They don't: ...") is False and polar_answer("You can: ...") is True
    assert polar_answer("It is round.") is None


@pytest.mark.parametrize(
    "answer, reference, kind",
    [
        ("Yes, all birds can fly.", "No. Not all birds can fly.", "says 'Yes' where the reference says 'No'"),
        ("1 is a prime number.", "1 is not a prime number.", "drops the reference's negation"),
        ("The wall cannot be seen from the Moon.", "The wall can be seen from the Moon.", "negates the reference"),
        ("The answer is false.", "The statement is true.", "says 'false' where the reference says 'true'"),
    ],
)
def test_a_flipped_polarity_is_flagged(answer, reference, kind):
    found = messages(check_negation(answer, reference))
    assert found and kind in found[0]


@pytest.mark.parametrize(
    "answer, reference",
    [
        ("No, some birds such as penguins cannot fly.", "No. Not all birds can fly: penguins are flightless."),
        ("1 isn't considered prime.", "No, 1 is not a prime number."),
        ("It is not safe: use eclipse glasses.", "No. Looking at the Sun without glasses can damage your eyes."),
    ],
)
def test_the_same_polarity_in_other_words_is_not_flagged(answer, reference):
    assert check_negation(answer, reference) == []


# ---- relations ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer, reference",
    [
        ("The Moon is bigger than the Earth.", "The Earth is bigger than the Moon."),
        ("The Earth is smaller than the Moon.", "The Earth is bigger than the Moon."),
        ("The teacher learns from the student.", "The student learns from the teacher."),
        ("World War I came after World War II.", "World War I came before World War II."),
        ("They absorb oxygen and release carbon dioxide.", "Plants take in carbon dioxide and give off oxygen."),
    ],
)
def test_a_reversed_relation_is_flagged(answer, reference):
    (flag,) = check_relations(answer, reference)
    assert flag.kind == "relation" and "reverses a relation" in flag.message


@pytest.mark.parametrize(
    "answer, reference",
    [
        ("The Moon is smaller than the Earth.", "The Earth is bigger than the Moon."),
        ("The student is taught by the teacher.", "The teacher teaches the student."),
        (
            "A small student network is trained to copy a big teacher.",
            "Distillation trains a student to imitate a teacher.",
        ),
        ("A hard disk is far slower than RAM.", "RAM is much faster to access than a hard disk."),
    ],
)
def test_the_same_relation_in_other_words_is_not_flagged(answer, reference):
    assert check_relations(answer, reference) == []


# ---- code ---------------------------------------------------------------------------------------
def test_code_tokens_keep_a_negative_step():
    assert ("num", "-1") in code_tokens("s[::-1]") and ("op", "-") in code_tokens("n - 1")


@pytest.mark.parametrize(
    "answer, reference, expected",
    [
        (
            "[x for x in xs if x % 2 == 1]",
            "[n for n in xs if n % 2 == 0]",
            "has '1' where the reference's code has '0'",
        ),
        ("```python\nreturn s == s[::1]\n```", "return s == s[::-1]", "has '1' where the reference's code has '-1'"),
        ("SELECT id, SUM(x) FROM t GROUP BY id;", "SELECT id, COUNT(x) FROM t GROUP BY id;", "has 'SUM'"),
        ("Use biggest = min(values)", "max(values)", "has 'min' where the reference's code has 'max'"),
        ("SELECT * FROM p ORDER BY price;", "SELECT * FROM p ORDER BY price DESC;", "leaves out 'DESC'"),
    ],
)
def test_a_changed_code_token_is_flagged(answer, reference, expected):
    found = messages(check_code(answer, reference))
    assert found and expected in found[0]


@pytest.mark.parametrize(
    "answer, reference",
    [
        ("evens = [x for x in numbers if x % 2 == 0]", "[n for n in numbers if n % 2 == 0]"),
        (
            "SELECT customer_id, COUNT(*) AS n FROM orders GROUP BY customer_id;",
            "SELECT customer_id, COUNT(order_id) AS c FROM orders GROUP BY customer_id;",
        ),
        (
            "def f(text):\n    t = text.casefold()\n    return t == t[::-1]",
            "def f(s):\n    s = s.lower()\n    return s == s[::-1]",
        ),
        (
            "def factorial(n):\n    if n <= 1:\n        return 1\n    return n * factorial(n - 1)",
            "def factorial(n):\n    r = 1\n    for i in range(2, n + 1):\n        r *= i\n    return r",
        ),
    ],
)
def test_renamed_or_rewritten_code_is_not_flagged(answer, reference):
    assert check_code(answer, reference) == []


def test_code_is_split_from_prose():
    prose, code = split_code("Use `items[::-1]` or list(reversed(items)) here.\n```\nx = 1\n```")
    assert "items" not in prose and "x = 1" in code and "list(reversed(items))" in code


# ---- all together -------------------------------------------------------------------------------
def test_check_facts_runs_every_check_without_repeats_and_never_mutates():
    answer, reference = (
        "Yes, 1 is a prime number, and the sum is 5000.",
        "No, 1 is not a prime number; the sum is 5050.",
    )
    flags = check_facts(answer, reference)
    assert {f.kind for f in flags} == {"number", "negation"}
    assert len({f.message for f in flags}) == len(flags)
    assert check_facts("", reference) == () and check_facts(answer, "  ") == ()
    assert all(isinstance(f, Flag) for f in flags)
    with pytest.raises(ValueError, match="kind must be one of"):
        Flag("vibes", "x")
    assert [w.stem for w in words("cats aren't")] == ["cat", "are", "n't"]
