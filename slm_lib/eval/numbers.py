"""Numbers in answers: find quantities (digits or words, with units) and flag the ones that differ.

``quantities`` reads ``1,000``, ``1000``, ``one thousand``, ``1k``, ``half a kilogram``, ``25%``,
``32°F``, ``2 hours 45 minutes`` (also summed: 165 minutes), ``14:10``, years and centuries.
Two quantities are equal when their values agree in a shared unit (``500 grams`` = ``0.5 kg``,
``0 °C`` = ``32 °F``), or when one is the other rounded to its own decimals (``3.14`` ~ ``3.14159``).

``check_numbers`` flags a reference number the answer lacks when the answer states another number
of a compatible kind in its place: "the answer says 5000 where the reference says 5050".

Example:
    >>> [q.value for q in quantities("one thousand four hundred and forty, or 1,440")]
    [1440.0, 1440.0]
    >>> check_numbers("The sum is 5000.", "The sum is 5050.")[0].message
    'the answer says 5000 where the reference says 5050'
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from slm_lib.eval.units import UNITS, unit_after
from slm_lib.eval.wording import Flag, split_code

__all__ = ["Quantity", "check_numbers", "quantities", "same_quantity"]

_SMALL = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALE = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_SPECIAL = {"half": 0.5, "quarter": 0.25, "dozen": 12, "twice": 2, "thrice": 3}
_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "T": 1e12}
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_DIGITS = re.compile(
    rf"(?<![\w.])(?P<sign>[-−](?=\d))?(?P<cur>[$€£])?(?P<num>{_NUM})(?P<suf>k|K|M|B|bn|T)?"
    rf"(?:(?P<ord>st|nd|rd|th)\b|(?![\w]))"
)
_CLOCK = re.compile(r"(?<![\w:])(\d{1,2}):(\d{2})(?:\s*([ap])\.?m\.?)?(?![\w:])", re.I)
_AMPM = re.compile(r"(?<![\w:.])(\d{1,2})\s*([ap])\.?m\.?(?!\w)", re.I)
_WORDNUM = re.compile(
    r"\b(?:minus\s+)?(?:(?:a|an)\s+)?(?:(?:" + "|".join([*_SMALL, *_SCALE, *_SPECIAL]) + r")(?:[\s-]+(?:and\s+)?)?)+",
    re.I,
)
_HEDGE = re.compile(r"(?:about|around|roughly|approximately|approx\.?|nearly|almost|some|~|circa|c\.)\s*$", re.I)
_DTYPE = re.compile(r"\b(?:u?int|float|fp|bf|q)(\d{1,2})\b", re.I)
_NOT_ONE = re.compile(r"(?:\b(?:a|an|the|this|that|each|any|no|every|which|large|small|big|only)\s+)$", re.I)


@dataclass(frozen=True)
class Quantity:
    """A number as written (``text``), its ``value``, ``dim`` (``""`` without unit) and ``base`` value."""

    text: str
    value: float
    dim: str
    base: float
    start: int
    noun: str = ""
    decimals: int = 0
    hedged: bool = False  # "about 23 degrees": an approximate number


def _word_value(phrase: str) -> float | None:
    tokens = [t for t in re.split(r"[\s-]+", phrase.lower()) if t and t not in ("and", "a", "an")]
    if not tokens:
        return None
    sign = -1.0 if tokens[0] == "minus" else 1.0
    tokens = tokens[1:] if tokens[0] == "minus" else tokens
    if len(tokens) == 1 and tokens[0] in _SPECIAL:
        return sign * _SPECIAL[tokens[0]]
    total, current = 0.0, 0.0
    for t in tokens:
        if t in _SMALL:
            current += _SMALL[t]
        elif t == "hundred":
            current = max(current, 1) * 100
        elif t in _SCALE:
            total += max(current, 1) * _SCALE[t]
            current = 0.0
        elif t in _SPECIAL and t in ("half", "quarter", "dozen"):
            current = (current or 1) * _SPECIAL[t]
        else:
            return None
    return sign * (total + current)


def quantities(text: str) -> list[Quantity]:
    """Every quantity in the prose of ``text`` (code is skipped), in order of appearance."""
    prose, _ = split_code(text)
    found: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def add(q: Quantity, end: int) -> None:
        found.append(q)
        taken.append((q.start, end))

    for m in _CLOCK.finditer(prose):
        hours = (
            int(m.group(1)) % 12 + (12 if (m.group(3) or "").lower() == "p" else 0) if m.group(3) else int(m.group(1))
        )
        add(
            Quantity(m.group(0), hours * 60 + int(m.group(2)), "clock", hours * 60 + int(m.group(2)), m.start()),
            m.end(),
        )
    for m in _AMPM.finditer(prose):
        hours = int(m.group(1)) % 12 + (12 if m.group(2).lower() == "p" else 0)
        add(Quantity(m.group(0), hours * 60, "clock", hours * 60, m.start()), m.end())
    for m in _DIGITS.finditer(prose):
        if any(a <= m.start() < b for a, b in taken):
            continue
        raw = m.group("num").replace(",", "")
        value = float(raw) * _SUFFIX.get(m.group("suf") or "", 1.0) * (-1 if m.group("sign") else 1)
        decimals = len(raw.split(".")[1]) if "." in raw else 0
        after = prose[m.end() :]
        if m.group("ord") and re.match(r"\s*centur", after, re.I):
            add(Quantity(m.group(0) + " century", value, "century", value, m.start()), m.end())
            continue
        scale = re.match(r"\s+(hundred|thousand|million|billion|trillion)\b", after, re.I)
        end = m.end()
        if scale:
            value *= _SCALE[scale.group(1).lower()]
            end += scale.end()
        add(_with_unit(prose, m.group(0) if not scale else prose[m.start() : end], value, m, end, decimals), end)
    for m in _WORDNUM.finditer(prose):
        phrase = re.sub(r"(?:[\s-]+and)?[\s-]*$", "", m.group(0)).strip()
        start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        low = phrase.lower()
        if not phrase or any(a <= start < b for a, b in taken) or low in ("a", "an"):
            continue
        if low == "one" and (_NOT_ONE.search(prose[:start]) or not re.match(r"\s+[a-z]{3,}", prose[start + 3 :])):
            continue  # "a large one", "one of": a pronoun, not a count
        value = _word_value(phrase)
        if value is None:
            continue
        end = start + len(phrase)
        article = re.match(r"\s*(?:a|an)\s+", prose[end:])
        if low.endswith(("half", "quarter")) and article:
            end += article.end()  # "half a kilogram"
        if low.endswith(("half", "quarter", "third")) and re.match(r"\s+of\b", prose[end:]):
            add(Quantity(phrase, value, "ratio", value, start), end)  # "a quarter of its diameter"
            continue
        add(_with_unit(prose, phrase, value, None, end, 0, start), end)
    for m in _DTYPE.finditer(prose):  # int8, float32, fp16: bit widths in type names
        value = float(m.group(1))
        found.append(Quantity(m.group(0), value, "bits", value, m.start()))
    found = [replace(q, hedged=bool(_HEDGE.search(prose[: q.start]))) for q in found]
    found.sort(key=lambda q: q.start)
    return found + _sums(found, prose)


def _with_unit(
    prose: str, text: str, value: float, m: re.Match[str] | None, end: int, decimals: int, start: int | None = None
) -> Quantity:
    start = m.start() if m is not None else (start or 0)
    if m is not None and m.group("cur"):
        dim, factor, offset = UNITS[m.group("cur")]
        return Quantity(text, value, dim, value, start, decimals=decimals)
    name, dim, factor, offset, unit_end = unit_after(prose, end)
    if dim:
        return Quantity(prose[start:unit_end], value, dim, value * factor + offset, start, decimals=decimals)
    if m is not None and m.group(0).isdigit() and len(m.group(0)) == 4 and 1000 <= value <= 2100:
        return Quantity(text, value, "year", value, start)
    return Quantity(text, value, "", value, start, noun=name, decimals=decimals)


def _sums(found: list[Quantity], prose: str) -> list[Quantity]:
    """``2 hours 45 minutes`` (or ``8 minutes and 20 seconds``) also counts as one quantity."""
    out = []
    for a, b in zip(found, found[1:], strict=False):
        gap = prose[a.start + len(a.text) : b.start]
        smaller = a.value and b.value and b.base / b.value < a.base / a.value  # minutes after hours
        if a.dim == b.dim == "time" and smaller and re.fullmatch(r"\s*(?:and\s*|,\s*)?", gap):
            out.append(Quantity(f"{a.text} {b.text}", a.base + b.base, "time", a.base + b.base, a.start))
    return out


def _rounds_to(x: float, y: float, decimals: int) -> bool:
    """True when ``x`` rounded to ``y``'s decimals is ``y`` (and ``y`` has decimals: 5000 is not 5050)."""
    return decimals > 0 and round(x, decimals) == round(y, decimals)


def same_quantity(a: Quantity, b: Quantity) -> bool:
    """Do ``a`` and ``b`` state the same amount? (shared unit, unit-less match, year in a century)."""
    if {a.dim, b.dim} == {"year", "century"}:
        year, century = (a, b) if a.dim == "year" else (b, a)
        return (century.value - 1) * 100 < year.value <= century.value * 100
    if a.dim == b.dim == "ratio":  # "a quarter of" the size is "four times" smaller
        return _close(a.value, b.value, a, b) or _close(a.value * b.value, 1.0, a, b)
    if a.dim and b.dim and a.dim != b.dim:
        return {a.dim, b.dim} <= {"year", ""} and a.value == b.value
    if a.dim and a.dim == b.dim:
        converted = abs(a.base - b.base) <= 0.005 * max(abs(a.base), abs(b.base))  # 26.2 miles ~ 42.195 km
        return (
            _close(a.base, b.base, a, b)
            or (converted and _unit_word(a) != _unit_word(b))
            or (_close(a.value, b.value, a, b) and _unit_word(a) == _unit_word(b))
        )
    return _close(a.value, b.value, a, b)


def _close(x: float, y: float, a: Quantity, b: Quantity) -> bool:
    """Equal, one the other rounded or cut to its own decimals, or within 5% when either is hedged."""
    if math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
        return True
    if _rounds_to(x, y, b.decimals) or _rounds_to(y, x, a.decimals):
        return True
    if (a.decimals == 0 and x == math.trunc(y)) or (b.decimals == 0 and y == math.trunc(x)):
        return bool(a.decimals or b.decimals)  # 42 for 42.195, not 5000 for 5050
    return (a.hedged or b.hedged) and abs(x - y) <= 0.05 * max(abs(x), abs(y))


def _unit_word(q: Quantity) -> str:
    return re.sub(r"[\d.,\s$€£-]", "", q.text.lower())


def _compatible(a: Quantity, r: Quantity) -> bool:
    """Could ``a`` be a (wrong) value for what ``r`` states? Same kind, and not wildly far apart."""
    if "clock" in (a.dim, r.dim) or "century" in (a.dim, r.dim) or "year" in (a.dim, r.dim):
        return {a.dim, r.dim} <= {"century", "year"} or a.dim == r.dim
    if a.noun and r.noun and a.noun != r.noun:
        return False  # "two decades" is no value for "206 bones"
    if a.dim and r.dim and a.dim != r.dim:
        return False
    if a.value == r.value:
        return True  # "8 hours" where "8 minutes"
    low, high = sorted((abs(a.base), abs(r.base)))
    return high <= 10 * low if low else high <= 10  # a misremembered number is of the same order


def check_numbers(answer: str, reference: str, question: str = "") -> list[Flag]:
    """Flags for reference numbers the answer replaces with a different number of a compatible kind.

    Numbers the question already states are not counted as the answer's own; a reference number
    the answer merely leaves out is not flagged (the highlights show it as missing).
    """
    ans, ref, asked = quantities(answer), quantities(reference), quantities(question)
    extra = [
        a for a in ans if not any(same_quantity(a, r) for r in ref) and not any(same_quantity(a, q) for q in asked)
    ]

    def missing(r: Quantity) -> bool:
        if any(same_quantity(q, r) for q in asked):
            return False
        matches = [a for a in ans if same_quantity(a, r)]
        # "24 hours" equals "1440 minutes", but an answer that also says "1,240 minutes" contests it
        contested = all(a.value != r.value for a in matches) and any(
            _unit_word(e) == _unit_word(r) and e.dim == r.dim for e in extra
        )
        return not matches or contested

    missing_refs = [r for r in ref if missing(r)]
    if not missing_refs or not extra:
        return []
    pairs = sorted(
        (r.dim != a.dim, _unit_word(r) != _unit_word(a), _distance(a, r), i, j)
        for i, r in enumerate(missing_refs)
        for j, a in enumerate(extra)
        if _compatible(a, r)
    )
    flags: list[tuple[int, Flag]] = []
    used_r: set[int] = set()
    used_a: set[int] = set()
    for *_, i, j in pairs:  # closest pairs first: a misremembered 1,240 replaces 1,440, not 60
        if i in used_r or j in used_a:
            continue
        used_r.add(i)
        used_a.add(j)
        message = f"the answer says {_show(extra[j])} where the reference says {_show(missing_refs[i])}"
        flags.append((extra[j].start, Flag("number", message)))
    return [f for _, f in sorted(flags, key=lambda p: p[0])]


def _distance(a: Quantity, r: Quantity) -> float:
    """How far apart two numbers are in magnitude (a misremembered 5000 sits near 5050)."""
    x, y = abs(a.base) + 1e-9, abs(r.base) + 1e-9
    return abs(math.log(x / y))


def _show(q: Quantity) -> str:
    return " ".join(q.text.split()).rstrip(".")
