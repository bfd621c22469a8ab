"""Pytest fixture ``fake_ollama``: a fresh loopback fake Ollama server per test.

Import it into a conftest (``from tests.fake_ollama_fixture import fake_ollama``) or a test
module. The server listens on 127.0.0.1 on an ephemeral port; ``fake_ollama.url`` is its
address and ``fake_ollama.mode`` / ``fake_ollama.model_modes`` switch failure modes.
"""

from __future__ import annotations

import pytest

from tests.fake_ollama import running


@pytest.fixture
def fake_ollama():
    with running() as server:
        yield server
