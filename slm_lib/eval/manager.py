"""Evaluation runs on background threads, shared by every session of one process.

A page switch or a browser refresh does not stop a run: it executes on a daemon thread owned
by a ``RunManager``, and every answer is already in SQLite when it arrives, so a run whose
process died shows up as unfinished and can be resumed. The number of runs at once is capped
(``limits().max_concurrent_generations``) so one visitor cannot starve the others.

Example:
    runs = RunManager()
    runs.start(store, run_id, {"embedded": backend})
    runs.live()            # {run_id: LiveRun(...)} while it works
    runs.stop(run_id)      # polled between answers; the run is then cancelled and resumable
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

from slm_lib import settings
from slm_lib.chat import Backend
from slm_lib.eval.runs import RunProgress, execute_run
from slm_lib.eval.store import RunStore

__all__ = ["LiveRun", "RunManager"]


@dataclass
class LiveRun:
    """A run executing on a thread of this process; ``progress`` and ``error`` are updated by that thread."""

    run_id: int
    thread: threading.Thread
    stop: threading.Event
    progress: RunProgress | None = None
    error: str | None = None


class RunManager:
    """Starts runs on daemon threads and remembers them for every session of this process."""

    def __init__(self) -> None:
        self._runs: dict[int, LiveRun] = {}
        self._lock = threading.Lock()

    def start(self, store: RunStore, run_id: int, backends: Mapping[str, Backend], retry_errors: bool = False) -> None:
        """Run (or resume) ``run_id`` in the background.

        Raises:
            ValueError: the run is already running, or too many runs are in progress on this server.
        """
        with self._lock:
            if run_id in self.live():
                raise ValueError(f"run #{run_id} is already running")
            if len(self.live()) >= settings.limits().max_concurrent_generations:
                raise ValueError("Too many runs are in progress on this server; wait for one to finish.")
            live = LiveRun(run_id, threading.Thread(), threading.Event())

            def work() -> None:
                try:
                    execute_run(
                        store,
                        run_id,
                        backends,
                        on_progress=lambda p: setattr(live, "progress", p),
                        should_stop=live.stop.is_set,
                        retry_errors=retry_errors,
                    )
                except Exception as exc:  # shown on the page; the run is marked interrupted and resumable
                    live.error = "unexpected error" if settings.is_hosted() else f"{type(exc).__name__}: {exc}"

            live.thread = threading.Thread(target=work, daemon=True, name=f"eval-run-{run_id}")
            self._runs[run_id] = live
            live.thread.start()

    def live(self) -> dict[int, LiveRun]:
        """Runs whose thread is still working."""
        return {i: r for i, r in self._runs.items() if r.thread.is_alive()}

    def get(self, run_id: int) -> LiveRun | None:
        """The run started here under ``run_id`` (finished or not), or None."""
        return self._runs.get(run_id)

    def stop(self, run_id: int) -> None:
        """Ask a running run to stop after its current answer."""
        if run_id in self._runs:
            self._runs[run_id].stop.set()
