"""Bit packing: exact sizes, little-endian layout, round trips."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from slm_lib.compress.bit_packing import pack_bits, unpack_bits


@settings(max_examples=60, deadline=None)
@given(bits=st.integers(1, 8), n=st.integers(0, 300), seed=st.integers(0, 2**16))
def test_pack_unpack_round_trip_and_exact_size(bits, n, seed):
    codes = torch.randint(0, 2**bits, (n,), generator=torch.Generator().manual_seed(seed))
    packed = pack_bits(codes, bits)
    assert packed.dtype == torch.uint8
    assert packed.numel() == math.ceil(n * bits / 8)
    assert torch.equal(unpack_bits(packed, bits, n), codes)


def test_pack_bits_layout_is_little_endian():
    assert pack_bits(torch.tensor([1, 2, 3, 0]), 2).tolist() == [0b00_11_10_01]
    assert pack_bits(torch.tensor([0xA, 0x5]), 4).tolist() == [0x5A]


def test_pack_bits_rejects_codes_out_of_range():
    with pytest.raises(ValueError, match="codes must lie"):
        pack_bits(torch.tensor([4]), 2)
