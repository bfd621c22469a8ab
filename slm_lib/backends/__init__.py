"""Chat backends behind one interface: ``get_backend(kind, **settings)``.

Example:
    backend = get_backend("embedded")
    result = backend.chat("smollm2-135m", [{"role": "user", "content": "Hi"}])
"""

from __future__ import annotations

from slm_lib.chat import Backend

__all__ = ["KINDS", "get_backend"]

KINDS = ("embedded", "ollama")


def get_backend(kind: str, **settings: object) -> Backend:
    """Return a backend of ``kind`` ("embedded" or "ollama") built with ``settings``.

    Heavy libraries (torch, transformers, the ollama client) are imported only here.
    """
    if kind == "embedded":
        from slm_lib.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(**settings)  # type: ignore[arg-type]
    if kind == "ollama":
        from slm_lib.backends.ollama import OllamaBackend

        return OllamaBackend(**settings)  # type: ignore[arg-type]
    raise ValueError(f"unknown backend kind {kind!r}; choose one of {', '.join(KINDS)}")
