"""Sparsity on one tensor: which entries to zero, and what storing the rest costs.

:func:`unstructured_mask` zeroes any entries (the lowest scores); :func:`n_of_m_mask` keeps ``n`` of every
``m`` in a row, the regular pattern sparse tensor cores run fast. Zeros in a dense matrix still cost their
bytes: :func:`sparse_bytes` is the size once the zeros are left out of the file (CSR, or 2:4 values plus
position metadata). These work on any tensor, so the on-board model's pruning uses them too.

Example:
    >>> w = torch.tensor([[0.1, -2.0, 0.3, 4.0]])
    >>> (w * unstructured_mask(w.abs(), 0.5)).tolist()
    [[0.0, -2.0, 0.0, 4.0]]
"""

from __future__ import annotations

import math

import torch

__all__ = ["n_of_m_mask", "sparse_bytes", "unstructured_mask"]


def unstructured_mask(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Keep-mask (True = keep) zeroing exactly ``round(sparsity * numel)`` entries with the lowest scores.

    Example:
        >>> unstructured_mask(torch.tensor([3.0, -1.0, 0.5, 2.0]).abs(), 0.5).tolist()
        [True, False, False, True]
    """
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity={sparsity} must be between 0 and 1")
    n_zero = round(sparsity * scores.numel())
    mask = torch.ones(scores.numel(), dtype=torch.bool, device=scores.device)
    if n_zero:
        # A stable sort gives an exact count even when many scores tie (e.g. weights that are already zero).
        order = torch.argsort(scores.detach().flatten().float(), stable=True)
        mask[order[:n_zero]] = False
    return mask.view(scores.shape)


def n_of_m_mask(scores: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    """Keep the ``n`` highest-scoring of every ``m`` consecutive entries along the last (input) dimension.

    2:4 is the pattern NVIDIA's sparse tensor cores accelerate: exactly 50% zeros, in a regular layout.

    Example:
        >>> n_of_m_mask(torch.tensor([[4.0, 1.0, 3.0, 2.0]])).tolist()
        [[True, False, True, False]]
    """
    if not 0 < n <= m:
        raise ValueError(f"n={n}, m={m}: need 0 < n <= m")
    if scores.dim() == 0 or scores.shape[-1] % m:
        raise ValueError(f"last dimension of shape {tuple(scores.shape)} must be a multiple of m={m}")
    groups = scores.detach().reshape(-1, m)  # (rows * in/m, m): one row per group of m inputs
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(1, groups.topk(n, dim=1).indices, True)
    return keep.view(scores.shape)


def _index_bytes(n_values: int) -> int:
    """Bytes of the narrowest unsigned integer that can index ``n_values`` positions."""
    return 1 if n_values <= 2**8 else 2 if n_values <= 2**16 else 4


def sparse_bytes(weight: torch.Tensor, layout: str = "csr", n: int = 2, m: int = 4) -> int:
    """Bytes of ``weight`` in a sparse encoding (values kept at their dtype's width).

    - ``"csr"``: nonzero values + one column index each (narrowest integer that fits) + ``rows + 1`` row
      pointers (int32). More bytes than dense below roughly 1/3-1/2 sparsity.
    - ``"n:m"``: the ``n`` kept values of every ``m`` plus ``ceil(log2 m)`` bits of position per kept value
      (2:4: half the values plus 2-bit metadata, as in NVIDIA's format).

    Example:
        >>> sparse_bytes(torch.tensor([[1.0, 0.0, 0.0, 2.0]]))  # 2 x 4-byte values + 2 x 1-byte cols + 2 x 4
        18
    """
    w = weight.detach().reshape(-1, weight.shape[-1]) if weight.dim() else weight.detach().reshape(1, 1)
    value_bytes = w.element_size()
    if layout == "csr":
        nnz = int(torch.count_nonzero(w))
        return nnz * (value_bytes + _index_bytes(w.shape[1])) + (w.shape[0] + 1) * 4
    if layout == "n:m":
        if w.shape[1] % m:
            raise ValueError(f"last dimension {w.shape[1]} is not a multiple of m={m}")
        kept = w.numel() // m * n
        return kept * value_bytes + math.ceil(kept * math.ceil(math.log2(m)) / 8)
    raise ValueError(f"layout={layout!r} must be 'csr' or 'n:m'")
