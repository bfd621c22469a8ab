"""The glossary: plain-words definitions of every term the app uses, loaded from ``assets/glossary.json``.

Each :class:`Term` has a one-sentence definition (``short``, used as hover help), a longer ``note`` (the
Glossary page) and, where useful, a source URL. :func:`terms_in` finds the glossary terms mentioned in a
label or table header, so widgets and columns can carry help without repeating definitions.

Example:
    >>> help_for("PPL").startswith("**Perplexity**")
    True
    >>> [t.id for t in terms_in("ΔPPL vs tokens/s")]
    ['delta-ppl', 'tokens-per-second']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from slm_lib.settings import ASSETS_DIR

__all__ = [
    "ASSET",
    "Glossary",
    "GlossaryError",
    "Term",
    "get_term",
    "help_for",
    "load_glossary",
    "search",
    "terms_in",
]

ASSET = ASSETS_DIR / "glossary.json"
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class GlossaryError(ValueError):
    """The glossary file is malformed; the message names the entry and field."""


@dataclass(frozen=True)
class Term:
    """One glossary entry. ``id`` is the URL-safe name used in links (``?term=kv-cache``)."""

    id: str
    name: str
    short: str  # one plain sentence: the hover help
    note: str  # a few sentences more: the Glossary page
    aliases: tuple[str, ...] = ()  # other spellings that appear in labels ("KV-cache", "tokens/s")
    source: str | None = None  # an http(s) URL
    see_also: tuple[str, ...] = ()  # ids of related terms

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise GlossaryError(f"term id {self.id!r} must be lowercase words joined by '-'")
        for name in ("name", "short", "note"):
            if not getattr(self, name).strip():
                raise GlossaryError(f"term {self.id!r}: field {name!r} must not be empty")
        if not self.short.rstrip().endswith((".", "!", "?")):
            raise GlossaryError(f"term {self.id!r}: 'short' must be one whole sentence ending in a full stop")
        if self.source is not None and not self.source.startswith(("https://", "http://")):
            raise GlossaryError(f"term {self.id!r}: 'source' must be an http(s) URL, got {self.source!r}")

    @property
    def spellings(self) -> tuple[str, ...]:
        """Every way the term is written: its name (and the part before a bracket) and its aliases."""
        base = self.name.split(" (")[0]
        return tuple(dict.fromkeys((self.name, base, *self.aliases)))


@dataclass(frozen=True)
class Glossary:
    """All terms in file order, with a lookup by id and by any spelling."""

    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        ids = [t.id for t in self.terms]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise GlossaryError(f"duplicate term id(s): {dupes}")
        owner: dict[str, str] = {}
        for t in self.terms:
            for spelling in t.spellings:
                other = owner.setdefault(spelling.casefold(), t.id)
                if other != t.id:
                    raise GlossaryError(f"term {t.id!r}: spelling {spelling!r} is already used by {other!r}")
            missing = [s for s in t.see_also if s not in ids]
            if missing:
                raise GlossaryError(f"term {t.id!r}: see_also names unknown term(s) {missing}")


def _term(raw: Any, index: int) -> Term:  # noqa: ANN401 - raw JSON
    if not isinstance(raw, dict):
        raise GlossaryError(f"term #{index} must be an object, got {type(raw).__name__}")
    where = f"term #{index} ({raw.get('id', '?')})"
    for name in ("id", "name", "short", "note"):
        if not isinstance(raw.get(name), str):
            raise GlossaryError(f"{where}: field {name!r} must be a string")
    for name in ("aliases", "see_also"):
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise GlossaryError(f"{where}: field {name!r} must be a list of non-empty strings")
    source = raw.get("source")
    if source is not None and not isinstance(source, str):
        raise GlossaryError(f"{where}: field 'source' must be a URL string")
    return Term(
        id=raw["id"],
        name=raw["name"],
        short=raw["short"],
        note=raw["note"],
        aliases=tuple(raw.get("aliases", [])),
        source=source,
        see_also=tuple(raw.get("see_also", [])),
    )


@lru_cache(maxsize=4)
def load_glossary(path: Path = ASSET) -> Glossary:
    """Read and validate the glossary once per path.

    Raises:
        GlossaryError: naming the malformed entry and field.
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    terms = raw.get("terms") if isinstance(raw, dict) else None
    if not isinstance(terms, list) or not terms:
        raise GlossaryError("the file needs a non-empty 'terms' list")
    return Glossary(tuple(_term(t, i) for i, t in enumerate(terms)))


@lru_cache(maxsize=4)
def _index(glossary: Glossary) -> dict[str, Term]:
    """id, name and every alias (case-folded) -> term; an id always wins over another term's alias."""
    index: dict[str, Term] = {}
    for t in glossary.terms:
        for spelling in t.spellings:
            index.setdefault(spelling.casefold(), t)
    index.update({t.id: t for t in glossary.terms})
    return index


def get_term(name: str, glossary: Glossary | None = None) -> Term:
    """The term with this id, name or alias (case-insensitive).

    Raises:
        KeyError: no such term (a typo in a page's label is caught by the tests, not shown to users).
    """
    index = _index(glossary or load_glossary())
    found = index.get(name.casefold()) or index.get(name.strip().casefold())
    if found is None:
        raise KeyError(f"{name!r} is not in the glossary")
    return found


def help_for(*names: str, glossary: Glossary | None = None) -> str:
    """Hover-help Markdown for one or more terms: ``**Name**: one sentence.`` per term, blank-line separated.

    Example:
        >>> print(help_for("KV cache"))  # doctest: +ELLIPSIS
        **KV cache**: Memory that keeps ... does not recompute them.
    """
    terms = dict.fromkeys(get_term(n, glossary) for n in names)
    return "\n\n".join(f"**{t.name}**: {t.short}" for t in terms)


def _exact(spelling: str) -> bool:
    """True for spellings whose case carries meaning: a capital after the first letter, or one letter."""
    return len(spelling) == 1 or any(c.isupper() for c in spelling[1:])


@lru_cache(maxsize=4)
def _pattern(glossary: Glossary) -> re.Pattern[str]:
    """One alternation over every spelling, longest first, so 'ΔPPL' wins over 'PPL' and '2:4' over '2'.

    Acronyms and single letters (GQA, q4_K_M, T) must match exactly; other words match in any case.
    """
    spellings = sorted({s for t in glossary.terms for s in t.spellings}, key=len, reverse=True)
    parts = []
    for s in spellings:
        body = re.escape(s)
        parts.append(body if _exact(s) else f"(?i:{body})")
    return re.compile(rf"(?<![\w/:.-])(?:{'|'.join(parts)})(?![\w/:-])")


def terms_in(label: str, glossary: Glossary | None = None) -> tuple[Term, ...]:
    """The glossary terms mentioned in ``label``, in order of first mention, each once.

    Single capital letters (the alias ``T`` of temperature) count only when they are the whole label,
    so a stray capital in a sentence is not read as a term.
    """
    glossary = glossary or load_glossary()
    index = _index(glossary)
    found: dict[str, Term] = {}
    for match in _pattern(glossary).finditer(label):
        text = match.group(0)
        if len(text) == 1 and text != label.strip():
            continue
        term = index[text.casefold()]
        found.setdefault(term.id, term)
    return tuple(found.values())


def search(query: str, glossary: Glossary | None = None) -> tuple[Term, ...]:
    """Terms whose name or alias contains ``query`` first, then those whose text mentions it (case-insensitive).

    An empty query returns every term, sorted by name.
    """
    glossary = glossary or load_glossary()
    q = query.strip().casefold()
    by_name = sorted(glossary.terms, key=lambda t: t.name.casefold())
    if not q:
        return tuple(by_name)
    named = [t for t in by_name if any(q in s.casefold() for s in t.spellings)]
    described = [t for t in by_name if t not in named and q in f"{t.short} {t.note}".casefold()]
    return tuple(named + described)
