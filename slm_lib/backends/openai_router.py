"""Several named OpenAI-compatible endpoints behind one backend, as a run and the Playground see them.

The router's models are ``<endpoint>/<model>`` (so a run's model id is ``openai:<endpoint>/<model>``);
each call goes to that endpoint's own ``OpenAIBackend`` (its own key, its own connection pool) and
each endpoint is its own lane in an evaluation run, ``max_concurrency`` requests wide. Listing asks
every endpoint at once, bounded in time, and one dead endpoint never hides the others' models.

Example:
    router = OpenAIRouter.from_endpoints(env_endpoints())
    router.list_models()                # ['fleet/Qwen/Qwen2.5-1.5B-Instruct', 'local/smollm2', ...]
    router.chat("local/smollm2", [{"role": "user", "content": "Hi"}])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace

from slm_lib.backends.openai_compat import OpenAIBackend
from slm_lib.backends.openai_endpoints import Endpoint, split_endpoint_model
from slm_lib.chat import BackendError, BackendUnavailable, ChatOptions, ChatResult, ChatStream, Lane, Message

__all__ = ["OpenAIRouter"]


class OpenAIRouter:
    """One backend (kind ``openai``) over named endpoints; ``backends`` maps endpoint name to its backend."""

    kind = "openai"

    def __init__(self, backends: Mapping[str, OpenAIBackend]) -> None:
        for name, backend in backends.items():
            if "/" in name or not name:
                raise ValueError(f"endpoint name {name!r} must be non-empty and contain no '/'")
            if not isinstance(backend, OpenAIBackend):
                raise TypeError(f"endpoint {name!r}: expected an OpenAIBackend, got {type(backend).__name__}")
        self.backends = dict(backends)

    @classmethod
    def from_endpoints(cls, endpoints: Iterable[Endpoint], **settings: object) -> OpenAIRouter:
        """A router with a fresh ``OpenAIBackend`` per endpoint (``settings``: its timeouts and retries)."""
        backends = {}
        for e in endpoints:
            limit = e.max_concurrency
            backends[e.name] = OpenAIBackend(e.base_url, e.api_key, name=e.name, max_concurrency=limit, **settings)  # type: ignore[arg-type]
        return cls(backends)

    def __repr__(self) -> str:
        return f"OpenAIRouter({list(self.backends)})"

    def _route(self, model: str) -> tuple[OpenAIBackend, str]:
        endpoint, name = split_endpoint_model(model)
        backend = self.backends.get(endpoint)
        if backend is None:
            known = ", ".join(self.backends) or "none"
            raise BackendUnavailable(
                f"No OpenAI-compatible endpoint named '{endpoint}' is configured here (configured: {known}). "
                "Add it in the sidebar or in SLM_EXPLORER_OPENAI_ENDPOINTS."
            )
        return backend, name

    def lane(self, model: str) -> Lane:
        """The lane of the model's endpoint (one lane per endpoint)."""
        endpoint, _ = split_endpoint_model(model)
        backend = self.backends.get(endpoint)
        return backend.lane(model) if backend is not None else Lane(f"openai:{endpoint}", 1)

    def list_by_endpoint(self, deadline_s: float = 10.0) -> dict[str, list[str] | BackendError]:
        """Each endpoint's model list, or the error it gave; an endpoint slower than ``deadline_s`` is an error."""
        if not self.backends:
            return {}
        pool = ThreadPoolExecutor(max_workers=min(8, len(self.backends)), thread_name_prefix="openai-list")
        futures = {name: pool.submit(b.list_models) for name, b in self.backends.items()}
        out: dict[str, list[str] | BackendError] = {}
        for name, future in futures.items():
            try:
                out[name] = future.result(timeout=deadline_s)
            except FutureTimeout:
                out[name] = BackendUnavailable(f"endpoint '{name}' did not list its models within {deadline_s:g} s")
            except BackendError as exc:
                out[name] = exc
        pool.shutdown(wait=False, cancel_futures=True)
        return out

    def list_models(self) -> list[str]:
        """``<endpoint>/<model>`` for every model of every endpoint that answered.

        Raises:
            BackendUnavailable: no endpoint is configured, or none of them answered (with their reasons).
        """
        listed = self.list_by_endpoint()
        if not listed:
            raise BackendUnavailable("No OpenAI-compatible endpoint is configured.")
        models = [f"{e}/{m}" for e, found in listed.items() if isinstance(found, list) for m in found]
        errors = [str(found) for found in listed.values() if isinstance(found, BackendError)]
        if not models and errors:
            raise BackendUnavailable(" ".join(errors))
        return models

    def stream_chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatStream:
        """Stream from ``<endpoint>/<model>``."""
        backend, name = self._route(model)
        return backend.stream_chat(name, messages, options)

    def chat(self, model: str, messages: list[Message], options: ChatOptions | None = None) -> ChatResult:
        """The whole answer from ``<endpoint>/<model>`` (``result.model`` is the routed name)."""
        backend, name = self._route(model)
        return replace(backend.chat(name, messages, options), model=model)
