"""Export a run's answers: every answer with its stats and scores as CSV or JSON.

Everything in a run came from outside the code (model names from a server, uploaded questions): every
CSV cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage return is prefixed with ``'``
(OWASP's rule against formula injection). The notebook that reproduces a run is :mod:`slm_lib.eval.notebook`.

Example:
    Path("run.csv").write_bytes(results_csv(store.results(run_id)))
"""

from __future__ import annotations

import csv
import io
import json

from slm_lib.eval.store import STAT_FIELDS, ResultRow, RunRecord

__all__ = ["COLUMNS", "results_csv", "results_json"]

COLUMNS = (
    "run_id",
    "model",
    "category",
    "question_idx",
    "question",
    "reference",
    "repeat",
    "temperature",
    "answer",
    "complete",
    "error",
    "score",
    "overall",
    "flags",
    *STAT_FIELDS,
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: a cell starting so is a formula


def _record(row: ResultRow) -> dict:
    stats = row.stats
    return {
        "run_id": row.run_id,
        "model": row.model,
        "category": row.category,
        "question_idx": row.question_idx,
        "question": row.question,
        "reference": row.reference,
        "repeat": row.repeat,
        "temperature": row.temperature,
        "answer": row.answer,
        "complete": row.complete,
        "error": row.error,
        "score": row.score,
        "overall": row.overall,
        "flags": None if row.flags is None else list(row.flags),
        # A value the server sent unusable is unknown: an empty cell / null, never a made-up 0.
        **{name: getattr(stats, name) if stats.known(name) else None for name in STAT_FIELDS},
    }


def _cell_safe(value: object) -> object:
    """Outside text is untrusted: a text cell starting like a formula gets a leading ' (numbers stay numbers).

    Example:
        >>> _cell_safe("-1+HYPERLINK(1)"), _cell_safe(-1.5), _cell_safe("fine")
        ("'-1+HYPERLINK(1)", -1.5, 'fine')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def results_csv(rows: list[ResultRow]) -> bytes:
    """Every answer with its stats, similarity score, overall score and flags as UTF-8 CSV (with a BOM so
    spreadsheets detect UTF-8); several flags share one cell, separated by `` | ``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for row in rows:
        record = _record(row)
        if record["flags"] is not None:
            record["flags"] = " | ".join(record["flags"])  # one cell; JSON keeps the list
        writer.writerow({k: _cell_safe(v) for k, v in record.items()})
    return buffer.getvalue().encode("utf-8-sig")


def results_json(record: RunRecord, rows: list[ResultRow]) -> bytes:
    """The run's settings and every answer with its stats and score, as UTF-8 JSON."""
    payload = {
        "run": {
            "id": record.id,
            "created": record.created,
            "status": record.status,
            "settings": record.config.to_dict(),
        },
        "results": [_record(row) for row in rows],
    }
    return json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")
