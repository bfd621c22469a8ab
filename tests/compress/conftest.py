"""Shared by the compression tests: a small teacher trained for a few seconds (once per test module)."""

from __future__ import annotations

import pytest
import torch

from slm_lib.tiny import TinyConfig, TinyLM, TrainConfig, load_corpus, train


@pytest.fixture(scope="module")
def teacher(one_thread):
    torch.manual_seed(0)
    cfg = TinyConfig(vocab_size=load_corpus().vocab_size, n_layer=4, n_head=2, n_embd=32, block_size=32)
    model = TinyLM(cfg).cpu()
    return train(model, TrainConfig(steps=15, lr=1e-2, batch_size=8, warmup_steps=1)).model.cpu().eval()
