"""Words, clauses and code regions of an answer: the shared ground of the fact checks.

Every check works on ``Word`` tokens (text, lower-case stem, character span) of the prose parts of
a text; code (fenced blocks, inline backticks, lines that read like code) is split off first and
checked on its own. A check reports ``Flag``\\ s: hints worded as plain sentences, never verdicts.

Example:
    >>> [w.stem for w in words("The cats aren't sleeping.")]
    ['the', 'cat', 'are', "n't", 'sleep']
    >>> prose, code = split_code("Use `items[::-1]` here.")
    >>> prose.split(), code
    (['Use', 'here.'], 'items[::-1]')
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

__all__ = [
    "FLAG_KINDS",
    "STOPWORDS",
    "Flag",
    "Word",
    "clauses",
    "content",
    "quote",
    "split_code",
    "stem",
    "words",
]

FLAG_KINDS = ("number", "entity", "negation", "relation", "code")


@dataclass(frozen=True)
class Flag:
    """A hint that the answer may contradict the reference: ``kind`` is one of ``FLAG_KINDS``."""

    kind: str
    message: str

    def __post_init__(self) -> None:
        if self.kind not in FLAG_KINDS:
            raise ValueError(f"kind must be one of {FLAG_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class Word:
    """One word of a text: as written, its lower-case stem, and its ``(start, end)`` characters."""

    text: str
    stem: str
    start: int
    end: int


# Function words and common sentence openers: never entities, key terms or relation anchors.
STOPWORDS = frozenset(
    """a an the this that these those it its it's they them their there here he she him her his hers we us our
    you your i me my mine and or but so yet if then than as of in on at by for from to into onto with about over
    under up down out off be is are was were been being am do does did done have has had having can could will
    would shall should may might must also just only very much many more most less least some any all each every
    both either such same other another what which who whom whose when where why how not no nor never yes
    well still even too again already about around roughly approximately nearly almost exactly mostly mainly
    usually often always sometimes one ones because since while although though however therefore thus hence
    instead rather quite really simply generally typically perhaps maybe like unlike via per etc e.g i.e
    answer question reference example first second third last next sure certainly indeed overall yes no okay ok
    let let's here's that's there's what's it's i'm you're we're they're isn't aren't don't doesn't didn't can't
    cannot won't wouldn't shouldn't couldn't""".split()
)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž][\w'’+#-]*[\w+#]|[A-Za-zÀ-ÖØ-öø-ÿĀ-ž]|n't", re.UNICODE)
_FENCE = re.compile(r"```[^\n]*\n?.*?(?:```|\Z)|`[^`\n]+`", re.S)
_CODE_LINE = re.compile(
    r"^\s*(?:def |class |return\b|import |from \w+ import|for .+ in .+:|if .+:|elif |else:|while .+:|with .+:|"
    r"print\(|SELECT\b|INSERT\b|UPDATE\b|DELETE\b|CREATE\b|FROM\b|WHERE\b|GROUP BY\b|ORDER BY\b|JOIN\b|"
    r"[\w.\[\]]+\s*[-+*/%]?=\s*\S|\[.+ for .+ in .+\]|[\w.]+\(.*\)\s*;?\s*$|#include|function |const |let |var )",
    re.I,
)
_INLINE = re.compile(
    r"(?:[A-Za-z_][\w.]*\s*=\s*)?[A-Za-z_][\w.]*\((?:[^()\n]|\([^()\n]*\))*\)(?:\[[^\]\n]*\])?"
    r"|[A-Za-z_][\w.]*\[[^\]\n]*\]|\b[A-Za-z_]\w*\s*(?:==|!=|<=|>=|%|//|\*\*)\s*[\w.]+(?:\s*(?:==|!=)\s*\w+)?"
)
_CLAUSE = re.compile(r"(?<=[.!?;:])\s+|,\s+(?=(?:but|so|whereas|while|although|though|yet)\b)|\n+")


@functools.lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """A light stem for matching words across texts: lower case, no possessive, common endings cut."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("n't") and len(w) > 3:
        return w[:-3] if w not in ("can't", "won't") else {"can't": "can", "won't": "will"}[w]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 5 and w.endswith("ing"):
        return w[:-3]
    if len(w) > 4 and w.endswith("ed") and not w.endswith("eed"):
        return w[:-2] if not w.endswith("ied") else w[:-3] + "y"
    if len(w) > 3 and w.endswith("es") and w[-3] in "sxz":
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


@functools.lru_cache(maxsize=4096)
def words(text: str) -> tuple[Word, ...]:
    """The words of ``text`` with stems and spans; ``n't`` is split off as its own word (cached)."""
    out: list[Word] = []
    for m in _WORD.finditer(text):
        token, start = m.group(0), m.start()
        low = token.lower().replace("’", "'")
        if low.endswith("n't") and len(low) > 3:
            base = {"can't": "can", "won't": "will", "cannot": "can"}.get(low, token[:-3])
            out.append(Word(base, stem(base), start, start + len(token) - 3))
            out.append(Word("n't", "n't", start + len(token) - 3, start + len(token)))
            continue
        if low == "cannot":
            out.append(Word(token[:3], "can", start, start + 3))
            out.append(Word("not", "not", start + 3, start + 6))
            continue
        out.append(Word(token, stem(token), start, start + len(token)))
    return tuple(out)


def content(ws: tuple[Word, ...] | list[Word]) -> list[Word]:
    """The words that carry content: no stopwords, no single letters except capitals."""
    return [w for w in ws if w.text.lower() not in STOPWORDS and (len(w.text) > 1 or w.text.isupper())]


@functools.lru_cache(maxsize=4096)
def split_code(text: str) -> tuple[str, str]:
    """``(prose, code)``: code regions replaced by spaces in the prose (spans keep their places; cached)."""
    prose = list(text)
    code: list[str] = []
    for m in _FENCE.finditer(text):
        body = m.group(0).strip("`")
        code.append(body.split("\n", 1)[1] if m.group(0).startswith("```") and "\n" in body else body)
        prose[m.start() : m.end()] = " " * (m.end() - m.start())
    joined = "".join(prose)
    pos = 0
    for line in joined.split("\n"):
        if line.strip() and _CODE_LINE.match(line) and _looks_like_code(line):
            code.append(line)
            prose[pos : pos + len(line)] = " " * len(line)
        pos += len(line) + 1
    for m in _INLINE.finditer("".join(prose)):  # items[::-1], max(values), n % 2 == 0 inside a sentence
        code.append(m.group(0))
        prose[m.start() : m.end()] = " " * (m.end() - m.start())
    return "".join(prose), "\n".join(code)


def _looks_like_code(line: str) -> bool:
    """A prose sentence may start with "For" or "If": code has symbols or keywords in capitals (SQL)."""
    return bool(re.search(r"[=()\[\]{};:%]|\bSELECT\b|\bFROM\b", line)) and not re.match(
        r"^\s*(?:If|For|While|With|From|Return|Let|Print)\s+[a-z]+\s+[a-z]+\s+[a-z]+ ", line
    )


def clauses(text: str) -> list[tuple[int, str]]:
    """Sentences and clauses as ``(offset, text)``; splits at sentence ends, ``;``, ``:`` and ``, but``."""
    out, pos = [], 0
    for m in _CLAUSE.finditer(text):
        if text[pos : m.start()].strip():
            out.append((pos, text[pos : m.start()]))
        pos = m.end()
    if text[pos:].strip():
        out.append((pos, text[pos:]))
    return out


def quote(text: str, limit: int = 60) -> str:
    """A short quotation of outside text for a flag (one line, at most ``limit`` characters)."""
    flat = " ".join(text.split()).rstrip(",;:.")
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
