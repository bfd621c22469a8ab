"""A tiny character-level GPT (nanoGPT-style) and the corpus, teacher and measurements around it.

The compression lab (distillation, pruning, quantization) works on this model, so it is small enough to train
and evaluate live on a laptop CPU. This module is the one to import; the code lives in four small modules:

- :mod:`slm_lib.tiny.corpus`: ``Corpus`` and ``load_corpus`` (the text, vocabulary and fixed split),
- :mod:`slm_lib.tiny.model`: ``TinyConfig``, ``TinyLM`` and its blocks, save / load, the teacher, sizes,
- :mod:`slm_lib.tiny.measure`: ``evaluate``, ``measure_latency``, ``measure_model``, ``generate``,
- :mod:`slm_lib.tiny.train`: the shared training loop ``fit_``, ``TrainConfig`` and ``train``.

Example:
    >>> from slm_lib.tiny import evaluate, load_teacher
    >>> teacher = load_teacher()
    >>> evaluate(teacher).accuracy > 0.6
    True
"""

from __future__ import annotations

from slm_lib.tiny.corpus import ASSETS_DIR, CORPUS_PATH, FALLBACK_CHAR, VAL_FRACTION, Corpus, load_corpus
from slm_lib.tiny.measure import (
    EvalConfig,
    EvalResult,
    LatencyResult,
    Measurement,
    evaluate,
    generate,
    measure_latency,
    measure_model,
)
from slm_lib.tiny.model import (
    MLP,
    TEACHER_PATH,
    Block,
    CausalSelfAttention,
    TinyConfig,
    TinyLM,
    device,
    load_model,
    load_teacher,
    model_device,
    param_count,
    read_metadata,
    save_model,
    stored_bytes,
)
from slm_lib.tiny.train import (
    FitConfig,
    FitResult,
    LossFn,
    TrainConfig,
    TrainResult,
    fit_,
    lr_at,
    make_optimizer,
    sample_batch,
    train,
)

__all__ = [
    "ASSETS_DIR",
    "CORPUS_PATH",
    "FALLBACK_CHAR",
    "MLP",
    "TEACHER_PATH",
    "VAL_FRACTION",
    "Block",
    "CausalSelfAttention",
    "Corpus",
    "EvalConfig",
    "EvalResult",
    "FitConfig",
    "FitResult",
    "LatencyResult",
    "LossFn",
    "Measurement",
    "TinyConfig",
    "TinyLM",
    "TrainConfig",
    "TrainResult",
    "device",
    "evaluate",
    "fit_",
    "generate",
    "load_corpus",
    "load_model",
    "load_teacher",
    "lr_at",
    "make_optimizer",
    "measure_latency",
    "measure_model",
    "model_device",
    "param_count",
    "read_metadata",
    "sample_batch",
    "save_model",
    "stored_bytes",
    "train",
]
