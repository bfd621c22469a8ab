"""The models an evaluation run (or a judge) can use, and one shared backend per kind: the playground's own."""

from __future__ import annotations

from app_ui import endpoints_ui
from app_ui.loaders import get_checks, get_embedded_backend, get_ollama_backend
from app_ui.status_ui import still_checking
from slm_lib.chat import Backend, BackendError
from slm_lib.eval.config import split_model_id
from slm_lib.safe_text import neutralize

__all__ = ["backends_for", "model_choices"]


def _backend(kind: str, host: str) -> Backend:
    """The process's shared backend of ``kind``: the same cached objects the playground uses."""
    if kind == "embedded":
        return get_embedded_backend()
    if kind == "ollama":
        return get_ollama_backend(host)
    if kind == "openai":
        return endpoints_ui.router()
    raise ValueError(f"unknown backend kind {kind!r}")


def backends_for(models: tuple[str, ...] | list[str], host: str) -> dict[str, Backend]:
    """One shared backend per kind used by ``models``; a kind that cannot be built is left out
    (its cells then become errors with a clear message instead of stopping the run)."""
    out: dict[str, Backend] = {}
    for kind in dict.fromkeys(split_model_id(m)[0] for m in models):
        try:
            out[kind] = _backend(kind, host)
        except (ImportError, ValueError, BackendError):
            continue
    return out


def _ollama_ids(host: str) -> list[str]:
    return [f"ollama:{name}" for name in _backend("ollama", host).list_models()]


def model_choices(host: str) -> tuple[list[str], list[str]]:
    """``("backend:model" ids, notes about unavailable backends)``; Ollama is asked in the background."""
    ids: list[str] = []
    notes: list[str] = []
    try:
        ids += [f"embedded:{name}" for name in _backend("embedded", host).list_models()]
    except (ImportError, ValueError, BackendError, OSError) as exc:
        notes.append(f"**embedded**: {neutralize(exc).text}")
    probe = get_checks().get(f"models:{host}", lambda: _ollama_ids(host), wait_s=0.5)
    if not probe.done:
        still_checking(probe, f"the models of Ollama at {host}")
    elif probe.error:
        notes.append(f"**ollama**: {neutralize(probe.error).text}")
    else:
        ids += probe.value
    return ids, notes
