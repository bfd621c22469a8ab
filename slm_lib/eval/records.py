"""What the run database holds, as Python values: answers (``ResultRow``), runs (``RunRecord``), owners.

Example:
    >>> is_owner_token(new_owner()), is_owner_token("../etc")
    (True, False)
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from slm_lib.chat import ChatStats
from slm_lib.eval.config import RunConfig
from slm_lib.eval.questions import QuestionItem

__all__ = [
    "LOCAL_OWNER",
    "STAT_FIELDS",
    "ResultRow",
    "RunRecord",
    "is_owner_token",
    "new_owner",
    "read_flags",
    "result_row",
]

LOCAL_OWNER = ""  # the one user of a local app: owns every run made without a token
# The numeric stats columns, in ChatStats order (``source`` is a label, not stored).
STAT_FIELDS = tuple(f.name for f in fields(ChatStats) if f.type in ("int", "float"))
_OWNER_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


def read_flags(raw: str | None) -> tuple[str, ...] | None:
    """Flags as stored (a JSON list); a damaged value reads as not assessed rather than failing."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def new_owner() -> str:
    """An unguessable owner token (192 random bits, URL-safe), e.g. for a visitor's private link."""
    return secrets.token_urlsafe(24)


def is_owner_token(value: object) -> bool:
    """True when ``value`` has the shape of a ``new_owner()`` token (checked before any query uses it)."""
    return isinstance(value, str) and _OWNER_TOKEN.fullmatch(value) is not None


@dataclass(frozen=True)
class ResultRow:
    """One answer of a run with its stats and (once scored) its similarity to the reference."""

    run_id: int
    model: str
    question_idx: int
    repeat: int
    temperature: float
    answer: str
    complete: bool
    error: str | None
    stats: ChatStats
    score: float | None = None
    id: int | None = None
    question: str = ""  # filled in from the run's settings by ``RunStore.results``
    reference: str = ""
    category: str = ""
    overall: float | None = None  # the assessment (``slm_lib.eval.assess``); None: not assessed yet
    flags: tuple[str, ...] | None = None
    alternatives: tuple[str, ...] = ()

    @property
    def references(self) -> tuple[str, ...]:
        """The reference and its alternatives (any-of)."""
        return (self.reference, *self.alternatives)


@dataclass(frozen=True)
class RunRecord:
    """A run as listed in History."""

    id: int
    created: str
    updated: str
    status: str
    config: RunConfig
    owner: str = LOCAL_OWNER


def result_row(r: Mapping[str, Any], item: QuestionItem) -> ResultRow:
    """One stored ``results`` row as a ``ResultRow``, with its question's text, reference and category."""
    return ResultRow(
        run_id=r["run_id"],
        model=r["model"],
        question_idx=r["question_idx"],
        repeat=r["repeat"],
        temperature=r["temperature"],
        answer=r["answer"],
        complete=bool(r["complete"]),
        error=r["error"],
        stats=ChatStats(
            **{name: r[name] for name in STAT_FIELDS},  # ChatStats marks impossible values unknown
            unknown=tuple(n for n in (r["unknown_stats"] or "").split(",") if n),
        ),
        score=r["score"],
        id=r["id"],
        question=item.question,
        reference=item.reference,
        category=item.category,
        overall=r["overall"],
        flags=read_flags(r["flags"]),
        alternatives=item.alternatives,
    )
