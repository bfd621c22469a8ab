"""Fan-out: work items dispatched concurrently across lanes, at most ``limit`` at once in each lane.

A lane is one server as a run sees it: the on-board CPU, an Ollama host, an OpenAI-compatible
endpoint (``slm_lib.chat.Lane``). Each lane gets ``limit`` worker threads that take its items in
order; lanes run side by side, so work spread over two servers takes about as long as the slower
one, not the sum. Workers only do the work; every result comes back on one queue to the thread
that iterates ``events()``, which can then write it to SQLite, score it and report progress (so
those stay on one thread). ``stop()`` lets in-flight items finish and leaves the rest untouched.

Example:
    >>> fan = FanOut([(Lane("a", 2), 1), (Lane("a", 2), 2), (Lane("b", 1), 3)], lambda x: x * 10)
    >>> sorted(e.result for e in fan.events() if e.kind == "done")
    [10, 20, 30]
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from slm_lib.chat import BackendError, Lane
from slm_lib.eval.config import split_model_id

__all__ = ["FanEvent", "FanOut", "LaneProgress", "lane_for"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class LaneProgress:
    """One lane's counts for the progress panel."""

    name: str
    limit: int
    total: int
    done: int = 0
    in_flight: int = 0
    retries: int = 0

    @property
    def line(self) -> str:
        """``"3/10 done · 2 in flight (limit 4) · 1 retry"``."""
        retries = f" · {self.retries} retr{'y' if self.retries == 1 else 'ies'} when busy" if self.retries else ""
        return f"{self.done}/{self.total} done · {self.in_flight} in flight (limit {self.limit}){retries}"


@dataclass(frozen=True)
class FanEvent(Generic[T, R]):
    """``kind`` ``"start"`` (a worker took ``item``), ``"done"`` (``result`` is set) or ``"tick"`` (nothing new)."""

    kind: str
    lane: str = ""
    item: T | None = None
    result: R | None = None


class FanOut(Generic[T, R]):
    """Run ``work(item)`` for every ``(lane, item)``; iterate ``events()`` on the consuming thread.

    Args:
        jobs: ``(Lane, item)`` pairs in dispatch order; items of one lane start in this order.
        work: called on a worker thread; an exception it raises is re-raised by ``events()``.
        should_stop: polled by workers before each item (must be thread-safe), and by ``events()``.
    """

    def __init__(
        self,
        jobs: Sequence[tuple[Lane, T]],
        work: Callable[[T], R],
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self._work = work
        self._should_stop = should_stop or (lambda: False)
        self._queues: dict[str, deque[T]] = {}
        self._limits: dict[str, int] = {}
        for lane, item in jobs:
            if lane.limit < 1:
                raise ValueError(f"lane {lane.name!r}: limit must be >= 1, got {lane.limit}")
            self._queues.setdefault(lane.name, deque()).append(item)
            self._limits[lane.name] = max(self._limits.get(lane.name, 1), lane.limit)
        self._progress = {
            name: LaneProgress(name, self._limits[name], len(items)) for name, items in self._queues.items()
        }
        self._out: queue.Queue[tuple[str, str, T, object]] = queue.Queue()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Take no new items; in-flight ones finish and are still reported."""
        self._stop.set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (for a backoff inside ``work``); True at once when the fan-out stops."""
        return self._stop.wait(seconds) or self._check_stop()

    def note_retry(self, lane: str) -> None:
        """Count a retry of a busy server against ``lane`` (shown in progress)."""
        with self._lock:
            p = self._progress[lane]
            self._progress[lane] = LaneProgress(p.name, p.limit, p.total, p.done, p.in_flight, p.retries + 1)

    def progress(self) -> dict[str, LaneProgress]:
        """A snapshot of every lane's counts."""
        with self._lock:
            return dict(self._progress)

    def _check_stop(self) -> bool:
        if not self._stop.is_set() and self._should_stop():
            self._stop.set()
        return self._stop.is_set()

    def _bump(self, lane: str, done: int = 0, in_flight: int = 0) -> None:
        p = self._progress[lane]
        self._progress[lane] = LaneProgress(p.name, p.limit, p.total, p.done + done, p.in_flight + in_flight, p.retries)

    def _worker(self, lane: str) -> None:
        while not self._check_stop():
            with self._lock:
                items = self._queues[lane]
                if not items:
                    return
                item = items.popleft()
                self._bump(lane, in_flight=1)
            self._out.put(("start", lane, item, None))
            try:
                result: object = self._work(item)
                kind = "done"
            except BaseException as exc:  # handed to the consuming thread, which re-raises it
                result, kind = exc, "raised"
                self._stop.set()
            with self._lock:
                self._bump(lane, done=int(kind == "done"), in_flight=-1)
            self._out.put((kind, lane, item, result))

    def events(self, poll_s: float = 0.1) -> Iterator[FanEvent[T, R]]:
        """Start the workers and yield their events until every worker has exited.

        A ``"tick"`` comes every ``poll_s`` seconds without news (a chance to poll for Stop).
        """
        for lane, limit in self._limits.items():
            for i in range(min(limit, len(self._queues[lane]))):
                thread = threading.Thread(target=self._worker, args=(lane,), daemon=True, name=f"fanout-{lane}-{i}")
                self._threads.append(thread)
                thread.start()
        while True:
            try:
                kind, lane, item, result = self._out.get(timeout=poll_s)
            except queue.Empty:
                if not any(t.is_alive() for t in self._threads) and self._out.empty():
                    return
                self._check_stop()
                yield FanEvent("tick")
                continue
            if kind == "raised":
                assert isinstance(result, BaseException)
                raise result
            yield FanEvent(kind, lane, item, result)  # type: ignore[arg-type]


def lane_for(model_id: str, backends: Mapping[str, object]) -> Lane:
    """The lane of a run's ``"backend:model"`` id: the backend's ``lane(model)`` if it has one, else
    one lane per backend kind, one request at a time (a missing backend gets its kind's lane too)."""
    kind, name = split_model_id(model_id)
    lane = getattr(backends.get(kind), "lane", None)
    if callable(lane):
        try:
            found = lane(name)
        except (ValueError, BackendError):
            found = None
        if isinstance(found, Lane):
            return found
    return Lane(kind, 1)
