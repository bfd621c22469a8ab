"""Named OpenAI-compatible endpoints: where each server is, its key, and how many requests it takes at once.

vLLM, SGLang, llama.cpp's server, LM Studio, Text Generation Inference, ``transformers serve`` and
Ollama (on its ``/v1`` route) all speak the OpenAI chat API. The operator names them in
``SLM_EXPLORER_OPENAI_ENDPOINTS`` as a JSON object; a value is a base URL, or an object with
``base_url`` (required), ``api_key_env`` (the name of an environment variable holding the key) or
``api_key`` (the key itself), and ``max_concurrency`` (requests a run keeps in flight, 1-64,
default 1)::

    {"fleet": {"base_url": "http://vllm.internal:8000/v1", "api_key_env": "FLEET_KEY", "max_concurrency": 16},
     "laptop-ollama": "127.0.0.1:11434/v1"}

URL rules (``normalize_base_url``) are the Ollama host's safety rules: http or https only; no user
name, password, query or fragment; a port from 1 to 65535; ``0.0.0.0`` (a bind address) becomes
``127.0.0.1``. Without a scheme a port is required (these servers listen on 8000, 8080, 1234 ...,
never on 80); a URL without a path gets ``/v1``. A model shows as ``openai:<endpoint>/<model>``.

Example:
    >>> normalize_base_url("localhost:8000"), normalize_base_url("http://0.0.0.0:11434/v1/")
    ('http://localhost:8000/v1', 'http://127.0.0.1:11434/v1')
    >>> split_endpoint_model("fleet/meta-llama/Llama-3.2-1B-Instruct")
    ('fleet', 'meta-llama/Llama-3.2-1B-Instruct')
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from slm_lib import settings
from slm_lib.backends.server_url import split_server_url

__all__ = [
    "ENV_VAR",
    "MAX_ENDPOINTS",
    "SOURCES",
    "Endpoint",
    "check_model_name",
    "env_endpoints",
    "normalize_base_url",
    "openai_model_id",
    "parse_endpoints",
    "split_endpoint_model",
]

ENV_VAR = "SLM_EXPLORER_OPENAI_ENDPOINTS"
MAX_ENDPOINTS = 32
SOURCES = ("environment", "sidebar")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")
_PORT_HINT = "e.g. 127.0.0.1:8000 (vLLM, transformers serve), :8080 (llama.cpp), :1234 (LM Studio), :11434/v1 (Ollama)"


def normalize_base_url(raw: str) -> str:
    """Turn a user's or operator's base URL into ``scheme://host:port/path`` (path ``/v1`` by default).

    Raises:
        ValueError: naming the value and what is wrong with it.

    Example:
        >>> normalize_base_url("https://api.example.org"), normalize_base_url(":8080")
        ('https://api.example.org:443/v1', 'http://127.0.0.1:8080/v1')
    """
    text = (raw or "").strip()
    if not text:
        raise ValueError(f"the base URL is empty; write one, {_PORT_HINT}")
    url = split_server_url(text, "base URL")
    port = url.port
    if port is None:
        if not url.explicit_scheme:
            raise ValueError(f"base URL {raw!r} has no port; add it, {_PORT_HINT}")
        port = 443 if url.scheme == "https" else 80
    path = url.path
    if not _PATH.match(path) or any(part in (".", "..") for part in path.split("/")):
        raise ValueError(f"base URL {raw!r}: the path may hold only letters, digits and . _ ~ - between slashes")
    return f"{url.scheme}://{url.host}:{port}{path or '/v1'}"


@dataclass(frozen=True)
class Endpoint:
    """One named OpenAI-compatible server.

    ``base_url`` is normalised on construction; ``api_key`` is sent only to ``base_url`` and is left
    out of ``repr``; ``source`` is ``"environment"`` (the operator's) or ``"sidebar"`` (a visitor's,
    refused in the hosted app).
    """

    name: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    max_concurrency: int = 1
    source: str = "environment"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"endpoint name {self.name!r}: use 1-32 lower-case letters, digits, '-' or '_' (e.g. 'vllm-1')"
            )
        object.__setattr__(self, "base_url", normalize_base_url(self.base_url))
        key = self.api_key
        if key is not None and (
            not isinstance(key, str) or not key.strip() or not key.isprintable() or not key.isascii()
        ):
            raise ValueError(f"endpoint {self.name!r}: the API key must be printable ASCII without line breaks")
        object.__setattr__(self, "api_key", key.strip() if key else None)
        limit = self.max_concurrency
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= settings.MAX_LANE_CONCURRENCY:
            raise ValueError(
                f"endpoint {self.name!r}: max_concurrency must be a whole number from 1 to "
                f"{settings.MAX_LANE_CONCURRENCY}, got {limit!r}"
            )
        if self.source not in SOURCES:
            raise ValueError(f"endpoint source must be one of {SOURCES}, got {self.source!r}")


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"an endpoint name appears twice: {sorted(n for n in names if names.count(n) > 1)[0]!r}")
    return dict(pairs)


def parse_endpoints(text: str, environ: Mapping[str, str] | None = None) -> tuple[Endpoint, ...]:
    """Endpoints from the JSON format above (``environ`` resolves ``api_key_env``; default ``os.environ``).

    Raises:
        ValueError: naming the endpoint and the field that is wrong.

    Example:
        >>> [e.base_url for e in parse_endpoints('{"local": "127.0.0.1:8000"}')]
        ['http://127.0.0.1:8000/v1']
    """
    env = os.environ if environ is None else environ
    if not text.strip():
        return ()
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{ENV_VAR} is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise ValueError(f'{ENV_VAR} must be a JSON object of names, e.g. {{"local": "127.0.0.1:8000"}}')
    if len(data) > MAX_ENDPOINTS:
        raise ValueError(f"{ENV_VAR} names {len(data)} endpoints; at most {MAX_ENDPOINTS} are allowed")
    out = []
    for name, value in data.items():
        spec = {"base_url": value} if isinstance(value, str) else value
        if not isinstance(spec, dict):
            raise ValueError(f"endpoint {name!r}: give a base URL or an object with base_url")
        unknown = set(spec) - {"base_url", "api_key", "api_key_env", "max_concurrency"}
        if unknown:
            raise ValueError(f"endpoint {name!r}: unknown field(s) {sorted(unknown)}")
        if not isinstance(spec.get("base_url"), str):
            raise ValueError(f"endpoint {name!r}: base_url is required (a string)")
        key = spec.get("api_key")
        if "api_key_env" in spec:
            var = spec["api_key_env"]
            if not isinstance(var, str) or not env.get(var, "").strip():
                raise ValueError(f"endpoint {name!r}: the environment variable {var!r} (api_key_env) is not set")
            key = env[var]
        limit = spec.get("max_concurrency", 1)
        try:
            out.append(Endpoint(str(name), spec["base_url"], key, limit, "environment"))
        except ValueError as exc:
            raise ValueError(f"{ENV_VAR}: {exc}") from None
    return tuple(out)


def env_endpoints() -> tuple[Endpoint, ...]:
    """The operator's endpoints from ``SLM_EXPLORER_OPENAI_ENDPOINTS`` (empty when unset)."""
    return parse_endpoints(settings.openai_endpoints_json())


def check_model_name(name: object) -> str:
    """A model id as a server lists it (it may contain ``/`` and ``:``); refuses control characters.

    Example:
        >>> check_model_name("Qwen/Qwen2.5-1.5B-Instruct")
        'Qwen/Qwen2.5-1.5B-Instruct'
    """
    if not isinstance(name, str) or not name or len(name) > 300 or not name.isprintable():
        shown = name[:60] if isinstance(name, str) else type(name).__name__
        raise ValueError(f"{shown!r} is not a usable model id (1-300 printable characters)")
    return name


def openai_model_id(endpoint: str, model: str) -> str:
    """The id a run and the Playground use: ``openai:<endpoint>/<model>``."""
    return f"openai:{endpoint}/{model}"


def split_endpoint_model(name: str) -> tuple[str, str]:
    """``"<endpoint>/<model>"`` -> ``(endpoint, model)``; endpoint names never contain ``/``.

    Raises:
        ValueError: when either part is missing.
    """
    endpoint, sep, model = name.partition("/")
    if not sep or not endpoint or not model:
        raise ValueError(f"{name!r} must look like '<endpoint>/<model>', e.g. 'vllm/Qwen/Qwen2.5-1.5B-Instruct'")
    return endpoint, model
