"""The SQLite file behind evaluation runs (stdlib ``sqlite3``, WAL mode, one connection per thread).

Two tables: ``runs`` (settings JSON, status, timestamps, owner) and ``results`` (one row per
answer: model, question index, repeat, temperature, answer, complete, error, stats, score, and the
assessment's overall score and flags). Every write commits at once, so a crash loses at most the
answer being generated. Rows from before assessments read back with ``overall`` and ``flags`` set to
None ("not assessed yet").

**Ownership.** Every run has an ``owner``: ``LOCAL_OWNER`` ("") when the app runs for one user,
or an unguessable token (``new_owner()``) that the hosted app gives each visitor. Reads that
take ``owner`` treat another owner's run exactly like a missing one, so one visitor cannot list,
open, download, stop or resume another's runs. Databases written before owners existed gain the column on open
(their runs belong to the local user). ``store_health.expire`` deletes old runs and keeps the
file under a size cap (hosted).

**Damage.** A damaged or read-only file is found on open, set aside and replaced by a new one
(``store_health``); ``recovery`` then says what happened. Rows that no longer parse are skipped.

Example:
    store = RunStore()                      # <data dir>/runs.sqlite3
    [r.status for r in store.list_runs()]   # ['finished', 'cancelled', ...]
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import slm_lib.eval.store_health as store_health
from slm_lib import settings
from slm_lib.eval.config import RunConfig
from slm_lib.eval.records import (
    LOCAL_OWNER,
    STAT_FIELDS,
    ResultRow,
    RunRecord,
    is_owner_token,
    new_owner,
    result_row,
)
from slm_lib.eval.store_schema import prepare

__all__ = [
    "DB_NAME",
    "LOCAL_OWNER",
    "STATUSES",
    "STAT_FIELDS",
    "ResultRow",
    "RunRecord",
    "RunStore",
    "is_owner_token",
    "new_owner",
]

log = logging.getLogger(__name__)
DB_NAME = "runs.sqlite3"
STATUSES = ("pending", "running", "cancelled", "interrupted", "finished")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _connect(path: Path) -> sqlite3.Connection:
    """One connection (a seam for tests that need a read-only file while running as root)."""
    return sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)


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
        self.recovery: store_health.Recovery | None = None
        try:
            found = store_health.problem(self._conn())
        except sqlite3.Error as exc:  # not even readable (e.g. "file is not a database" on the first pragma)
            if not store_health.recoverable(exc):
                raise
            found = ("damaged" if "read" not in str(exc).lower() else "read-only", str(exc))
        if found is not None:
            self._replace(*found)
        prepare(self._conn())

    def _replace(self, kind: str, detail: str) -> store_health.Recovery:
        """Set the current file aside and continue with a new one (in a temporary folder if need be)."""
        self.close()
        moved = store_health.set_aside(self.path, kind)
        if moved is None:
            self.path = store_health.fallback_path(self.path.name)
        self.recovery = store_health.Recovery(kind, detail, moved, self.path)
        log.warning("run database %s: %s; set aside as %s", kind, detail, moved)
        return self.recovery

    def recover(self, exc: sqlite3.Error) -> store_health.Recovery:
        """After ``exc`` from a query: set a damaged or read-only file aside and start a new one.

        Raises:
            sqlite3.Error: ``exc`` itself when it is not about the file (e.g. ``database is locked``).
        """
        if not store_health.recoverable(exc):
            raise exc
        recovery = self._replace("read-only" if "read" in str(exc).lower() else "damaged", str(exc))
        prepare(self._conn())
        return recovery

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit (isolation_level=None): each INSERT is durable on return. WAL lets the page
            # read while a run thread writes; synchronous=NORMAL is crash-safe in WAL mode.
            conn = _connect(self.path)
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
    def create_run(self, config: RunConfig, owner: str = LOCAL_OWNER) -> int:
        """Save a new run (status ``pending``) for ``owner`` and return its id."""
        now = _now()
        cur = self._conn().execute(
            "INSERT INTO runs (created, updated, status, settings, owner) VALUES (?, ?, 'pending', ?, ?)",
            (now, now, config.to_json(), owner),
        )
        return int(cur.lastrowid)

    def get_run(self, run_id: int, owner: str | None = None) -> RunRecord:
        """The run ``run_id``; with ``owner``, only if it belongs to them.

        Raises:
            KeyError: no such run, another owner's run (the same message: nothing leaks), or a row
                that no longer parses.
        """
        row = self._conn().execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        record = None if row is None or (owner is not None and row["owner"] != owner) else self._record(row)
        if record is None:
            raise KeyError(f"no run #{run_id}")
        return record

    def list_runs(self, owner: str | None = None) -> list[RunRecord]:
        """Runs newest first: every run (``owner=None``, the local app) or one owner's."""
        if owner is None:
            rows = self._conn().execute("SELECT * FROM runs ORDER BY id DESC").fetchall()
        else:
            rows = self._conn().execute("SELECT * FROM runs WHERE owner = ? ORDER BY id DESC", (owner,)).fetchall()
        return [record for row in rows if (record := self._record(row)) is not None]

    def owns(self, run_id: int, owner: str | None) -> bool:
        """True when ``owner`` (None: anyone) may see run ``run_id``."""
        try:
            self.get_run(run_id, owner)
        except KeyError:
            return False
        return True

    def set_status(self, run_id: int, status: str) -> None:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        self._conn().execute("UPDATE runs SET status = ?, updated = ? WHERE id = ?", (status, _now(), run_id))

    def delete_run(self, run_id: int) -> None:
        self._conn().execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def used_bytes(self) -> int:
        """Bytes of the file in use by data (pages not on the free list)."""
        conn = self._conn()
        pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
        return int(pages * conn.execute("PRAGMA page_size").fetchone()[0])

    def runs_by_age(self) -> list[tuple[int, str]]:
        """``(id, updated)`` of every run, least recently updated first (for ``store_health.expire``)."""
        return [(r[0], r[1]) for r in self._conn().execute("SELECT id, updated FROM runs ORDER BY updated, id")]

    @staticmethod
    def _record(row: sqlite3.Row) -> RunRecord | None:
        try:
            config = RunConfig.from_dict(json.loads(row["settings"]))
            return RunRecord(row["id"], row["created"], row["updated"], row["status"], config, row["owner"])
        except (ValueError, TypeError, KeyError, RecursionError) as exc:  # a row changed outside the app
            log.warning("run #%s cannot be read and is skipped: %s", row["id"], exc)
            return None

    # -- results ----------------------------------------------------------------------------------
    def add_result(self, row: ResultRow) -> int:
        """Write one answer now (replacing an earlier attempt at the same cell); returns its id."""
        stats = [getattr(row.stats, name) for name in STAT_FIELDS]
        cur = self._conn().execute(
            "INSERT OR REPLACE INTO results (run_id, model, question_idx, repeat, temperature, answer, "
            f"complete, error, {', '.join(STAT_FIELDS)}, score, overall, flags, created, unknown_stats) "
            f"VALUES ({', '.join('?' * (13 + len(STAT_FIELDS)))})",
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
                ",".join(row.stats.unknown),
            ),
        )
        return int(cur.lastrowid)

    def set_scores(self, scores: list[tuple[int, float]]) -> None:
        """Store similarity scores for result ids in one transaction."""
        self._update_all("UPDATE results SET score = ? WHERE id = ?", [(s, i) for i, s in scores])

    def set_assessments(self, items: list[tuple[int, float, float, tuple[str, ...]]]) -> None:
        """Store ``(result id, similarity, overall, flags)`` for answers, in one transaction."""
        rows = [(sim, overall, json.dumps(list(flags), ensure_ascii=False), i) for i, sim, overall, flags in items]
        self._update_all("UPDATE results SET score = ?, overall = ?, flags = ? WHERE id = ?", rows)

    def _update_all(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            conn.executemany(sql, rows)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def results(self, run_id: int, owner: str | None = None) -> list[ResultRow]:
        """Every answer of a run (one ``owner``'s, when given), with question, reference and category."""
        questions = self.get_run(run_id, owner).config.questions
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM results WHERE run_id = ? ORDER BY model, temperature, question_idx, repeat",
                (run_id,),
            )
            .fetchall()
        )
        # rows whose question index no longer fits the run's settings were changed outside the app: skipped
        return [result_row(r, questions[r["question_idx"]]) for r in rows if 0 <= r["question_idx"] < len(questions)]

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
