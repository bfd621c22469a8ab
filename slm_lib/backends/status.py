"""Which backends are live right now: the embedded SLM, a local Ollama server, and each
OpenAI-compatible endpoint.

Every check is bounded in time (Home must answer within ~3 s even when
``OLLAMA_HOST`` points at a dead or silent address) and never raise.
``BackgroundChecks`` runs slow checks (listing a server's models) on threads of
their own, so a page asks, waits a fraction of a second at most, and otherwise
says "still checking" and asks again later.

Example:
    for s in check_backends():
        print(s.name, s.available, s.detail)
    checks = BackgroundChecks()
    probe = checks.get("ollama-models", lambda: backend.list_models())
    probe.value if probe.done else "still checking"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slm_lib.backends.openai_endpoints import Endpoint

__all__ = [
    "BackendStatus",
    "BackgroundChecks",
    "Probe",
    "check_backends",
    "embedded_status",
    "ollama_status",
    "openai_status",
]


@dataclass(frozen=True)
class BackendStatus:
    name: str
    available: bool
    detail: str
    fix: str | None = None
    models: tuple[str, ...] = ()


def embedded_status() -> BackendStatus:
    """Is the on-board SmolLM2-135M-Instruct file installed (and already converted)?"""
    from slm_lib.smollm import loader as smollm

    try:
        gguf = smollm.gguf_path()
    except smollm.ModelMissing as exc:
        return BackendStatus("Embedded SmolLM2-135M-Instruct", False, str(exc), smollm.INSTALL_FIX)
    from slm_lib import settings

    problem = smollm.cache_problem()
    if problem is None:
        state = "converted and cached"
    elif smollm.converted_dir().exists():  # there, but damaged: never report it as usable
        state = f"the converted copy is damaged ({problem}): first use sets it aside and converts again (~30 s)"
    else:
        state = "first use converts it (~30 s, once)"
    size_mb = gguf.stat().st_size / 1e6
    notice = settings.cache_notice()
    return BackendStatus(
        "Embedded SmolLM2-135M-Instruct",
        True,
        f"4-bit GGUF on board ({size_mb:.0f} MB); {state}." + (f" {notice}" if notice else ""),
        models=("smollm2-135m",),
    )


def ollama_status(host: str | None = None, timeout_s: float = 2.0) -> BackendStatus:
    """Can the Ollama server at ``host`` (default ``OLLAMA_HOST``) list its models?"""
    from slm_lib.backends import get_backend
    from slm_lib.chat import BackendError

    try:
        backend = get_backend("ollama", host=host, connect_timeout=timeout_s, read_timeout=timeout_s)
        models = tuple(backend.list_models())
    except (BackendError, ValueError) as exc:
        return BackendStatus("Ollama", False, str(exc), "Install Ollama, run `ollama serve`, or set OLLAMA_HOST.")
    where = getattr(backend, "host", host)
    if not models:
        return BackendStatus(
            "Ollama",
            True,
            f"reachable at {where}, but no models are installed.",
            "Pull one, e.g. `ollama pull llama3.2:1b` (or use the Playground's pull buttons).",
        )
    return BackendStatus("Ollama", True, f"reachable at {where} with {len(models)} model(s).", models=models)


def openai_status(endpoint: Endpoint, timeout_s: float = 2.0) -> BackendStatus:
    """Can the OpenAI-compatible ``endpoint`` list its models (``GET /models``)?"""
    from slm_lib.backends.openai_compat import OpenAIBackend
    from slm_lib.chat import BackendError

    name = f"OpenAI-compatible '{endpoint.name}'"
    try:
        backend = OpenAIBackend(
            endpoint.base_url, endpoint.api_key, name=endpoint.name, connect_timeout=timeout_s, read_timeout=timeout_s
        )
        models = tuple(backend.list_models())
    except (BackendError, ValueError) as exc:
        return BackendStatus(name, False, str(exc), "Start the server, or fix its URL or key.")
    backend.close()
    count = f"{len(models)} model(s)" if models else "no models"
    return BackendStatus(name, True, f"reachable, serving {count}.", models=models)


def check_backends(
    host: str | None = None, deadline_s: float = 3.0, endpoints: Sequence[Endpoint] = ()
) -> list[BackendStatus]:
    """Every check in parallel; anything slower than ``deadline_s`` is reported as unavailable."""
    pool = ThreadPoolExecutor(max_workers=2 + min(len(endpoints), 6))
    futures = {"embedded": pool.submit(embedded_status), "ollama": pool.submit(ollama_status, host)}
    for endpoint in endpoints:
        futures[f"OpenAI-compatible '{endpoint.name}'"] = pool.submit(openai_status, endpoint)
    end = time.monotonic() + deadline_s
    results = []
    for name, future in futures.items():
        try:
            results.append(future.result(timeout=max(0.0, end - time.monotonic())))
        except FutureTimeout:
            results.append(BackendStatus(name, False, f"no answer within {deadline_s:.0f} s", "Check the server."))
        except Exception as exc:  # e.g. an unwritable cache folder: report it, never break Home
            results.append(BackendStatus(name, False, f"the check failed ({type(exc).__name__}: {exc})"))
    pool.shutdown(wait=False, cancel_futures=True)
    return results


@dataclass(frozen=True)
class Probe:
    """Where one background check stands: still running, or done with a value or an error message."""

    key: str
    done: bool
    value: Any = None
    error: str | None = None
    started: float = 0.0  # time.monotonic() when the check began

    @property
    def seconds(self) -> float:
        """How long the check has been running (or ran)."""
        return time.monotonic() - self.started


class BackgroundChecks:
    """Slow checks on daemon threads, one per key, each answer kept ``ttl_s`` seconds.

    ``get`` never waits more than ``wait_s``: a page renders at once and shows "still checking"
    while a silent server holds the first check up to its own (bounded) timeout. An answer older
    than ``ttl_s`` is checked again in the background and stays the answer until the new one arrives
    (a model list never blinks out while it is re-read). Expected failures (``BackendError``,
    ``ValueError``, ``OSError``) become ``Probe.error`` with their message.

    Example:
        checks = BackgroundChecks(ttl_s=15)
        checks.get("ollama:http://127.0.0.1:11434", backend.list_models, wait_s=0.5)
    """

    def __init__(self, ttl_s: float = 15.0, max_entries: int = 64) -> None:
        if ttl_s < 0 or max_entries < 1:
            raise ValueError(f"ttl_s must be >= 0 and max_entries >= 1, got {ttl_s} and {max_entries}")
        self.ttl_s, self.max_entries = ttl_s, max_entries
        self._probes: dict[str, Probe] = {}
        self._events: dict[str, threading.Event] = {}  # per key: set when its latest check ended
        self._pending: dict[str, Probe] = {}  # per key: the check running now (first or renewal)
        self._lock = threading.Lock()

    def get(self, key: str, check: Callable[[], Any], wait_s: float = 0.5) -> Probe:
        """The current answer for ``key``, starting ``check`` in the background when none is fresh.

        With no answer yet, waits up to ``wait_s`` for the first; with a stale one, up to ``wait_s``
        for its renewal, and returns the stale answer if that is not back by then.
        """
        with self._lock:
            probe = self._probes.get(key)
            stale = probe is not None and probe.done and probe.seconds > self.ttl_s
            if (probe is None or stale) and key not in self._pending:
                pending = Probe(key, False, started=time.monotonic())
                event = threading.Event()
                self._pending[key], self._events[key] = pending, event
                if probe is None:
                    self._probes[key] = probe = pending
                    self._trim()
                threading.Thread(target=self._run, args=(key, check, pending, event), daemon=True).start()
            event = self._events[key]
            waiting = key in self._pending
        if waiting and wait_s > 0:
            event.wait(wait_s)
        return self.peek(key) or probe

    def peek(self, key: str) -> Probe | None:
        """The answer for ``key`` without starting anything."""
        with self._lock:
            return self._probes.get(key)

    def wait(self, timeout_s: float) -> bool:
        """Block until no check is running (tests, scripts); False when ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            events = [self._events[k] for k in self._pending if k in self._events]
        return all(e.wait(max(0.0, deadline - time.monotonic())) for e in events)

    def forget(self, key: str | None = None) -> None:
        """Drop one answer (or all), so the next ``get`` checks again (a Refresh button)."""
        with self._lock:
            for k in [key] if key is not None else list(self._probes):
                if k in self._probes and self._probes[k].done:
                    del self._probes[k]
                    self._pending.pop(k, None)  # a renewal under way no longer counts

    def _run(self, key: str, check: Callable[[], Any], probe: Probe, event: threading.Event) -> None:
        from slm_lib.chat import BackendError

        try:
            result = Probe(key, True, value=check(), started=probe.started)
        except (BackendError, ValueError, OSError) as exc:
            result = Probe(key, True, error=str(exc), started=probe.started)
        except Exception as exc:  # a check must never take a page down
            result = Probe(key, True, error=f"the check failed ({type(exc).__name__})", started=probe.started)
        with self._lock:
            if self._pending.get(key) is probe:  # not forgotten or replaced meanwhile
                del self._pending[key]
                if self._probes.pop(key, None) is not None:
                    self._probes[key] = result  # newest last, so trimmed last
        event.set()

    def _trim(self) -> None:
        while len(self._probes) > self.max_entries:  # oldest first (dicts keep insertion order)
            oldest = next(iter(self._probes))
            self._probes.pop(oldest)
            self._events.pop(oldest, None)
            self._pending.pop(oldest, None)
