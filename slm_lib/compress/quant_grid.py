"""The quantization grid: one tensor stored as small integer codes plus a shared scale (and zero point).

``w ≈ (code - zero_point) * scale``. Fewer bits mean fewer bytes but a coarser grid; one scale per tensor,
per output channel or per group of ``group_size`` weights trades a little storage for a much finer grid where
weights are small. Codes are really packed at the bit width (:mod:`slm_lib.compress.bit_packing`), so
``nbytes`` is what a file would hold.

Example:
    >>> spec = QuantSpec(bits=4, symmetric=False, granularity="group", group_size=32)
    >>> qt = quantize_tensor(torch.randn(4, 64), spec)
    >>> qt.nbytes  # 256 codes x 4 bits + 8 groups x (2-byte scale + 4-bit zero point)
    148
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from slm_lib.compress.bit_packing import pack_bits, unpack_bits

__all__ = ["GRANULARITIES", "QuantSpec", "QuantizedTensor", "group_spans", "quantize_tensor"]

GRANULARITIES = ("tensor", "channel", "group")
_MIN_SCALE = 2.0**-14  # smallest normal float16: scales are stored as fp16, like llama.cpp's block scales


@dataclass(frozen=True)
class QuantSpec:
    """How to quantize one tensor.

    - ``bits``: 2 to 8 bits per code.
    - ``symmetric``: grid centred on zero, ``2**bits - 1`` levels, no zero point stored; asymmetric: all
      ``2**bits`` levels spread from the minimum to the maximum, plus a zero point per scale.
    - ``granularity``: one scale per ``"tensor"``, per output ``"channel"`` (row) or per ``"group"`` of
      ``group_size`` consecutive weights in a row (the last group of a row is zero-padded when needed).
    """

    bits: int = 8
    symmetric: bool = True
    granularity: str = "channel"
    group_size: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.bits, int) or not 2 <= self.bits <= 8:
            raise ValueError(f"QuantSpec.bits={self.bits!r} must be an integer from 2 to 8")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"QuantSpec.granularity={self.granularity!r} must be one of {GRANULARITIES}")
        if not isinstance(self.group_size, int) or self.group_size < 2:
            raise ValueError(f"QuantSpec.group_size={self.group_size!r} must be an integer >= 2")

    @property
    def label(self) -> str:
        """Short name, e.g. ``"int4 asym group-64"``."""
        gran = f"group-{self.group_size}" if self.granularity == "group" else f"per-{self.granularity}"
        return f"int{self.bits} {'sym' if self.symmetric else 'asym'} {gran}"


@dataclass(frozen=True, eq=False)
class QuantizedTensor:
    """Packed codes, one fp16 scale (and, if asymmetric, one packed zero point) per group, and the shape."""

    codes: torch.Tensor  # uint8, packed at spec.bits
    scale: torch.Tensor  # float16, (n_groups,)
    zero_point: torch.Tensor | None  # uint8 packed at spec.bits, (ceil(n_groups * bits / 8),); None if symmetric
    spec: QuantSpec
    shape: tuple[int, ...]
    group_shape: tuple[int, int]  # (n_groups, group_len): the padded layout the codes were computed in

    @property
    def nbytes(self) -> int:
        """Stored bytes: packed codes + scales + packed zero points."""
        zp = 0 if self.zero_point is None else self.zero_point.numel()
        return self.codes.numel() + self.scale.numel() * self.scale.element_size() + zp

    def int_codes(self) -> torch.Tensor:
        """Unpacked codes in the group layout: (n_groups, group_len) int64."""
        n_groups, length = self.group_shape
        return unpack_bits(self.codes, self.spec.bits, n_groups * length).view(n_groups, length)

    def zero_points(self) -> torch.Tensor:
        """Zero point per group: (n_groups,) int64 (the code of 0.0)."""
        n_groups = self.group_shape[0]
        if self.zero_point is None:  # symmetric: codes were shifted up by qmax so they are unsigned
            return torch.full((n_groups,), 2 ** (self.spec.bits - 1) - 1, device=self.scale.device)
        return unpack_bits(self.zero_point, self.spec.bits, n_groups)

    def grid(self, group: int = 0) -> torch.Tensor:
        """Every value group ``group`` can represent, ascending: the quantization grid."""
        if self.spec.symmetric:
            codes = torch.arange(2**self.spec.bits - 1)  # 2*qmax + 1 levels
        else:
            codes = torch.arange(2**self.spec.bits)
        zp = self.zero_points()[group]
        return (codes - zp).to(torch.float32) * self.scale[group].float()

    def element_scales(self) -> torch.Tensor:
        """Each element's scale (its grid step), in the original shape."""
        n_groups, length = self.group_shape
        steps = self.scale.to(torch.float32)[:, None].expand(n_groups, length)
        return _from_groups(steps, self.shape, self.spec)

    def dequantize(self, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The float tensor the codes stand for, in the original shape."""
        scale = self.scale.to(torch.float32)[:, None]  # (G, 1)
        w = (self.int_codes() - self.zero_points()[:, None]).to(torch.float32) * scale  # (G, S)
        return _from_groups(w, self.shape, self.spec).to(dtype)


def _to_groups(w: torch.Tensor, spec: QuantSpec) -> torch.Tensor:
    """(..., L) -> (G, S): one row per scale. Rows are split into groups, zero-padded to a multiple of S."""
    rows = w.reshape(-1, w.shape[-1]) if w.dim() else w.reshape(1, 1)  # (R, L)
    if spec.granularity == "tensor":
        return rows.reshape(1, -1)
    if spec.granularity == "channel":
        return rows
    return F.pad(rows, (0, (-rows.shape[1]) % spec.group_size)).reshape(-1, spec.group_size)


def _from_groups(groups: torch.Tensor, shape: tuple[int, ...], spec: QuantSpec) -> torch.Tensor:
    n_cols = shape[-1] if shape else 1
    rows = groups.reshape(-1, groups.numel() // max(1, math.prod(shape[:-1]))) if shape else groups
    return rows[:, :n_cols].reshape(shape)


def _fp16_at_least(x: torch.Tensor) -> torch.Tensor:
    """Round scales to float16 without rounding down (a smaller scale could push codes out of range)."""
    half = x.clamp(_MIN_SCALE, 65504.0).to(torch.float16)
    return torch.where(half.float() < x, torch.nextafter(half, torch.full_like(half, math.inf)), half)


@torch.no_grad()
def quantize_tensor(w: torch.Tensor, spec: QuantSpec) -> QuantizedTensor:
    """Quantize ``w`` (not modified) to ``spec``; round-trip error is at most ``scale / 2`` per element.

    Example:
        >>> qt = quantize_tensor(torch.tensor([[0.5, -1.0, 0.25]]), QuantSpec(bits=8))
        >>> bool((qt.dequantize() - torch.tensor([[0.5, -1.0, 0.25]])).abs().max() <= qt.scale.float() / 2)
        True
    """
    if not torch.isfinite(w).all():
        raise ValueError("cannot quantize a tensor with NaN or infinite values")
    g = _to_groups(w.detach().to(torch.float32), spec)  # (G, S)
    if spec.symmetric:
        qmax = 2 ** (spec.bits - 1) - 1  # int4: codes -7..7, so +x and -x are equally representable
        scale = _fp16_at_least(g.abs().amax(1) / qmax)  # (G,)
        q = torch.clamp(torch.round(g / scale.float()[:, None]), -qmax, qmax) + qmax  # shift to 0..2*qmax
        zero_point = None
    else:
        qmax = 2**spec.bits - 1  # int4: codes 0..15 span [min, max]; the range always includes 0.0
        lo, hi = g.amin(1).clamp(max=0), g.amax(1).clamp(min=0)  # (G,)
        scale = _fp16_at_least((hi - lo) / qmax)
        zp = torch.clamp(torch.round(-lo / scale.float()), 0, qmax)  # the code that means exactly 0.0
        q = torch.clamp(torch.round(g / scale.float()[:, None]) + zp[:, None], 0, qmax)
        zero_point = pack_bits(zp.to(torch.int64), spec.bits)
    return QuantizedTensor(
        codes=pack_bits(q.to(torch.int64), spec.bits),
        scale=scale,
        zero_point=zero_point,
        spec=spec,
        shape=tuple(w.shape),
        group_shape=(g.shape[0], g.shape[1]),
    )


def group_spans(qt: QuantizedTensor, row: int) -> tuple[tuple[int, int, int], ...]:
    """The scale groups that cover row ``row`` of a quantized matrix: ``(group, first column, end column)``.

    ``group`` indexes ``qt.scale`` and :meth:`QuantizedTensor.grid`; columns are a half-open range. A row has
    one span per tensor or channel, or ``ceil(columns / group_size)`` spans group-wise (the last one shorter).

    Example:
        >>> qt = quantize_tensor(torch.randn(2, 5), QuantSpec(bits=4, granularity="group", group_size=2))
        >>> group_spans(qt, 1)
        ((3, 0, 2), (4, 2, 4), (5, 4, 5))
    """
    n_cols = qt.shape[-1] if qt.shape else 1
    n_rows = math.prod(qt.shape[:-1]) if qt.shape else 1
    if not 0 <= row < n_rows:
        raise ValueError(f"row={row} is outside the tensor's {n_rows} rows")
    if qt.spec.granularity == "tensor":
        return ((0, 0, n_cols),)
    if qt.spec.granularity == "channel":
        return ((row, 0, n_cols),)
    size = qt.spec.group_size
    per_row = -(-n_cols // size)  # ceil: the last group of a row is zero-padded
    return tuple((row * per_row + g, g * size, min(n_cols, (g + 1) * size)) for g in range(per_row))
