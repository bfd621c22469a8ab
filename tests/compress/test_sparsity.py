"""Tensor masks zero exactly what they promise; sparse encodings cost what a hand count says."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from slm_lib.compress.sparsity import n_of_m_mask, sparse_bytes, unstructured_mask


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(st.integers(1, 20), min_size=1, max_size=3),
    sparsity=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**16),
)
def test_unstructured_mask_zeroes_exactly_the_requested_count(shape, sparsity, seed):
    scores = torch.rand(shape, generator=torch.Generator().manual_seed(seed))
    mask = unstructured_mask(scores, sparsity)
    assert mask.shape == scores.shape and mask.dtype == torch.bool
    assert int((~mask).sum()) == round(sparsity * scores.numel())
    if mask.any() and (~mask).any():  # every removed score is <= every kept score
        assert scores[~mask].max() <= scores[mask].min()


def test_unstructured_mask_is_exact_with_ties():
    mask = unstructured_mask(torch.zeros(10), 0.3)
    assert int((~mask).sum()) == 3


def test_n_of_m_mask_keeps_the_two_largest_of_every_four():
    scores = torch.randn(8, 16, generator=torch.Generator().manual_seed(1)).abs()
    mask = n_of_m_mask(scores, 2, 4)
    groups, kept = scores.view(-1, 4), mask.view(-1, 4)
    assert (kept.sum(1) == 2).all()
    for g, k in zip(groups, kept, strict=True):
        assert set(g.topk(2).indices.tolist()) == set(k.nonzero().flatten().tolist())
    with pytest.raises(ValueError, match="multiple of m=4"):
        n_of_m_mask(torch.rand(3, 6))


def test_sparse_bytes_matches_hand_counted_encodings():
    w = torch.tensor([[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 3.0, 0.0]])
    # CSR: 3 values x (4 bytes + 1-byte column index) + 3 row pointers x 4 bytes
    assert sparse_bytes(w) == 3 * 5 + 3 * 4
    # 2:4: half of 8 values (4 x 4 bytes) + 4 x 2 bits of positions (1 byte)
    assert sparse_bytes(w, "n:m") == 16 + 1
    wide = torch.zeros(1, 300)
    wide[0, 299] = 1.0
    assert sparse_bytes(wide) == 4 + 2 + 2 * 4  # 300 columns need a 2-byte index
    with pytest.raises(ValueError, match="layout"):
        sparse_bytes(w, "coo")
