"""The converted model's files on disk: are they whole, set a damaged copy aside, one writer at a time.

A copy is whole when ``model.safetensors``'s header describes exactly the bytes the file holds (a truncated
copy does not) and ``tokenizer.json`` parses. Checks are remembered per (file, size, modification time), so
asking again is cheap.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["FileLock", "folder_problem", "set_aside"]

log = logging.getLogger(__name__)
_CHECKED: dict[tuple[str, int, int], str | None] = {}  # (file, size, mtime) -> problem, so checks stay cheap


def folder_problem(folder: Path) -> str | None:
    """Why the converted copy in ``folder`` cannot be used (missing, truncated or unreadable files), or None."""
    for name, check in (("model.safetensors", _safetensors_problem), ("tokenizer.json", _json_problem)):
        problem = _file_problem(folder / name, check)
        if problem is not None:
            return problem
    return None


def _file_problem(path: Path, check: Callable[[Path], str | None]) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return f"{path.name} is missing"
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _CHECKED:
        try:
            _CHECKED[key] = check(path)
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            _CHECKED[key] = f"{path.name} cannot be read ({type(exc).__name__})"
    return _CHECKED[key]


def _safetensors_problem(path: Path) -> str | None:
    """The header's tensors must end exactly where the file does (a truncated copy does not)."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        length = int.from_bytes(fh.read(8), "little")
        if size < 8 or not 2 <= length <= min(size - 8, 100_000_000):
            return f"{path.name} has no valid header ({size:,} bytes)"
        header = json.loads(fh.read(length))
    end = max((int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"), default=0)
    expected = 8 + length + end
    return None if expected == size else f"{path.name} is {size:,} bytes; its header describes {expected:,}"


def _json_problem(path: Path) -> str | None:
    json.loads(path.read_bytes())
    return None


def set_aside(folder: Path, problem: str) -> Path | None:
    """Move a damaged converted copy out of the way, keeping only the latest one for inspection."""
    if not folder.exists():
        return None
    for older in folder.parent.glob(f"{folder.name}.corrupt-*"):
        shutil.rmtree(older, ignore_errors=True)
    target = folder.with_name(f"{folder.name}.corrupt-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S')}")
    os.replace(folder, target)
    log.warning("the converted SmolLM2 copy was damaged (%s); set aside as %s", problem, target)
    return target


class FileLock:
    """An exclusive lock on a file (``fcntl`` on POSIX; a no-op where it is missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: Any = None

    def __enter__(self) -> FileLock:
        self._fh = open(self.path, "a+")  # noqa: SIM115 - closed in __exit__
        try:
            import fcntl

            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: the in-process lock still holds
            pass
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()  # closing releases the flock
