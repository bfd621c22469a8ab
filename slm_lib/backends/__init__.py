"""Chat backends behind one interface: ``get_backend(kind, **settings)``.

Kinds: ``embedded`` (the on-board SmolLM2), ``ollama`` (an Ollama server), ``openai`` (any
OpenAI-compatible server: vLLM, SGLang, llama.cpp, LM Studio, TGI, ``transformers serve``, or
Ollama's own ``/v1`` route). ``get_backend("openai", base_url=..., api_key=None)`` is one server;
``get_backend("openai", endpoints=[...])`` is several named ones behind one backend whose models
are ``<endpoint>/<model>`` (what runs and the Playground use).

Example:
    backend = get_backend("embedded")
    result = backend.chat("smollm2-135m", [{"role": "user", "content": "Hi"}])
    local = get_backend("openai", base_url="127.0.0.1:8000")   # -> http://127.0.0.1:8000/v1
"""

from __future__ import annotations

from slm_lib.chat import Backend

__all__ = ["KINDS", "get_backend"]

KINDS = ("embedded", "ollama", "openai")


def get_backend(kind: str, **settings: object) -> Backend:
    """Return a backend of ``kind`` (one of ``KINDS``) built with ``settings``.

    Heavy libraries (torch, transformers, the ollama client) are imported only here.
    """
    if kind == "embedded":
        from slm_lib.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(**settings)  # type: ignore[arg-type]
    if kind == "ollama":
        from slm_lib.backends.ollama import OllamaBackend

        return OllamaBackend(**settings)  # type: ignore[arg-type]
    if kind == "openai":
        if "endpoints" in settings:
            from slm_lib.backends.openai_router import OpenAIRouter

            endpoints = settings.pop("endpoints")
            return OpenAIRouter.from_endpoints(endpoints, **settings)  # type: ignore[arg-type]
        from slm_lib.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(**settings)  # type: ignore[arg-type]
    raise ValueError(f"unknown backend kind {kind!r}; choose one of {', '.join(KINDS)}")
