"""Question sets for evaluation runs: the built-in set and user uploads (CSV or JSON).

A question set is a list of ``QuestionItem(question, reference, category, alternatives)``: an
answer may match the reference or any alternative (any-of), which is fair where one exact wording
is not (translations, creative writing, recommendations). Uploaded
files are validated before anything runs: size, encoding, format, required columns and
every row; a bad file raises ``QuestionSetError`` whose message names the row and the fix.
Parsing is bounded: JSON nested deeper than ``MAX_JSON_DEPTH`` is refused before it is parsed,
numbers longer than ``MAX_NUMBER_CHARS`` are refused as they are read, and text that cannot be
encoded (a lone surrogate such as ``"\\ud800"``) is refused with the row that holds it.

Example:
    items = load_question_set("builtin")
    len(items) >= 40, items[0].category           # (True, 'Reasoning & math')
    parse_question_file(b"question,reference\\nHi?,Hello.\\n", "mine.csv")[0].reference  # 'Hello.'
    parse_question_file(b"question,reference,reference_2\\nHi?,Hello.,Hi.\\n", "x.csv")[0].references  # both
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slm_lib.settings import ASSETS_DIR

__all__ = [
    "BUILTIN",
    "DEFAULT_CATEGORY",
    "MAX_FILE_BYTES",
    "MAX_ALTERNATIVES",
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "MAX_QUESTIONS",
    "MAX_TEXT_CHARS",
    "QuestionItem",
    "QuestionSetError",
    "categories",
    "filter_categories",
    "load_question_set",
    "parse_question_file",
]

BUILTIN = ASSETS_DIR / "questions.json"
DEFAULT_CATEGORY = "General"
MAX_FILE_BYTES = 512 * 1024  # an upload larger than this is refused before parsing
MAX_QUESTIONS = 500
MAX_TEXT_CHARS = 4_000  # per question or reference; the backends cap prompts again
MAX_ALTERNATIVES = 8  # extra references per question
MAX_JSON_DEPTH = 32  # a question file needs 3 levels ({"questions": [{...}]})
MAX_NUMBER_CHARS = 40  # a number in a question file is a mistake anyway; a 5,000-digit one costs time
_ALIASES = {"question": ("question", "prompt", "input"), "reference": ("reference", "answer", "expected")}


class QuestionSetError(ValueError):
    """A question file is unusable; the message names the row (if any), the problem and the fix."""

    def __init__(self, message: str, row: int | None = None) -> None:
        super().__init__(message if row is None else f"Row {row}: {message}")
        self.row = row


@dataclass(frozen=True)
class QuestionItem:
    """One question with the reference answer that answers are scored against, and optional
    alternative references (an answer matching any of them counts)."""

    question: str
    reference: str
    category: str = DEFAULT_CATEGORY
    alternatives: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("question", "reference", "category"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be a non-empty string, got {value!r}")
        if isinstance(self.alternatives, str) or not all(isinstance(a, str) and a.strip() for a in self.alternatives):
            raise ValueError(f"alternatives must be non-empty strings, got {self.alternatives!r}")
        object.__setattr__(self, "alternatives", tuple(self.alternatives))  # JSON gives lists

    @property
    def references(self) -> tuple[str, ...]:
        """The reference first, then the alternatives."""
        return (self.reference, *self.alternatives)


def load_question_set(name: str = "builtin") -> list[QuestionItem]:
    """Load a bundled question set by name (only ``"builtin"`` ships).

    Example:
        {q.category for q in load_question_set()}   # nine categories
    """
    if name != "builtin":
        raise ValueError(f"unknown question set {name!r}; the bundled set is 'builtin'")
    return parse_question_file(BUILTIN.read_bytes(), BUILTIN.name, max_bytes=None)


def parse_question_file(data: bytes, filename: str, max_bytes: int | None = MAX_FILE_BYTES) -> list[QuestionItem]:
    """Validate and parse an uploaded CSV or JSON question file.

    CSV needs a header with ``question`` and ``reference`` columns (``category`` optional); more
    references go in ``reference_2``, ``reference_3``... columns (empty cells are skipped). JSON is a
    list of objects with the same keys, or ``{"questions": [...]}``; there ``reference`` may be a list
    of strings (the first is the reference, the rest alternatives), or extra ones go in ``alternatives``.

    Raises:
        QuestionSetError: naming the row and the problem (too big, not UTF-8, missing column, empty cell…).
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".json"):
        raise QuestionSetError(f"'{filename}' is not a .csv or .json file. Fix: upload a CSV or JSON question file.")
    if max_bytes is not None and len(data) > max_bytes:
        raise QuestionSetError(
            f"the file is {len(data):,} bytes; the limit is {max_bytes:,}. Fix: split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")  # utf-8-sig also accepts Excel's byte-order mark
    except UnicodeDecodeError as exc:
        raise QuestionSetError(
            f"the file is not UTF-8 text (bad byte at offset {exc.start}). Fix: save it as UTF-8."
        ) from exc
    if "\x00" in text:
        raise QuestionSetError("the file contains NUL bytes (is it binary?). Fix: save it as plain UTF-8 text.")
    if not text.strip():
        raise QuestionSetError("the file is empty. Fix: add a header and at least one question.")
    rows = _csv_rows(text) if suffix == ".csv" else _json_rows(text)
    if not rows:
        raise QuestionSetError("the file has no questions. Fix: add at least one row.")
    if len(rows) > MAX_QUESTIONS:
        raise QuestionSetError(f"the file has {len(rows)} questions; the limit is {MAX_QUESTIONS}.")
    return [_item(row_no, fields) for row_no, fields in rows]


def categories(items: list[QuestionItem]) -> list[str]:
    """The distinct categories in order of first appearance."""
    return list(dict.fromkeys(item.category for item in items))


def filter_categories(items: list[QuestionItem], wanted: list[str] | tuple[str, ...]) -> list[QuestionItem]:
    """The items whose category is in ``wanted`` (all items when ``wanted`` is empty)."""
    return [item for item in items if not wanted or item.category in wanted]


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
        body = list(reader)
    except csv.Error as exc:
        raise QuestionSetError(f"the CSV cannot be parsed ({exc}). Fix: check quotes and separators.") from exc
    columns = _columns(header)
    rows: list[tuple[int, dict[str, Any]]] = []
    for offset, cells in enumerate(body):
        row_no = offset + 2  # the header is row 1, as in a spreadsheet
        if not any(c.strip() for c in cells):
            continue  # blank lines are harmless
        if len(cells) != len(header):
            raise QuestionSetError(
                f"expected {len(header)} cells, found {len(cells)}. Fix: quote cells that contain commas.",
                row_no,
            )
        fields: dict[str, Any] = {key: cells[index] for key, index in columns.items() if key != "alternatives"}
        extra: list[int] = columns["alternatives"]
        fields["alternatives"] = [cells[i] for i in extra if cells[i].strip()]
        rows.append((row_no, fields))
    return rows


_EXTRA_REFERENCE = re.compile(r"^(?:reference|answer|expected|alternative)[ _-]?(\d+)$|^alternatives?$")


def _columns(header: list[str]) -> dict[str, Any]:
    columns: dict[str, Any] = {"alternatives": [i for i, h in enumerate(header) if _EXTRA_REFERENCE.match(h)]}
    for key, aliases in (*_ALIASES.items(), ("category", ("category",))):
        found = next((header.index(a) for a in aliases if a in header), None)
        if found is not None:
            columns[key] = found
        elif key != "category":
            raise QuestionSetError(
                f"missing required column '{key}' (found: {', '.join(h for h in header if h) or 'none'}). "
                "Fix: the header row needs 'question' and 'reference' (and optionally 'category')."
            )
    return columns


def _json_depth(text: str) -> int:
    """The deepest ``[``/``{`` nesting in JSON text, found in one linear pass (strings skipped)."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _number(text: str) -> float | int:
    if len(text) > MAX_NUMBER_CHARS:
        raise QuestionSetError(f"the file has a number with {len(text):,} characters. Fix: write numbers as text.")
    return float(text) if any(c in text for c in ".eE") else int(text)


def _constant(name: str) -> None:
    raise QuestionSetError(f"the file contains {name}, which is not valid JSON. Fix: remove it.")


def _json_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    if (depth := _json_depth(text)) > MAX_JSON_DEPTH:
        raise QuestionSetError(
            f"the JSON is nested {depth:,} levels deep; a question file needs 3. "
            'Fix: use a list of objects or {"questions": [...]}.'
        )
    try:
        data = json.loads(text, parse_int=_number, parse_float=_number, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise QuestionSetError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.") from exc
    if isinstance(data, dict):
        data = data.get("questions")
    if not isinstance(data, list):
        raise QuestionSetError('expected a JSON list of objects or {"questions": [...]}.')
    rows: list[tuple[int, dict[str, Any]]] = []
    for offset, entry in enumerate(data):
        row_no = offset + 1
        if not isinstance(entry, dict):
            raise QuestionSetError(f"expected an object, found {type(entry).__name__}.", row_no)
        fields = {k.strip().lower(): v for k, v in entry.items() if isinstance(k, str)}
        picked: dict[str, Any] = {}
        for key, aliases in _ALIASES.items():
            picked[key] = next((fields[a] for a in aliases if a in fields), None)
            if picked[key] is None:
                raise QuestionSetError(f"missing required field '{key}'.", row_no)
        picked["category"] = fields.get("category")
        extra = fields.get("alternatives", [])
        if isinstance(picked["reference"], list):  # "reference": ["first", "alternative", ...]
            refs = picked["reference"]
            picked["reference"], extra = (refs[0] if refs else ""), [*refs[1:], *(extra or [])]
        picked["alternatives"] = extra
        rows.append((row_no, picked))
    return rows


def _item(row_no: int, fields: dict[str, Any]) -> QuestionItem:
    values: dict[str, str] = {}
    for key in ("question", "reference", "category"):
        value = fields.get(key)
        if key == "category" and (value is None or (isinstance(value, str) and not value.strip())):
            value = DEFAULT_CATEGORY
        values[key] = _text(row_no, key, value)
    extra = fields.get("alternatives") or []
    if not isinstance(extra, list):
        raise QuestionSetError('\'alternatives\' must be a list of texts. Fix: write ["one", "another"].', row_no)
    if len(extra) > MAX_ALTERNATIVES:
        raise QuestionSetError(f"{len(extra)} extra references; the limit is {MAX_ALTERNATIVES}.", row_no)
    alternatives = tuple(_text(row_no, "alternative reference", a) for a in extra)
    return QuestionItem(**values, alternatives=alternatives)


def _text(row_no: int, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise QuestionSetError(f"'{key}' must be text, found {type(value).__name__}.", row_no)
    value = value.strip()
    if not value:
        raise QuestionSetError(f"'{key}' is empty. Fix: fill it in or delete the row.", row_no)
    if bad := next((c for c in value if "\ud800" <= c <= "\udfff"), None):
        raise QuestionSetError(
            f"'{key}' contains \\u{ord(bad):04x}, half of a character pair that cannot be stored as text. "
            "Fix: remove that escape or save the file as UTF-8 text.",
            row_no,
        )
    if len(value) > MAX_TEXT_CHARS:
        raise QuestionSetError(f"'{key}' has {len(value):,} characters; the limit is {MAX_TEXT_CHARS:,}.", row_no)
    return value
