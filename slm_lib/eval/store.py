"""The SQLite file behind evaluation runs (stdlib ``sqlite3``, WAL mode, one connection per thread).

Two tables: ``runs`` (settings JSON, status, timestamps) and ``results`` (one row per answer:
model, question index, repeat, temperature, answer, complete, error, stats, score, and the
assessment's overall score and flags). Every write commits at once, so a crash loses at most the
answer being generated. A database from before assessments gains their two columns when opened;
its rows read back with ``overall`` and ``flags`` set to None ("not assessed yet").

Example:
    store = RunStore()                      # <data dir>/runs.sqlite3
    [r.status for r in store.list_runs()]   # ['finished', 'cancelled', ...]
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

from slm_lib import settings
from slm_lib.chat import ChatStats
from slm_lib.eval.config import RunConfig

__all__ = ["DB_NAME", "STATUSES", "STAT_FIELDS", "ResultRow", "RunRecord", "RunStore"]

DB_NAME = "runs.sqlite3"
STATUSES = ("pending", "running", "cancelled", "interrupted", "finished")
# The numeric stats columns, in ChatStats order (``source`` is a label, not stored).
STAT_FIELDS = tuple(f.name for f in fields(ChatStats) if f.type in ("int", "float"))
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    question_idx INTEGER NOT NULL,
    repeat INTEGER NOT NULL,
    temperature REAL NOT NULL,
    answer TEXT NOT NULL,
    complete INTEGER NOT NULL,
    error TEXT,
    {", ".join(f"{name} REAL NOT NULL DEFAULT 0" for name in STAT_FIELDS)},
    score REAL,
    overall REAL,
    flags TEXT,
    created TEXT NOT NULL,
    UNIQUE (run_id, model, question_idx, repeat, temperature)
);
"""


def _flags(raw: str | None) -> tuple[str, ...] | None:
    """Flags as stored (a JSON list); a damaged value reads as not assessed rather than failing."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return tuple(str(v) for v in value) if isinstance(value, list) else None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


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


class RunStore:
    """Runs and their results in one SQLite file; safe to share between threads.

    Args:
        path: the database file; default ``settings.data_dir() / "runs.sqlite3"``; ``":memory:"``
            is refused because each thread would see its own empty database.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        if str(path) == ":memory:":
            raise ValueError("RunStore needs a file path (each thread opens its own connection)")
        self.path = Path(path) if path is not None else settings.data_dir() / DB_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._all: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._conn().executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns newer versions use to a database written by an older one."""
        conn = self._conn()
        have = {row[1] for row in conn.execute("PRAGMA table_info(results)")}
        for name, kind in (("overall", "REAL"), ("flags", "TEXT")):
            if name not in have:
                conn.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit (isolation_level=None): each INSERT is durable on return. WAL lets the page
            # read while a run thread writes; synchronous=NORMAL is crash-safe in WAL mode.
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                # Streamlit runs each rerun on a new thread: close the connections of finished threads.
                for thread, old in self._all:
                    if not thread.is_alive():
                        old.close()
                self._all = [(t, c) for t, c in self._all if t.is_alive()]
                self._all.append((threading.current_thread(), conn))
        return conn

    @property
    def open_connections(self) -> int:
        """Connections currently held (one per live thread that used the store)."""
        with self._lock:
            return len(self._all)

    def close(self) -> None:
        """Close every connection this store opened (call when no run is using it)."""
        with self._lock:
            for _, conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- runs -------------------------------------------------------------------------------------
    def create_run(self, config: RunConfig) -> int:
        """Save a new run (status ``pending``) and return its id."""
        now = _now()
        cur = self._conn().execute(
            "INSERT INTO runs (created, updated, status, settings) VALUES (?, ?, 'pending', ?)",
            (now, now, config.to_json()),
        )
        return int(cur.lastrowid)

    def get_run(self, run_id: int) -> RunRecord:
        row = self._conn().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise KeyError(f"no run with id {run_id} in {self.path.name}")
        return self._record(row)

    def list_runs(self) -> list[RunRecord]:
        """All runs, newest first."""
        rows = self._conn().execute("SELECT * FROM runs ORDER BY id DESC").fetchall()
        return [self._record(row) for row in rows]

    def set_status(self, run_id: int, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._conn().execute("UPDATE runs SET status = ?, updated = ? WHERE id = ?", (status, _now(), run_id))

    def delete_run(self, run_id: int) -> None:
        self._conn().execute("DELETE FROM runs WHERE id = ?", (run_id,))

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord:
        config = RunConfig.from_dict(json.loads(row["settings"]))
        return RunRecord(row["id"], row["created"], row["updated"], row["status"], config)

    # -- results ----------------------------------------------------------------------------------
    def add_result(self, row: ResultRow) -> int:
        """Write one answer now (replacing an earlier attempt at the same cell); returns its id."""
        stats = [getattr(row.stats, name) for name in STAT_FIELDS]
        cur = self._conn().execute(
            "INSERT OR REPLACE INTO results (run_id, model, question_idx, repeat, temperature, answer, "
            f"complete, error, {', '.join(STAT_FIELDS)}, score, overall, flags, created) "
            f"VALUES ({', '.join('?' * (12 + len(STAT_FIELDS)))})",
            (
                row.run_id,
                row.model,
                row.question_idx,
                row.repeat,
                row.temperature,
                row.answer,
                int(row.complete),
                row.error,
                *stats,
                row.score,
                row.overall,
                None if row.flags is None else json.dumps(list(row.flags), ensure_ascii=False),
                _now(),
            ),
        )
        return int(cur.lastrowid)

    def set_scores(self, scores: list[tuple[int, float]]) -> None:
        """Store similarity scores for result ids in one transaction."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            conn.executemany("UPDATE results SET score = ? WHERE id = ?", [(s, i) for i, s in scores])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def set_assessments(self, items: list[tuple[int, float, float, tuple[str, ...]]]) -> None:
        """Store ``(result id, similarity, overall, flags)`` for answers, in one transaction."""
        rows = [(sim, overall, json.dumps(list(flags), ensure_ascii=False), i) for i, sim, overall, flags in items]
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            conn.executemany("UPDATE results SET score = ?, overall = ?, flags = ? WHERE id = ?", rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def results(self, run_id: int) -> list[ResultRow]:
        """Every answer of a run, with question, reference and category filled in."""
        questions = self.get_run(run_id).config.questions
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM results WHERE run_id = ? ORDER BY model, temperature, question_idx, repeat",
                (run_id,),
            )
            .fetchall()
        )
        out = []
        for r in rows:
            item = questions[r["question_idx"]]
            out.append(
                ResultRow(
                    run_id=r["run_id"],
                    model=r["model"],
                    question_idx=r["question_idx"],
                    repeat=r["repeat"],
                    temperature=r["temperature"],
                    answer=r["answer"],
                    complete=bool(r["complete"]),
                    error=r["error"],
                    stats=ChatStats(
                        **{name: (int(r[name]) if name.endswith("tokens") else float(r[name])) for name in STAT_FIELDS}
                    ),
                    score=r["score"],
                    id=r["id"],
                    question=item.question,
                    reference=item.reference,
                    category=item.category,
                    overall=r["overall"],
                    flags=_flags(r["flags"]),
                    alternatives=item.alternatives,
                )
            )
        return out

    def finished_keys(self, run_id: int) -> set[tuple[str, float, int, int]]:
        """``(model, temperature, question_idx, repeat)`` of every cell that has a row (answer or error)."""
        rows = (
            self._conn()
            .execute("SELECT model, temperature, question_idx, repeat FROM results WHERE run_id = ?", (run_id,))
            .fetchall()
        )
        return {(r[0], r[1], r[2], r[3]) for r in rows}

    def unscored(self, run_id: int, assessed: bool = False) -> list[ResultRow]:
        """Complete answers without a score (saved just before an interruption); with ``assessed``, also
        those without an assessment (scored by a version without assessments)."""
        return [
            r
            for r in self.results(run_id)
            if r.complete and r.error is None and (r.score is None or (assessed and r.overall is None))
        ]

    def error_count(self, run_id: int) -> int:
        row = (
            self._conn()
            .execute("SELECT COUNT(*) FROM results WHERE run_id = ? AND error IS NOT NULL", (run_id,))
            .fetchone()
        )
        return int(row[0])

    def count(self, run_id: int) -> int:
        """How many cells of a run have a row (for progress after a page refresh)."""
        return int(self._conn().execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (run_id,)).fetchone()[0])

    def delete_errors(self, run_id: int) -> None:
        """Forget failed cells so that a resume asks them again."""
        self._conn().execute("DELETE FROM results WHERE run_id = ? AND error IS NOT NULL", (run_id,))
