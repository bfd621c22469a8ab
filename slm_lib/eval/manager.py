"""Evaluation runs on background threads, shared by every session of one process.

A page switch or a browser refresh does not stop a run: it executes on a daemon thread owned
by a ``RunManager``, and every answer is already in SQLite when it arrives, so a run whose
process died shows up as unfinished and can be resumed. The number of runs at once is capped
(``limits().max_concurrent_generations``) so one visitor cannot starve the others. Each run
remembers its owner (see ``store``): ``live(owner)`` and ``stop(run_id, owner)`` only see that
owner's runs, so one visitor can never watch or stop another's.

Example:
    runs = RunManager()
    runs.start(store, run_id, {"embedded": backend})
    runs.live()            # {run_id: LiveRun(...)} while it works
    runs.stop(run_id)      # polled between answers; the run is then cancelled and resumable
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from slm_lib import settings
from slm_lib.chat import Backend
from slm_lib.eval.assess import Assessor
from slm_lib.eval.runs import RunProgress, Scorer, execute_run
from slm_lib.eval.store import LOCAL_OWNER, RunStore

__all__ = ["LiveRun", "RunManager"]


@dataclass
class LiveRun:
    """A run executing on a thread of this process; ``progress`` and ``error`` are updated by that thread."""

    run_id: int
    thread: threading.Thread
    stop: threading.Event
    progress: RunProgress | None = None
    error: str | None = None
    owner: str = LOCAL_OWNER


class RunManager:
    """Starts runs on daemon threads and remembers them for every session of this process.

    ``scorer_factory`` makes each run's scorer (default: ``execute_run``'s, the embedding model in this process).
    """

    def __init__(self, scorer_factory: Callable[[], Scorer | Assessor] | None = None) -> None:
        self._scorer_factory = scorer_factory
        self._runs: dict[int, LiveRun] = {}
        self._lock = threading.Lock()

    def start(
        self,
        store: RunStore,
        run_id: int,
        backends: Mapping[str, Backend],
        retry_errors: bool = False,
        owner: str | None = None,
    ) -> None:
        """Run (or resume) ``run_id`` in the background; with ``owner``, only that owner's run.

        Raises:
            KeyError: no run ``run_id`` belongs to ``owner``.
            ValueError: the run is already running, or too many runs are in progress on this server.
        """
        record = store.get_run(run_id, owner)
        with self._lock:
            if run_id in self.live():
                raise ValueError(f"run #{run_id} is already running")
            if len(self.live()) >= settings.limits().max_concurrent_generations:
                raise ValueError("Too many runs are in progress on this server; wait for one to finish.")
            live = LiveRun(run_id, threading.Thread(), threading.Event(), owner=record.owner)

            def work() -> None:
                try:
                    execute_run(
                        store,
                        run_id,
                        backends,
                        on_progress=lambda p: setattr(live, "progress", p),
                        should_stop=live.stop.is_set,
                        retry_errors=retry_errors,
                        scorer=self._scorer_factory() if self._scorer_factory else None,
                    )
                except Exception as exc:  # shown on the page; the run is marked interrupted and resumable
                    live.error = "unexpected error" if settings.is_hosted() else f"{type(exc).__name__}: {exc}"

            live.thread = threading.Thread(target=work, daemon=True, name=f"eval-run-{run_id}")
            self._runs[run_id] = live
            live.thread.start()

    def live(self, owner: str | None = None) -> dict[int, LiveRun]:
        """Runs whose thread is still working (only ``owner``'s, when given)."""
        return {i: r for i, r in self._runs.items() if r.thread.is_alive() and (owner is None or r.owner == owner)}

    def get(self, run_id: int, owner: str | None = None) -> LiveRun | None:
        """The run started here under ``run_id`` (finished or not; only ``owner``'s, when given), or None."""
        run = self._runs.get(run_id)
        return run if run is not None and (owner is None or run.owner == owner) else None

    def stop(self, run_id: int, owner: str | None = None) -> None:
        """Ask a running run to stop after its current answer (only ``owner``'s, when given)."""
        run = self.get(run_id, owner)
        if run is not None:
            run.stop.set()
