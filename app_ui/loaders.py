"""Cached loaders shared by the pages: models and backends as process-wide singletons, keyed by plain ids.

Every page and widget gets the embedding model and the backends from here (``@st.cache_resource``,
never a ``_model`` argument), so a process holds one copy of each, with one generation cap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from slm_lib.backends.embedded import EmbeddedBackend
    from slm_lib.backends.ollama import OllamaBackend
    from slm_lib.backends.openai_compat import OpenAIBackend
    from slm_lib.backends.openai_endpoints import Endpoint
    from slm_lib.backends.openai_router import OpenAIRouter
    from slm_lib.backends.status import BackgroundChecks


@st.cache_resource(show_spinner="Loading the embedding model (all-MiniLM-L6-v2, offline)…")
def get_embedder(name: str = "all-MiniLM-L6-v2") -> SentenceTransformer:
    """The answer scorer's sentence-transformers model (one copy for every session)."""
    from slm_lib.eval import similarity

    if name != "all-MiniLM-L6-v2":
        raise ValueError(f"unknown embedding model {name!r}; only 'all-MiniLM-L6-v2' ships")
    return similarity.load_model()


@st.cache_resource(show_spinner=False, max_entries=16)
def get_ollama_backend(host: str) -> OllamaBackend:
    """One Ollama backend (and its HTTP connection pool) per normalised host string."""
    from slm_lib.backends.ollama import OllamaBackend

    return OllamaBackend(host)


@st.cache_resource(show_spinner="Preparing the on-board SmolLM2-135M-Instruct…")
def get_embedded_backend() -> EmbeddedBackend:
    """The one embedded backend every session shares (its models load on first use, under locks)."""
    from slm_lib.backends.embedded import EmbeddedBackend

    return EmbeddedBackend()


@st.cache_resource(show_spinner=False, max_entries=64)
def get_openai_backend(name: str, base_url: str, api_key: str | None, max_concurrency: int) -> OpenAIBackend:
    """One backend (its HTTP pool, its key, its request slots) per OpenAI-compatible endpoint setting."""
    from slm_lib.backends.openai_compat import OpenAIBackend

    return OpenAIBackend(base_url, api_key, name=name, max_concurrency=max_concurrency)


def get_openai_router(endpoints: tuple[Endpoint, ...]) -> OpenAIRouter:
    """The endpoints behind one ``openai`` backend, each from ``get_openai_backend`` (so shared by every page)."""
    from slm_lib.backends.openai_router import OpenAIRouter

    return OpenAIRouter(
        {e.name: get_openai_backend(e.name, e.base_url, e.api_key, e.max_concurrency) for e in endpoints}
    )


@st.cache_resource(show_spinner=False)
def get_checks() -> BackgroundChecks:
    """The process's background checks (listing a server's models): pages never wait on a silent server."""
    from slm_lib.backends.status import BackgroundChecks

    return BackgroundChecks(ttl_s=15.0)
