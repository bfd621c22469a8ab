"""Relations: flag an answer that turns a comparison, an order or a role around.

A relation is a cue word between two things both texts mention: "the Earth is **bigger than** the
Moon", "World War I happened **before** World War II", "the student **learns from** the teacher",
"plants **take in** carbon dioxide". Each cue has a dimension and a direction (``bigger`` +,
``smaller`` −; ``before`` +, ``after`` −; ``teaches`` +, ``learns from`` −), so every mention gets a
role: "Earth" is + on size, "Moon" −. Equivalent wordings agree ("the Moon is smaller than the
Earth" gives the same roles); a passive "taught **by**" swaps them. When a thing has role + in
the reference and − in the answer on the same dimension, the answer reverses the relation.

Things are runs of content words that both texts use, so the check only compares what they share.

Example:
    >>> check_relations("The Moon is bigger than the Earth.", "The Earth is bigger than the Moon.")[0].kind
    'relation'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from slm_lib.eval.wording import STOPWORDS, Flag, Word, clauses, quote, split_code, words

__all__ = ["CUES", "Role", "check_relations", "roles"]

# dimension: (words that put the left thing on top, words that put it below)
_DIMENSIONS = {
    "size": ("bigger larger greater huger", "smaller tinier"),
    "amount": ("more", "less fewer"),
    "height": ("higher taller", "lower shorter"),
    "length": ("longer", "shorter"),
    "speed": ("faster quicker", "slower"),
    "age": ("older", "younger newer"),
    "weight": ("heavier", "lighter"),
    "heat": ("hotter warmer", "colder cooler"),
    "quality": ("better", "worse"),
    "strength": ("stronger", "weaker"),
    "cost": ("dearer pricier costlier", "cheaper"),
    "distance": ("farther further", "closer nearer"),
    "time": ("before earlier precedes preceded", "after later follows followed"),
    "position": ("above over", "below under beneath underneath"),
    "teaching": (
        "teaches teach taught trains train trained supervises guides distills",
        "learns_from learn_from learned_from learnt_from imitates imitate mimics mimic copies copy",
    ),
    "flow": (
        "absorbs absorb absorbed takes_in take_in took_in inhales inhale consumes consume receives receive "
        "imports import",
        "releases release released gives_off give_off gave_off emits emit emitted produces produce exhales exhale "
        "exports export sends send",
    ),
}
CUES: dict[str, tuple[str, int]] = {}
for _dim, (_up, _down) in _DIMENSIONS.items():
    CUES.update({w: (_dim, 1) for w in _up.split()})
    CUES.update({w: (_dim, -1) for w in _down.split()})
_OBJECT_ONLY = {"flow"}  # "take in X": only the object gets a role
_PHRASAL = re.compile(r"\b(learn(?:s|ed|t)?|takes?|took|gives?|gave)\s+(from|in|off)\b", re.I)


@dataclass(frozen=True)
class Role:
    """A thing's side of a relation: ``sign`` +1 (bigger, earlier, teacher) or -1, in its clause."""

    dimension: str
    stems: frozenset[str]
    sign: int
    clause: str


def _things(ws: Sequence[Word], shared: set[str]) -> list[tuple[int, int]]:
    """Index ranges of runs of content words that both texts use."""
    runs, start = [], None
    for i, w in enumerate([*ws, Word("", "", 0, 0)]):
        ok = w.text and w.text.lower() not in STOPWORDS and w.stem in shared and w.text.lower() not in CUES
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append((start, i))
            start = None
    return runs


def roles(text: str, shared: set[str]) -> list[Role]:
    """The roles that the relations in ``text`` give to things (stems in ``shared``)."""
    original = split_code(text)[0]
    prose = _PHRASAL.sub(lambda m: f"{m.group(1)}_{m.group(2)}", original)  # same length: offsets still hold
    out: list[Role] = []
    for offset, clause in clauses(prose):
        ws = words(clause)
        runs = _things(ws, shared)
        shown = quote(original[offset : offset + len(clause)], 70)
        for i, w in enumerate(ws):
            cue = CUES.get(w.text.lower())
            if cue is None:
                continue
            dim, sign = cue
            if _passive(ws, i):
                sign = -sign  # "is taught by the teacher", "is trained to copy"
            than = next((j for j in range(i + 1, len(ws)) if ws[j].text.lower() == "than"), i)
            later = [k for k in range(i + 1, len(ws)) if ws[k].text.lower() in CUES]
            stop = later[0] if later and than == i else len(ws)  # "absorb X and release Y": X belongs to absorb
            left = [r for r in runs if r[1] <= i]
            right = [r for r in runs if than < r[0] < stop]
            if left and dim not in _OBJECT_ONLY:
                out.append(Role(dim, _stems(ws, left[-1]), sign, shown))
            if right:
                out.append(Role(dim, _stems(ws, right[0]), -sign if dim not in _OBJECT_ONLY else sign, shown))
    return out


def _passive(ws: Sequence[Word], i: int) -> bool:
    """``is taught``/``was trained``/``learned ... by``: the subject receives the action."""
    if i + 1 < len(ws) and ws[i + 1].text.lower() == "by":
        return True
    word = ws[i].text.lower()
    before = [w.text.lower() for w in ws[max(0, i - 2) : i]]
    participle = word.endswith("ed") or word in ("taught", "learnt")
    return participle and any(b in ("is", "are", "was", "were", "be", "been", "being", "gets", "get") for b in before)


def _stems(ws: Sequence[Word], span: tuple[int, int]) -> frozenset[str]:
    return frozenset(w.stem for w in ws[span[0] : span[1]])


def check_relations(answer: str, reference: str, question: str = "") -> list[Flag]:
    """Flags where a thing both texts mention has opposite roles on one dimension."""
    shared = {w.stem for w in words(split_code(answer)[0])} & {w.stem for w in words(split_code(reference)[0])}
    ref_roles, ans_roles = roles(reference, shared), roles(answer, shared)
    for r in ref_roles:
        for a in ans_roles:
            if a.dimension != r.dimension or a.sign == r.sign:
                continue
            own = r.stems - _common(r, ref_roles)  # "student model" vs "teacher model": compare student/teacher
            if own & a.stems and not any(
                o.dimension == r.dimension and o.sign == r.sign and o.stems & own for o in ans_roles
            ):
                return [
                    Flag("relation", f"the answer reverses a relation: '{a.clause}' vs the reference's '{r.clause}'")
                ]
    return []


def _common(role: Role, all_roles: list[Role]) -> frozenset[str]:
    """Stems every thing in the same relation shares (like "model"), which tell nothing apart."""
    others = [o.stems for o in all_roles if o.dimension == role.dimension and o.stems != role.stems]
    return frozenset.intersection(role.stems, *others) if others else frozenset()
