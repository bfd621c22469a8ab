"""Where the Ollama backend may send requests: host normalisation, model-tag checks, no leaked API key.

Host rules (``normalize_host``): empty -> ``127.0.0.1:11434``; no port -> 11434, also for
``http://host`` (Ollama never listens on 80 unless told to; ``https://`` without a port keeps
443, where TLS proxies listen); ``0.0.0.0`` (a *bind* address from the server's own
OLLAMA_HOST) -> ``127.0.0.1``; only http/https; no user names, passwords, queries or
fragments. ``DropApiKey`` keeps the client's ``OLLAMA_API_KEY`` header away from any host
the user typed.

Example:
    >>> validate_tag(" llama3.2:1b ")
    'llama3.2:1b'
"""

from __future__ import annotations

import re
from collections.abc import Generator

import httpx

from slm_lib import settings
from slm_lib.backends.server_url import split_server_url

__all__ = ["DEFAULT_PORT", "DropApiKey", "normalize_host", "validate_tag"]

DEFAULT_PORT = 11434
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9._-]+)*(:[A-Za-z0-9._-]+)?$")


def normalize_host(raw: str | None) -> str:
    """Turn an OLLAMA_HOST-style value into ``scheme://host:port[/path]``.

    Raises:
        ValueError: naming the value and what is wrong with it.

    Example:
        >>> normalize_host("http://localhost"), normalize_host(":11435"), normalize_host("0.0.0.0")
        ('http://localhost:11434', 'http://127.0.0.1:11435', 'http://127.0.0.1:11434')
    """
    text = (raw or "").strip() or settings.ollama_host()
    url = split_server_url(text, "Ollama host")
    port = url.port if url.port is not None else (443 if url.scheme == "https" else DEFAULT_PORT)
    return f"{url.scheme}://{url.host}:{port}{url.path}"


def validate_tag(tag: str) -> str:
    """Check an Ollama model tag such as ``llama3.2:1b`` or ``library/qwen2:1.5b``; returns it stripped."""
    clean = (tag or "").strip()
    if not clean or len(clean) > 200 or not _TAG.match(clean):
        raise ValueError(f"{tag!r} is not an Ollama model tag (expected e.g. 'llama3.2:1b')")
    return clean


class DropApiKey(httpx.Auth):
    """Removes the ``OLLAMA_API_KEY`` bearer header the client adds, so it never reaches a user-given host."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers.pop("authorization", None)
        yield request
