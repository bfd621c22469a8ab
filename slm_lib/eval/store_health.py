"""Keeping the run database usable: a damaged or read-only file is set aside, old runs expire.

A SQLite file can be damaged (a bad page after a crash or a full disk: ``database disk image is
malformed``), not be a database at all, or be read-only (copied from elsewhere, a read-only mount).
``problem`` finds out at open time (``PRAGMA quick_check`` plus a write that is rolled back);
``set_aside`` renames the file and its ``-wal``/``-shm`` companions to
``runs.sqlite3.<problem>-<UTC time>``, kept for inspection; ``fallback_path`` is where a fresh
database goes when even that folder cannot be written. ``recoverable`` tells a damaged or
read-only file from a passing condition such as ``database is locked``. ``expire`` deletes runs not updated for a
while and then the oldest ones until the data fits a size cap (the hosted app's settings).

Example:
    >>> recoverable(sqlite3.OperationalError("database is locked"))
    False
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

__all__ = ["Recovery", "expire", "fallback_path", "problem", "recoverable", "set_aside"]

_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_READ_ONLY = ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")


@dataclass(frozen=True)
class Recovery:
    """What was wrong with the database file and what was done about it (for a message on the page)."""

    problem: str  # "damaged" or "read-only"
    detail: str  # SQLite's own words
    set_aside: Path | None  # where the old file was moved (None: it could not be moved)
    path: Path  # the database now in use

    @property
    def message(self) -> str:
        """One paragraph for users, naming files but not folders (the hosted app shows no paths)."""
        kept = f"It was set aside as `{self.set_aside.name}` (kept for inspection)" if self.set_aside else "It was left"
        where = "" if self.set_aside else " in a temporary folder until the app restarts"
        return (
            f"The run database was {self.problem} ({self.detail}). {kept}, and a new, empty one is used{where}. "
            "Earlier runs are not shown."
        )


def _kind(exc: sqlite3.Error) -> str | None:
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc).lower()
    if name.startswith(_DAMAGED) or "malformed" in text or "not a database" in text:
        return "damaged"
    if name.startswith(_READ_ONLY) or "readonly" in text or "read-only" in text:
        return "read-only"
    return None


def recoverable(exc: BaseException) -> bool:
    """True for a damaged or read-only database file (not for a passing ``database is locked``)."""
    return isinstance(exc, sqlite3.Error) and _kind(exc) is not None


def problem(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """``(kind, detail)`` when the open database is damaged or cannot be written, else None."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        if [tuple(r) for r in rows] != [("ok",)]:
            return "damaged", str(rows[0][0]).splitlines()[-1][:200] if rows else "quick_check failed"
        conn.execute("BEGIN")
        try:
            conn.execute("CREATE TABLE _write_probe (x INTEGER)")  # undone below: only proves writes work
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        kind = _kind(exc)
        if kind is None:
            raise
        return kind, str(exc)
    return None


def set_aside(path: Path, kind: str) -> Path | None:
    """Move ``path`` (and its ``-wal``/``-shm`` files) out of the way; None when the folder is not writable."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    tag = "corrupt" if kind == "damaged" else "readonly"
    target = path.with_name(f"{path.name}.{tag}-{stamp}")
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return target
    except OSError:
        return None
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        try:
            os.replace(companion, target.with_name(target.name + suffix))
        except OSError:
            companion.unlink(missing_ok=True)
    return target


def fallback_path(name: str) -> Path:
    """A database path in a private temporary folder, for when the data folder cannot be written."""
    folder = Path(tempfile.gettempdir()) / f"slm-explorer-{os.getuid() if hasattr(os, 'getuid') else 'user'}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / name


class _Expiring(Protocol):
    """What ``expire`` needs of a run store (``RunStore``)."""

    def runs_by_age(self) -> list[tuple[int, str]]: ...

    def delete_run(self, run_id: int) -> None: ...

    def used_bytes(self) -> int: ...


def expire(
    store: _Expiring, max_age_s: float | None, max_bytes: int | None, keep: set[int] | frozenset[int] = frozenset()
) -> int:
    """Delete runs not updated for ``max_age_s``, then the oldest until the data fits ``max_bytes``.

    Runs in ``keep`` (still working) are never deleted. Returns how many runs were deleted.
    """
    deleted = 0
    runs = store.runs_by_age()
    if max_age_s is not None:
        cutoff = (datetime.now(UTC) - timedelta(seconds=max_age_s)).isoformat(timespec="seconds")
        for run_id, updated in runs:
            if updated < cutoff and run_id not in keep:
                store.delete_run(run_id)
                deleted += 1
        runs = store.runs_by_age()
    if max_bytes is not None:
        for run_id, _ in runs:
            if store.used_bytes() <= max_bytes:
                break
            if run_id not in keep:
                store.delete_run(run_id)
                deleted += 1
    return deleted
