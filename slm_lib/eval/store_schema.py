"""The run database's layout: two tables, their columns, and the columns older files gain on open.

``runs`` holds each run's settings (JSON), status, timestamps and owner; ``results`` one row per answer. A
column added after the first release is listed in ``_ADDED_COLUMNS`` and added to older files by
:func:`prepare`, so a database written by any earlier version opens and keeps its runs.
"""

from __future__ import annotations

import sqlite3

from slm_lib.eval.records import STAT_FIELDS

__all__ = ["prepare"]

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT ''
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
    unknown_stats TEXT NOT NULL DEFAULT '',
    UNIQUE (run_id, model, question_idx, repeat, temperature)
);
"""
# Columns added after the first release: (table, column, declaration); added to older files on open.
_ADDED_COLUMNS = (
    ("runs", "owner", "TEXT NOT NULL DEFAULT ''"),
    ("results", "unknown_stats", "TEXT NOT NULL DEFAULT ''"),
    ("results", "overall", "REAL"),
    ("results", "flags", "TEXT"),
)


def prepare(conn: sqlite3.Connection) -> None:
    """Create the tables and indexes if missing, and add the columns an older file lacks."""
    conn.executescript(_SCHEMA)
    for table, column, decl in _ADDED_COLUMNS:
        present = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    conn.execute("CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner, id)")
