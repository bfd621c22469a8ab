"""Which backends are live right now: the embedded SLM, a local Ollama server, and each
OpenAI-compatible endpoint.

Every check is bounded in time (Home must answer within ~3 s even when
``OLLAMA_HOST`` points at a dead or silent address) and never raise.

Example:
    for s in check_backends():
        print(s.name, s.available, s.detail)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slm_lib.backends.openai_endpoints import Endpoint

__all__ = ["BackendStatus", "check_backends", "embedded_status", "ollama_status", "openai_status"]


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
    state = "converted and cached" if smollm.is_converted() else "first use converts it (~30 s, once)"
    size_mb = gguf.stat().st_size / 1e6
    return BackendStatus(
        "Embedded SmolLM2-135M-Instruct",
        True,
        f"4-bit GGUF on board ({size_mb:.0f} MB); {state}.",
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
