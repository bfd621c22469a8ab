"""OpenAI-compatible endpoints in the app: the operator's (environment) plus, outside the hosted setting,
a visitor's own, added in a sidebar editor and kept for this browser session only.

A visitor's key lives in this session's state and goes only to its endpoint's base URL; it is
never written to the run database, an export or a log. The hosted app shows no editor: only
``SLM_EXPLORER_OPENAI_ENDPOINTS`` is used there (no visitor URLs: request forgery).
"""

from __future__ import annotations

import streamlit as st

from app_ui.loaders import get_openai_router
from slm_lib import settings
from slm_lib.backends.openai_endpoints import ENV_VAR, Endpoint, env_endpoints, openai_model_id
from slm_lib.backends.openai_router import OpenAIRouter
from slm_lib.chat import BackendError
from slm_lib.safe_text import neutralize

__all__ = ["current_endpoints", "endpoint_models", "env_problem", "router", "sidebar_editor"]

_KEY = "openai.endpoints"  # the visitor's endpoints (a list of Endpoint), shared by the Compare pages


def env_problem() -> str | None:
    """What is wrong with ``SLM_EXPLORER_OPENAI_ENDPOINTS``, or None."""
    try:
        env_endpoints()
    except ValueError as exc:
        return str(exc)
    return None


def current_endpoints() -> tuple[Endpoint, ...]:
    """The operator's endpoints, then (not hosted) this session's; a visitor's name never shadows the operator's."""
    try:
        operator = env_endpoints()
    except ValueError:
        operator = ()  # reported by env_problem() where endpoints are shown
    if settings.is_hosted():
        return operator
    taken = {e.name for e in operator}
    return operator + tuple(e for e in st.session_state.get(_KEY, []) if e.name not in taken)


def router() -> OpenAIRouter:
    """The ``openai`` backend for this session's endpoints."""
    return get_openai_router(current_endpoints())


@st.cache_data(ttl=15, show_spinner=False, max_entries=64)
def endpoint_models(endpoints: tuple[Endpoint, ...]) -> tuple[list[str], list[str]]:
    """``(model ids "openai:<endpoint>/<model>", notes about endpoints that did not list)``; bounded in time."""
    if not endpoints:
        return [], []
    ids: list[str] = []
    notes: list[str] = []
    for name, found in get_openai_router(endpoints).list_by_endpoint(deadline_s=3.0).items():
        if isinstance(found, BackendError):
            notes.append(str(found))
        else:
            ids += [openai_model_id(name, model) for model in found]
    return ids, notes


def label(model_id: str) -> str:
    """How a picker shows an endpoint's model: its id ``openai:<endpoint>/<model>``, as runs show it."""
    return model_id


def _add(ollama_host: str | None = None) -> None:
    state = st.session_state
    if ollama_host is not None:
        name, url, key, limit = "ollama-v1", f"{ollama_host}/v1", "", settings.ollama_concurrency()
    else:
        name, url = state["openai.new.name"].strip().lower(), state["openai.new.url"]
        key, limit = state["openai.new.key"], int(state["openai.new.limit"])
    try:
        endpoint = Endpoint(name, url, key or None, limit, "sidebar")
    except ValueError as exc:
        state["openai.notice"] = f"Not added: {exc}."
        return
    taken = {e.name for e in current_endpoints()}
    if endpoint.name in taken:
        state["openai.notice"] = (
            f"Not added: an endpoint named '{endpoint.name}' exists; remove it or pick another name."
        )
        return
    state[_KEY] = [*state.get(_KEY, []), endpoint]
    state["openai.new.key"] = ""  # do not keep the key in the form
    endpoint_models.clear()


def _remove(name: str) -> None:
    st.session_state[_KEY] = [e for e in st.session_state.get(_KEY, []) if e.name != name]
    endpoint_models.clear()


def sidebar_editor(ollama_host: str | None = None) -> None:
    """The endpoints panel: the operator's (read-only), the visitor's with Remove, and a form to add one."""
    sidebar = st.sidebar
    with sidebar.expander("OpenAI-compatible servers", expanded=False):
        st.caption(
            "vLLM, SGLang, llama.cpp, LM Studio, TGI, `transformers serve`, or Ollama's own `/v1` route. "
            "Models show as `openai:<endpoint>/<model>`."
        )
        if problem := env_problem():
            st.error(f"{ENV_VAR} is ignored: {neutralize(problem).text}")
        for e in current_endpoints():
            where = "the operator's server" if settings.is_hosted() else f"`{e.base_url}`"  # no internal addresses
            key = "key set" if e.api_key else "no key"
            st.markdown(f"**{e.name}** · {where} · {key} · {e.max_concurrency} at once · {e.source}")
            if e.source == "sidebar":
                st.button("Remove", key=f"openai.remove.{e.name}", on_click=_remove, args=(e.name,))
        if settings.is_hosted():
            st.caption("Hosted app: only the servers its operator configured.")
            return
        if notice := st.session_state.pop("openai.notice", None):
            st.error(neutralize(notice).text)
        st.text_input("Name", key="openai.new.name", placeholder="local", help="Lower-case letters, digits, - or _")
        st.text_input("Base URL", key="openai.new.url", placeholder="http://127.0.0.1:8000/v1")
        st.text_input(
            "API key (optional)",
            key="openai.new.key",
            type="password",
            help="Kept for this browser session only and sent to this base URL only.",
        )
        st.number_input(
            "Requests at once",
            1,
            settings.MAX_LANE_CONCURRENCY,
            1,
            key="openai.new.limit",
            help="How many answers an evaluation run asks for at the same time: 1 for a laptop, more for a "
            "server that batches (vLLM, TGI, a fleet).",
        )
        st.button("Add server", key="openai.add", on_click=_add)
        if ollama_host is not None:
            st.button(
                "Add this Ollama's /v1 route",
                key="openai.add_ollama",
                on_click=_add,
                args=(ollama_host,),
                help="The same Ollama server through its OpenAI-compatible API, to compare both APIs.",
            )
