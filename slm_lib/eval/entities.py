"""Names and key terms: flag an answer that names something else where the reference names X.

Entities are capitalised words and runs of them ("Jane Austen", "Leonardo da Vinci"), acronyms
and symbols ("CO2", "C++"), found in the prose of each text. Key terms are words of small closed
classes where swapping one for another changes the fact: colours, chemical substances, seasons,
directions, weekdays, months, sentiment labels, states of matter, kinds of microbe.

A reference entity (or key term) that the question does not already state and the answer does not
mention, together with an answer entity (or a key term of the same class) that neither the
reference nor the question mentions, makes a flag: "names Sydney where the reference names Canberra".

Example:
    >>> check_entities("The capital is Sydney.", "The capital is Canberra.")[0].message
    'the answer names Sydney where the reference names Canberra'
    >>> check_entities("White blood cells carry it.", "Red blood cells carry it.")[0].message
    "the answer says 'white' where the reference says 'red'"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from slm_lib.eval.units import UNIT_WORDS
from slm_lib.eval.wording import STOPWORDS, Flag, Word, clauses, split_code, stem, words

__all__ = ["KEY_TERMS", "Mention", "check_entities", "entities"]

KEY_TERMS: dict[str, frozenset[str]] = {
    name: frozenset(members.split())
    for name, members in {
        "colour": "red orange yellow green blue purple violet pink brown black white grey gray",
        "substance": "oxygen nitrogen hydrogen helium carbon_dioxide carbon_monoxide methane ozone argon neon "
        "iron copper zinc silver gold lead mercury tin aluminium aluminum sodium potassium calcium chlorine "
        "fluorine sulfur sulphur uranium",
        "season": "spring summer autumn winter",
        "direction": "north south east west left right clockwise anticlockwise counterclockwise",
        "weekday": "monday tuesday wednesday thursday friday saturday sunday",
        "month": "january february march april june july august september october november december",
        "sentiment": "positive negative neutral",
        "state": "solid liquid gas gaseous plasma",
        "microbe": "bacteria virus viruses fungi parasite parasites",
        "acidity": "acid acidic alkaline basic",
        "particle": "proton protons neutron neutrons electron electrons",
    }.items()
}
_CLASS_OF = {term: name for name, members in KEY_TERMS.items() for term in members}
_ALIASES = {
    "co2": "carbon dioxide",
    "o2": "oxygen",
    "h2o": "water",
    "co": "carbon monoxide",
    "ch4": "methane",
    "nacl": "salt",
    "us": "united states",
    "usa": "united states",
    "uk": "united kingdom",
    "eu": "european union",
    "un": "united nations",
}
_CONNECT = {"of", "de", "da", "di", "del", "van", "von", "der", "la", "le", "du", "and", "&"}
_GENERIC = {"ocean", "sea", "river", "lake", "city", "mount", "island", "university", "street", "planet", "war"}
_OPENERS = re.compile(r"(?:^|[.!?:;]\s+|\n\s*(?:[-*•]|\d+[.)])?\s*|[(\"'“]\s*)$")


@dataclass(frozen=True)
class Mention:
    """A named thing in a text: as written, and the stems that identify it."""

    text: str
    stems: frozenset[str]
    start: int


def _is_name(word: Word) -> bool:
    t = word.text
    if t in ("I", "A") or not t[0].isupper():
        return False
    return len(t) == 1 or t[1:].islower() or t.isupper() or any(c.isdigit() or c in "+#" for c in t) or "-" in t


def entities(text: str, lowercase: frozenset[str] = frozenset()) -> list[Mention]:
    """Capitalised names in the prose of ``text``.

    A capitalised word that opens a sentence counts only when it is not a common word: not a
    stopword and not found in lower case in ``lowercase`` (the stems written in lower case
    anywhere in the texts being compared).
    """
    prose, _ = split_code(text)
    ws = words(prose)
    out: list[Mention] = []
    run: list[Word] = []

    def close() -> None:
        while run and run[-1].text.lower() in _CONNECT:
            run.pop()
        if run:
            name = prose[run[0].start : run[-1].end]
            keep = frozenset(w.stem for w in run if w.text.lower() not in _CONNECT)
            out.append(Mention(name, keep, run[0].start))
        run.clear()

    titles = [(o, o + len(c)) for o, c in clauses(prose) if _title_case(c)]
    for w in ws:
        opener = bool(_OPENERS.search(prose[: w.start]))
        common = w.text.lower() in STOPWORDS or (w.stem in lowercase and not w.text.isupper())
        after_number = bool(re.search(r"[\d°º]\s?$", prose[: w.start]))  # 32°F, 5 K: units, not names
        skip = (
            after_number
            or w.text.lower() in UNIT_WORDS
            or w.text.lower() in _CLASS_OF
            or any(a <= w.start < b for a, b in titles)
        )
        if _is_name(w) and not skip and not (opener and common) and w.text.lower() not in STOPWORDS:
            if run and prose[run[-1].end : w.start].strip() not in ("", "-"):
                close()
            run.append(w)
        elif run and w.text.lower() in _CONNECT and not prose[run[-1].end : w.start].strip():
            run.append(w)
        else:
            close()
    close()
    return out


def _title_case(clause: str) -> bool:
    """A headline ("Ten Simple Ways to Save Energy"): most of its words are capitalised."""
    ws = [w for w in words(clause) if w.text.lower() not in STOPWORDS]
    return len(ws) >= 3 and all(w.text[:1].isupper() for w in ws)


def _same(a: str, b: str) -> bool:
    """Stems of one name: equal, or sharing a long prefix (Pythagoras / Pythagorean)."""
    return a == b or (min(len(a), len(b)) >= 6 and a[:6] == b[:6])


def _mentions(stems: set[str] | frozenset[str], pool: set[str]) -> bool:
    return any(_same(s, p) for s in stems for p in pool)


def _with_aliases(stems: frozenset[str]) -> set[str]:
    """A name's stems plus what its abbreviation stands for (CO2: carbon, dioxide)."""
    return set(stems) | {stem(p) for s in stems if s in _ALIASES for p in _ALIASES[s].split()}


def _lower_stems(*texts: str) -> frozenset[str]:
    return frozenset(w.stem for t in texts for w in words(split_code(t)[0]) if w.text.islower())


def _stems(text: str) -> set[str]:
    found = {w.stem for w in words(split_code(text)[0])}
    for alias, full in _ALIASES.items():
        if alias in found or alias.upper() in text:
            found |= {stem(p) for p in full.split()}
    return found


def _key_terms(text: str) -> dict[str, tuple[str, str]]:
    """``{stem: (class, as written)}`` for the key terms in the prose of ``text``."""
    prose = split_code(text)[0]
    low = re.sub(r"\bcarbon\s+(dioxide|monoxide)\b", r"carbon_\1", prose.lower())
    low = re.sub(r"\bco2\b", "carbon_dioxide", low)
    found: dict[str, tuple[str, str]] = {}
    for token in re.findall(r"[a-z_]+", low):
        if token in _CLASS_OF and stem(token) not in found:
            found[stem(token)] = (_CLASS_OF[token], token.replace("_", " "))
    return found


def check_entities(answer: str, reference: str, question: str = "") -> list[Flag]:
    """Flags where the answer names a different entity or key term than the reference."""
    lowercase = _lower_stems(answer, reference, question)
    ans_stems, ref_stems, q_stems = _stems(answer), _stems(reference), _stems(question)
    ref_names = [m for m in entities(reference, lowercase) if not _mentions(m.stems, q_stems)]
    known = ref_stems | q_stems
    extra = [m for m in entities(answer, lowercase) if not _mentions(_with_aliases(m.stems), known)]
    flags = []
    if ref_names and extra:
        key = ref_names[0]  # the first name the reference gives (the question's own names left out) is its answer
        telling = {s for s in key.stems if s not in q_stems and s not in _GENERIC} or set(key.stems)
        if not _mentions(telling, ans_stems):
            size = len(key.stems)
            other = min(extra, key=lambda m: (abs(len(m.stems) - size), m.start))  # the answer's first name
            flags.append(Flag("entity", f"the answer names {other.text} where the reference names {key.text}"))
    ans_terms, ref_terms, q_terms = _key_terms(answer), _key_terms(reference), _key_terms(question)
    for term, (cls, shown) in ref_terms.items():
        if term in ans_terms or term in q_terms:
            continue
        swaps = [t for t, (c, _) in ans_terms.items() if c == cls and t not in ref_terms and t not in q_terms]
        if swaps:
            said = ans_terms[swaps[0]][1]
            flags.append(Flag("entity", f"the answer says '{said}' where the reference says '{shown}'"))
    return flags
