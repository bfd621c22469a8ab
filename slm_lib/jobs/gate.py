"""A first-come-first-served gate with visible places: at most ``cap`` holders, the others wait in line.

Used where the work happens elsewhere (an Ollama server) but the app still caps how much it asks for at
once: unlike a semaphore, a waiter knows its place, and the line is bounded.

Example:
    >>> gate = FifoGate(cap=1, kind="ollama")
    >>> gate.acquire(timeout=0)
    True
    >>> gate.acquire(timeout=0)  # full, and no waiting allowed with timeout 0
    False
    >>> gate.release()
"""

from __future__ import annotations

import threading
import time
from collections import deque

from slm_lib.jobs.job import JobCancelled, Place, QueueFull
from slm_lib.jobs.watch import Watch

__all__ = ["FifoGate"]


class FifoGate:
    """``acquire`` in arrival order, at most ``cap`` held at once and ``max_waiting`` in line."""

    def __init__(self, cap: int, max_waiting: int = 50, kind: str = "generate") -> None:
        if cap < 1 or max_waiting < 0:
            raise ValueError(f"cap={cap} must be >= 1 and max_waiting={max_waiting} >= 0")
        self.cap, self.max_waiting, self.kind = cap, max_waiting, kind
        self.held = 0
        self._line: deque[object] = deque()
        self._cond = threading.Condition()

    def acquire(self, timeout: float | None = None, watch: Watch | None = None, poll_s: float = 0.2) -> bool:
        """Wait for a slot; False after ``timeout`` seconds (None: no limit but the watch's ``should_stop``).

        ``watch.on_place`` hears the place while waiting (and ``None`` on success).

        Raises:
            QueueFull: ``max_waiting`` callers already wait.
            JobCancelled: ``watch.should_stop()`` became True while waiting.
        """
        watch = watch or Watch()
        ticket = object()
        start = told_at = time.monotonic()
        told: tuple[int, int] | None = None
        with self._cond:
            if self.held < self.cap and not self._line:
                self.held += 1
                return True
            if timeout is not None and timeout <= 0:
                return False
            if len(self._line) >= self.max_waiting:
                raise QueueFull(f"{len(self._line)} requests are already waiting", self.kind, len(self._line))
            self._line.append(ticket)
            try:
                while True:
                    index = self._line.index(ticket)
                    if index < self.cap - self.held:  # everyone ahead of us fits too: our turn
                        self._line.remove(ticket)
                        self.held += 1
                        self._cond.notify_all()
                        break
                    waited = time.monotonic() - start
                    if timeout is not None and waited >= timeout:
                        self._line.remove(ticket)
                        self._cond.notify_all()
                        return False
                    if watch.should_stop is not None and watch.should_stop():
                        self._line.remove(ticket)
                        self._cond.notify_all()
                        raise JobCancelled("stopped while waiting")
                    if watch.on_place is not None and ((index, self.held) != told or time.monotonic() - told_at >= 1.0):
                        told, told_at = (index, self.held), time.monotonic()
                        place = Place(self.kind, index + 1, len(self._line), self.held, self.cap, waited)
                        self._cond.release()  # never call out while holding the line
                        try:
                            watch.on_place(place)
                        finally:
                            self._cond.acquire()
                    self._cond.wait(poll_s)
            except BaseException:
                if ticket in self._line:  # e.g. the page was stopped inside on_place
                    self._line.remove(ticket)
                    self._cond.notify_all()
                raise
        if watch.on_place is not None:
            watch.on_place(None)
        return True

    def release(self) -> None:
        """Give a slot back (once per successful ``acquire``)."""
        with self._cond:
            if self.held <= 0:
                raise ValueError("release() without a matching acquire()")
            self.held -= 1
            self._cond.notify_all()
