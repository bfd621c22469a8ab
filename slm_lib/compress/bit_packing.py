"""Bit packing: store ``n`` codes of ``bits`` bits each in ``ceil(n * bits / 8)`` bytes.

Quantized weights are only as small as their file: eight 4-bit codes must really share four bytes, or an
int4 model takes the space of an int8 one.

Example:
    >>> codes = torch.tensor([3, 0, 2, 1, 3])
    >>> packed = pack_bits(codes, 2)
    >>> packed.numel(), unpack_bits(packed, 2, 5).tolist()  # 5 codes x 2 bits fit in 2 bytes
    (2, [3, 0, 2, 1, 3])
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = ["pack_bits", "unpack_bits"]


def pack_bits(codes: torch.Tensor, bits: int) -> torch.Tensor:
    """Pack unsigned ``codes`` (each < 2**bits) into ``ceil(n * bits / 8)`` bytes, little-endian.

    Example:
        >>> pack_bits(torch.tensor([1, 2, 3, 0]), 2).tolist()  # 0b00_11_10_01
        [57]
    """
    if not 1 <= bits <= 8:
        raise ValueError(f"bits={bits} must be between 1 and 8")
    flat = codes.detach().flatten().to(torch.int64)
    if flat.numel() and (flat.min() < 0 or flat.max() >= 2**bits):
        raise ValueError(f"codes must lie in [0, {2**bits - 1}] to pack at {bits} bits")
    if bits == 8:
        return flat.to(torch.uint8)
    n_bytes = math.ceil(flat.numel() * bits / 8)
    flat = F.pad(flat, (0, (-flat.numel()) % 8)).view(-1, 8)  # (n/8, 8): 8 codes fill exactly `bits` bytes
    shifts = torch.arange(8, device=flat.device) * bits
    words = (flat << shifts).sum(1)  # (n/8,): 8 codes side by side in one 8*bits-bit integer
    byte_shifts = torch.arange(bits, device=flat.device) * 8
    packed = (words[:, None] >> byte_shifts) & 0xFF  # (n/8, bits): the integer split into bytes
    return packed.flatten()[:n_bytes].to(torch.uint8)  # drop the padding's bytes


def unpack_bits(packed: torch.Tensor, bits: int, n: int) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: the first ``n`` codes as int64."""
    if not 1 <= bits <= 8:
        raise ValueError(f"bits={bits} must be between 1 and 8")
    if bits == 8:
        return packed[:n].to(torch.int64)
    raw = F.pad(packed.to(torch.int64), (0, (-packed.numel()) % bits)).view(-1, bits)  # (n/8, bits)
    words = (raw << (torch.arange(bits, device=raw.device) * 8)).sum(1)  # (n/8,)
    codes = (words[:, None] >> (torch.arange(8, device=raw.device) * bits)) & (2**bits - 1)  # (n/8, 8)
    return codes.flatten()[:n]
