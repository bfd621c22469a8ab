"""The kinds of work and their lines: ``Lane`` (how many run at once, how many may wait) and the app's lanes.

Example:
    >>> Lane("demo", processes=2, per_process=3).cap
    6
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GENERATE", "MEASURE", "SCORE", "TRAIN", "Lane", "LaneStats"]

GENERATE = "generate"  # answers of the on-board model (one worker process shares one model between them)
TRAIN = "train"  # lab training runs and long measurements (one job per worker process: each uses a core)
MEASURE = "measure"  # short measurements a page needs to show itself (one at a time, never behind a training)
SCORE = "score"  # answers scored by the embedding model (one worker process holds it for every visitor)


@dataclass(frozen=True)
class Lane:
    """One kind of job: at most ``processes × per_process`` run at once, at most ``max_waiting`` wait.

    ``per_process`` jobs share one worker process (and what it loaded, e.g. one model); ``max_run_s`` cancels
    a job that runs longer (None: no limit).
    """

    kind: str
    processes: int = 1
    per_process: int = 1
    max_waiting: int = 50
    max_run_s: float | None = None

    def __post_init__(self) -> None:
        if not self.kind:
            raise ValueError("Lane.kind must be a non-empty name")
        if self.processes < 1 or self.per_process < 1:
            raise ValueError(
                f"Lane {self.kind!r}: processes={self.processes} and per_process={self.per_process} must be >= 1"
            )
        if self.max_waiting < 0:
            raise ValueError(f"Lane {self.kind!r}: max_waiting={self.max_waiting} must be >= 0")
        if self.max_run_s is not None and self.max_run_s <= 0:
            raise ValueError(f"Lane {self.kind!r}: max_run_s={self.max_run_s} must be > 0 or None")

    @property
    def cap(self) -> int:
        """Jobs of this kind that may run at once."""
        return self.processes * self.per_process


@dataclass(frozen=True)
class LaneStats:
    """A lane right now: jobs running and waiting, live worker processes (0 in thread mode)."""

    kind: str
    running: int
    waiting: int
    cap: int
    workers: int
