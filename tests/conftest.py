"""Test-wide setup: offline, isolated user data, and no real Ollama server ever contacted."""

from __future__ import annotations

import os
import socket
import tempfile

import pytest


def _closed_loopback_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Set before any test module imports the app or the library.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ["SLM_EXPLORER_DATA"] = tempfile.mkdtemp(prefix="slm-explorer-data-")
os.environ["OLLAMA_HOST"] = f"127.0.0.1:{_closed_loopback_port()}"
os.environ.pop("SLM_EXPLORER_HOSTED", None)
# AppTests run pages in this process, hosted ones too: model work on its threads, never worker processes that
# would confine this process to one core (tests of process mode build their own pools).
os.environ["SLM_EXPLORER_WORKERS"] = "thread"

from tests.fake_ollama_fixture import fake_ollama  # noqa: E402,F401  (fixture for every test module)


@pytest.fixture(scope="module")
def one_thread():
    """Tiny matrices on a busy machine run faster on one torch thread than on two that wait for each other."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
