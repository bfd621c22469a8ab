"""The character corpus of the compression lab: text, vocabulary and the fixed train / validation split.

Example:
    >>> corpus = load_corpus()
    >>> corpus.decode(corpus.encode("print(x)"))
    'print(x)'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import torch

from slm_lib.settings import ASSETS_DIR

__all__ = ["ASSETS_DIR", "CORPUS_PATH", "Corpus", "FALLBACK_CHAR", "VAL_FRACTION", "load_corpus"]

CORPUS_PATH = ASSETS_DIR / "corpus.txt"
VAL_FRACTION = 0.1  # the last 10% of the text is held out: never trained on, used by evaluate()
FALLBACK_CHAR = " "  # characters the corpus never contains are read as a space


@dataclass(frozen=True)
class Corpus:
    """The character corpus: text, vocabulary and the fixed train / validation split (int64 ids)."""

    text: str = field(repr=False)
    chars: tuple[str, ...]
    train: torch.Tensor = field(repr=False, compare=False)
    val: torch.Tensor = field(repr=False, compare=False)

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> list[int]:
        """Characters to ids; a character outside the vocabulary becomes the id of a space."""
        index = _char_index(self.chars)
        fallback = index.get(FALLBACK_CHAR, 0)
        return [index.get(ch, fallback) for ch in s]

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Ids to characters."""
        values = ids.tolist() if isinstance(ids, torch.Tensor) else ids
        return "".join(self.chars[int(i)] for i in values)


@lru_cache(maxsize=4)
def _char_index(chars: tuple[str, ...]) -> dict[str, int]:
    return {ch: i for i, ch in enumerate(chars)}


@lru_cache(maxsize=1)
def load_corpus() -> Corpus:
    """Read ``assets/corpus.txt`` once; the split is the first 90% (train) and the last 10% (validation).

    Callers share the returned object: treat its tensors as read-only.
    """
    if not CORPUS_PATH.exists():
        raise FileNotFoundError(
            f"The corpus file {CORPUS_PATH.name} is missing from assets/ — rebuild it with "
            "`python -m slm_lib.tiny.make_corpus`."
        )
    text = CORPUS_PATH.read_text(encoding="utf-8")
    chars = tuple(sorted(set(text)))
    index = _char_index(chars)
    data = torch.tensor([index[ch] for ch in text], dtype=torch.long)
    n_train = int(len(data) * (1 - VAL_FRACTION))
    return Corpus(text=text, chars=chars, train=data[:n_train], val=data[n_train:])
