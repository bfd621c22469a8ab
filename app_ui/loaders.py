"""Cached loaders shared by the pages: models and backends as process-wide singletons, keyed by plain ids.

Every page and widget gets the backends and the job pool from here (``@st.cache_resource``, never a
``_model`` argument), so a process holds one copy of each, with one generation cap. Model work, scoring with
the embedding model included, runs on the job pool: in worker processes when hosted, each holding one copy of
the model it needs for every visitor (``SLM_EXPLORER_WORKERS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

if TYPE_CHECKING:
    from slm_lib.backends.embedded import EmbeddedBackend
    from slm_lib.backends.ollama import OllamaBackend
    from slm_lib.backends.openai_compat import OpenAIBackend
    from slm_lib.backends.openai_endpoints import Endpoint
    from slm_lib.backends.openai_router import OpenAIRouter
    from slm_lib.backends.status import BackgroundChecks
    from slm_lib.jobs import JobPool


@st.cache_resource(show_spinner=False, max_entries=16)
def get_ollama_backend(host: str) -> OllamaBackend:
    """One Ollama backend (and its HTTP connection pool) per normalised host string."""
    from slm_lib.backends.ollama import OllamaBackend

    return OllamaBackend(host)


@st.cache_resource(show_spinner=False)
def get_job_pool() -> JobPool:
    """The server's one job pool: capped, queued lanes for answers and for lab training (see ``slm_lib.jobs``)."""
    from slm_lib.jobs import app_pool

    return app_pool()


@st.cache_resource(show_spinner="Preparing the on-board SmolLM2-135M-Instruct…")
def get_embedded_backend() -> EmbeddedBackend:
    """The one embedded backend every session shares; its answers are jobs on :func:`get_job_pool`."""
    from slm_lib.backends.embedded import EmbeddedBackend

    return EmbeddedBackend(pool=get_job_pool())


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
