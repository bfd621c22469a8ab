"""How a SmolLM2 variant is measured: held-out perplexity the way llama.cpp computes it, and the fixed prompt.

Example:
    held_out, calibration = eval_text()     # the corpus's last and first 10%
    ids = chat_ids(tokenizer)               # (1, T): the fixed prompt in SmolLM2's chat format
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from slm_lib.settings import ASSETS_DIR
from slm_lib.smollm.llama_fast import FastLlama

__all__ = ["CORPUS", "FIXED_PROMPT", "Progress", "chat_ids", "eval_text", "perplexity"]

FIXED_PROMPT = "What is the length of the hypotenuse in a right angled triangle? Let's think step by step."
CORPUS = ASSETS_DIR / "corpus.txt"
Progress = Callable[[float, str], None]  # (fraction done 0..1, what is happening)


def eval_text() -> tuple[str, str]:
    """The held-out text (last 10% of ``assets/corpus.txt``) and the calibration text (its first 10%)."""
    text = CORPUS.read_text(encoding="utf-8")
    cut = int(len(text) * 0.9)
    return text[cut:], text[: len(text) // 10]


def chat_ids(tokenizer: object, prompt: str = FIXED_PROMPT) -> Tensor:
    """The fixed prompt in SmolLM2's chat format: (1, T) token ids."""
    ids = tokenizer.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True)
    ids = ids["input_ids"] if not isinstance(ids, list) else ids
    return torch.tensor([ids])


@torch.inference_mode()
def perplexity(fast: FastLlama, ids: Tensor, window: int, on_progress: Progress | None = None) -> float:
    """exp(mean next-token loss) over non-overlapping windows of ``window`` tokens (llama.cpp's recipe).

    ``ids``: (N,) token ids, N a multiple of ``window``; each window starts with an empty context.
    """
    losses = []
    chunks = ids.view(-1, window)  # (n_windows, window)
    for i, chunk in enumerate(chunks):
        logits = fast.forward(chunk[None], fast.new_cache(window))[0]  # (window, vocab)
        losses.append(F.cross_entropy(logits[:-1].float(), chunk[1:], reduction="sum"))
        if on_progress:
            on_progress((i + 1) / len(chunks), f"perplexity window {i + 1}/{len(chunks)}")
    return math.exp(float(sum(losses)) / (chunks.numel() - len(chunks)))
