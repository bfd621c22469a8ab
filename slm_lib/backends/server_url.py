"""The safety rules every model-server address follows (Ollama hosts and OpenAI-compatible base URLs).

http or https only; no spaces, user name, password, query or fragment; a port from 1 to 65535; a server's
bind address (``0.0.0.0``, ``::``) means that server on loopback; IPv6 addresses get their brackets.

Example:
    >>> split_server_url("0.0.0.0:8000/v1", "base URL")
    ServerUrl(scheme='http', host='127.0.0.1', port=8000, path='/v1', explicit_scheme=False)
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from dataclasses import dataclass

__all__ = ["ServerUrl", "split_server_url"]


@dataclass(frozen=True)
class ServerUrl:
    """A checked address; ``port`` is None when the value gave none."""

    scheme: str
    host: str
    port: int | None
    path: str
    explicit_scheme: bool


def split_server_url(raw: str, label: str, default_host: str = "127.0.0.1") -> ServerUrl:
    """Check ``raw`` and split it; a value without ``scheme://`` is http.

    ``label`` names the value in messages (e.g. "Ollama host"); ``default_host`` is used when the value
    gives none (e.g. ``:8080``); "" makes a missing host an error.

    Raises:
        ValueError: naming the value and what is wrong with it.
    """
    text = raw.strip()
    explicit = "://" in text
    scheme, rest = text.split("://", 1) if explicit else ("http", text)
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"{label} {raw!r}: scheme {scheme!r} is not supported; use http:// or https://")
    if any(c.isspace() for c in rest):
        raise ValueError(f"{label} {raw!r} contains spaces")
    split = urllib.parse.urlsplit(f"{scheme}://{rest}")
    if split.username is not None or split.password is not None:
        raise ValueError(f"{label} {raw!r} must not contain a user name or password")
    if split.query or split.fragment or "?" in rest or "#" in rest:
        raise ValueError(f"{label} {raw!r} must not contain '?' or '#'")
    try:
        port = split.port
    except ValueError:
        raise ValueError(f"{label} {raw!r}: the port must be a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"{label} {raw!r}: the port must be a number from 1 to 65535")
    host = split.hostname or (default_host if rest.startswith(":") or not rest else "")
    if not host:
        raise ValueError(f"{label} {raw!r} has no host name")
    # 0.0.0.0 / :: mean "listen everywhere" on the server; a client reaches that server on loopback.
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    try:
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    except ValueError:
        pass
    return ServerUrl(scheme, host, port, split.path.rstrip("/"), explicit)
