"""The run database: owners, expiry and size cap, migration of older files, and damaged or read-only files."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from slm_lib.chat import ChatStats
from slm_lib.eval import store as store_module
from slm_lib.eval import store_health
from slm_lib.eval.config import RunConfig
from slm_lib.eval.questions import QuestionItem
from slm_lib.eval.store import LOCAL_OWNER, ResultRow, RunStore, is_owner_token, new_owner

QUESTIONS = (QuestionItem("What is 2 + 2?", "four"), QuestionItem("Capital of France?", "Paris."))
CONFIG = RunConfig(models=("ollama:m1",), questions=QUESTIONS)


def result(run_id: int, idx: int = 0, answer: str = "four", **stats) -> ResultRow:
    return ResultRow(run_id, "ollama:m1", idx, 0, 0.0, answer, True, None, ChatStats(**stats))


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path / "runs.sqlite3")
    yield s
    s.close()


# ---- finding 1: private by default when hosted ----


def test_hosted_runs_are_private_to_their_owner(store):
    alice, bob = new_owner(), new_owner()
    assert alice != bob and is_owner_token(alice) and not is_owner_token("x' OR 1=1 --")
    mine = store.create_run(CONFIG, owner=alice)
    theirs = store.create_run(CONFIG, owner=bob)
    store.add_result(result(mine))
    assert [r.id for r in store.list_runs(alice)] == [mine]
    assert [r.id for r in store.list_runs(bob)] == [theirs]
    assert store.owns(mine, alice) and not store.owns(mine, bob)
    for read in (store.get_run, store.results):
        with pytest.raises(KeyError, match=f"no run #{mine}"):  # the same words as for a missing run
            read(mine, bob)
    assert len(store.results(mine, alice)) == 1
    assert {r.id for r in store.list_runs()} == {mine, theirs}  # the local app (owner None) sees all


def test_database_from_before_owners_gains_the_column_and_its_runs_stay_local(tmp_path):
    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as conn:  # the schema as the first release wrote it
        conn.executescript(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, updated TEXT NOT NULL,"
            " status TEXT NOT NULL, settings TEXT NOT NULL);"
            "CREATE TABLE results (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL, model TEXT NOT NULL,"
            " question_idx INTEGER NOT NULL, repeat INTEGER NOT NULL, temperature REAL NOT NULL, answer TEXT NOT NULL,"
            " complete INTEGER NOT NULL, error TEXT, prompt_tokens REAL NOT NULL DEFAULT 0,"
            " completion_tokens REAL NOT NULL DEFAULT 0, load_seconds REAL NOT NULL DEFAULT 0,"
            " ttft_seconds REAL NOT NULL DEFAULT 0, total_seconds REAL NOT NULL DEFAULT 0,"
            " tokens_per_second REAL NOT NULL DEFAULT 0, score REAL, created TEXT NOT NULL,"
            " UNIQUE (run_id, model, question_idx, repeat, temperature));"
        )
        conn.execute(
            "INSERT INTO runs (created, updated, status, settings) VALUES ('2026-01-01', '2026-01-01', 'finished', ?)",
            (CONFIG.to_json(),),
        )
        conn.execute(
            "INSERT INTO results (run_id, model, question_idx, repeat, temperature, answer, complete,"
            " completion_tokens, created) VALUES (1, 'ollama:m1', 0, 0, 0.0, 'four', 1, 7, '2026-01-01')"
        )
    store = RunStore(path)
    (record,) = store.list_runs(LOCAL_OWNER)
    assert record.owner == LOCAL_OWNER and store.recovery is None
    (row,) = store.results(record.id)
    assert row.stats.completion_tokens == 7 and row.stats.unknown == ()
    store.close()


def test_old_hosted_runs_expire_and_the_database_stays_under_its_cap(store):
    old = store.create_run(CONFIG, owner=new_owner())
    running = store.create_run(CONFIG, owner=new_owner())
    stale = (datetime.now(UTC) - timedelta(days=3)).isoformat(timespec="seconds")
    store._conn().execute("UPDATE runs SET updated = ? WHERE id IN (?, ?)", (stale, old, running))
    fresh = [store.create_run(CONFIG, owner=new_owner()) for _ in range(3)]
    for run_id in fresh:
        store.add_result(result(run_id, answer="x" * 200_000))
    assert store_health.expire(store, 24 * 3600, None, keep={running}) == 1  # the running one is kept
    assert {r.id for r in store.list_runs()} == {running, *fresh}
    cap = store.used_bytes() - 150_000  # one big run too many
    assert store_health.expire(store, None, cap, keep={running}) == 1
    assert store.used_bytes() <= cap
    assert {r.id for r in store.list_runs()} == {running, *fresh[1:]}, "the least recently updated run goes first"


def test_rows_changed_outside_the_app_are_skipped_and_impossible_stats_read_as_unknown(store):
    good = store.create_run(CONFIG)
    bad = store.create_run(CONFIG)
    store._conn().execute("UPDATE runs SET settings = ? WHERE id = ?", (json.dumps({"models": []}), bad))
    store.add_result(result(good, completion_tokens=12))
    store._conn().execute("UPDATE results SET total_seconds = -5, completion_tokens = 1e30 WHERE run_id = ?", (good,))
    assert [r.id for r in store.list_runs()] == [good]
    (row,) = store.results(good)
    assert set(row.stats.unknown) == {"completion_tokens", "total_seconds"}


def test_unknown_stats_are_stored_and_read_back(store):
    run_id = store.create_run(CONFIG)
    store.add_result(result(run_id, completion_tokens=10**30, tokens_per_second=float("nan")))
    (row,) = store.results(run_id)
    assert row.stats.unknown == ("completion_tokens", "tokens_per_second")


# ---- finding 6: broken files are recovered ----


def _corrupt_one_page(path):
    """Overwrite the middle of the ``results`` table's root page, as a torn write would."""
    with sqlite3.connect(path) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'results'").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    with open(path, "r+b") as fh:
        fh.seek((root - 1) * size + 8)
        fh.write(b"\xff" * (size // 2))


def test_corrupted_database_page_is_set_aside_and_rebuilt(tmp_path):
    path = tmp_path / "runs.sqlite3"
    first = RunStore(path)
    for _ in range(40):
        run_id = first.create_run(CONFIG)
        first.add_result(result(run_id, answer="y" * 2_000))
    first._conn().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    first.close()
    _corrupt_one_page(path)
    with pytest.raises(sqlite3.DatabaseError):  # what every Evaluation load used to hit
        sqlite3.connect(path).execute("SELECT * FROM results").fetchall()
    store = RunStore(path)
    assert store.recovery is not None and store.recovery.problem == "damaged"
    kept = store.recovery.set_aside
    assert kept is not None and kept.exists() and kept.name.startswith("runs.sqlite3.corrupt-")
    assert (
        "set aside as `runs.sqlite3.corrupt-" in store.recovery.message and str(tmp_path) not in store.recovery.message
    )
    assert store.list_runs() == []
    assert store.results(store.create_run(CONFIG)) == []  # the new file works
    store.close()


def test_file_that_is_not_a_database_is_set_aside(tmp_path):
    path = tmp_path / "runs.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    store = RunStore(path)
    assert store.recovery.problem == "damaged" and store.recovery.set_aside.read_bytes().startswith(b"this is")
    store.create_run(CONFIG)
    store.close()


@pytest.fixture
def read_only_once(monkeypatch):
    """The first connection to the database opens it read-only, as a read-only file would (works as root too)."""
    real = store_module._connect
    calls = []

    def connect(path):
        calls.append(path)
        if len(calls) == 1:
            return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False)
        return real(path)

    monkeypatch.setattr(store_module, "_connect", connect)
    return calls


def test_read_only_database_is_set_aside_and_rebuilt(tmp_path, read_only_once):
    path = tmp_path / "runs.sqlite3"
    RunStore(path).close()
    read_only_once.clear()
    store = RunStore(path)
    assert store.recovery.problem == "read-only" and store.recovery.set_aside.name.startswith("runs.sqlite3.readonly-")
    assert store.create_run(CONFIG) == 1  # Start works
    store.close()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes read-only files anyway")
def test_read_only_database_file_is_set_aside_and_rebuilt(tmp_path):
    path = tmp_path / "runs.sqlite3"
    RunStore(path).close()
    path.chmod(0o444)
    store = RunStore(path)
    assert store.recovery.problem == "read-only"
    store.create_run(CONFIG)
    store.close()


def test_unwritable_folder_falls_back_to_a_temporary_database(tmp_path, read_only_once, monkeypatch):
    path = tmp_path / "data" / "runs.sqlite3"
    RunStore(path).close()
    read_only_once.clear()
    monkeypatch.setattr(store_health, "set_aside", lambda path, kind: None)  # the folder cannot be written
    monkeypatch.setattr(store_health.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    store = RunStore(path)
    assert store.path.parent.parent == tmp_path / "tmp" and "temporary folder" in store.recovery.message
    store.create_run(CONFIG)
    store.close()


def test_a_file_damaged_while_the_app_runs_is_recovered_and_a_busy_one_is_not(store):
    store.create_run(CONFIG)
    recovery = store.recover(sqlite3.DatabaseError("database disk image is malformed"))
    assert recovery.problem == "damaged" and store.list_runs() == [] and store.create_run(CONFIG) == 1
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.recover(sqlite3.OperationalError("database is locked"))
