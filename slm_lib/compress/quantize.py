"""Quantization: store each weight as a small integer code plus a shared scale (and zero point).

``w ≈ (code - zero_point) * scale``. Fewer bits mean fewer bytes but a coarser grid; one scale per tensor,
per output channel or per group of ``group_size`` weights trades a little storage for a much finer grid where
weights are small. Codes are really packed at the bit width (:func:`pack_bits`), so ``nbytes`` is what a
file would hold. :func:`quantize_model` is *fake* quantization: weights are rounded to the grid and turned
back into floats, so the accuracy is that of the quantized model but compute (and speed) is still fp32.
:func:`int8_dynamic` runs real int8 kernels on the CPU.

Example:
    >>> spec = QuantSpec(bits=4, symmetric=False, granularity="group", group_size=32)
    >>> qt = quantize_tensor(torch.randn(4, 64), spec)
    >>> qt.nbytes  # 256 codes x 4 bits + 8 groups x (2-byte scale + 4-bit zero point)
    148
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "GRANULARITIES",
    "LAB_SCHEMES",
    "QuantSpec",
    "QuantizeConfig",
    "QuantizeResult",
    "QuantizedTensor",
    "cast_model",
    "int8_dynamic",
    "pack_bits",
    "int8_dynamic_bytes",
    "quantize_model",
    "quantize_scheme",
    "quantize_tensor",
    "unpack_bits",
]

GRANULARITIES = ("tensor", "channel", "group")
_MIN_SCALE = 2.0**-14  # smallest normal float16: scales are stored as fp16, like llama.cpp's block scales


# ------------------------------------------------------------------------------------------ bit packing
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


# ------------------------------------------------------------------------------------------------ spec
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


# ----------------------------------------------------------------------------------------------- models
@dataclass(frozen=True)
class QuantizeConfig:
    """Quantize every ``nn.Linear`` weight (and ``nn.Embedding`` tables if ``embeddings``) of a model.

    Embeddings are tables indexed by token, so they are quantized per row (one token) like a Linear's
    output channels; the output head, tied or not, is a Linear and is quantized too. Biases and LayerNorm
    parameters (about 1% of a small model) are kept as ``other_dtype`` ("float16" or "float32").
    """

    spec: QuantSpec = QuantSpec()
    embeddings: bool = True
    other_dtype: str = "float16"
    skip: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.other_dtype not in ("float16", "float32"):
            raise ValueError(f"QuantizeConfig.other_dtype={self.other_dtype!r} must be 'float16' or 'float32'")


@dataclass(frozen=True, eq=False)
class QuantizeResult:
    """A model copy with dequantized (or cast) weights and what it costs to store."""

    model: nn.Module
    scheme: str
    bits: int
    stored_bytes: int
    fp32_bytes: int
    simulated: bool  # True: weights on the grid but compute in float (no speed-up)
    n_quantized: int  # how many weight tensors were quantized

    @property
    def compression(self) -> float:
        """fp32 bytes / stored bytes."""
        return self.fp32_bytes / self.stored_bytes


def _fp32_bytes(model: nn.Module) -> int:
    return sum(p.numel() * 4 for p in model.parameters())


@torch.no_grad()
def quantize_model(model: nn.Module, config: QuantizeConfig) -> QuantizeResult:
    """Fake-quantize a copy of ``model``: weights rounded to the grid, then stored back as float32.

    Example:
        >>> result = quantize_model(nn.Linear(64, 8), QuantizeConfig(QuantSpec(bits=4)))
        >>> result.simulated, result.stored_bytes  # 8 rows x (64 codes x 4 bits + fp16 scale) + 8 fp16 biases
        (True, 288)
    """
    qmodel = copy.deepcopy(model)
    kinds = (nn.Linear, nn.Embedding) if config.embeddings else (nn.Linear,)
    done: set[int] = set()  # a tied matrix (head = token embedding) is quantized and counted once
    stored = 0
    for name, mod in qmodel.named_modules():
        if not isinstance(mod, kinds) or name.rsplit(".", 1)[-1] in config.skip or id(mod.weight) in done:
            continue
        qt = quantize_tensor(mod.weight, config.spec)
        mod.weight.copy_(qt.dequantize(mod.weight.dtype))
        stored += qt.nbytes
        done.add(id(mod.weight))
    other = torch.float16 if config.other_dtype == "float16" else torch.float32
    for p in qmodel.parameters():
        if id(p) not in done:  # biases, norms (and skipped layers): rounded to what is stored
            p.copy_(p.to(other).to(p.dtype))
            stored += p.numel() * (2 if other == torch.float16 else 4)
    return QuantizeResult(
        model=qmodel,
        scheme=config.spec.label,
        bits=config.spec.bits,
        stored_bytes=stored,
        fp32_bytes=_fp32_bytes(model),
        simulated=True,
        n_quantized=len(done),
    )


def cast_model(model: nn.Module, dtype: str) -> QuantizeResult:
    """A copy of ``model`` in ``"float32"``, ``"float16"`` or ``"bfloat16"``: real storage and compute.

    Example:
        >>> cast_model(nn.Linear(4, 4), "bfloat16").stored_bytes  # 20 parameters x 2 bytes
        40
    """
    dtypes = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if dtype not in dtypes:
        raise ValueError(f"dtype={dtype!r} must be one of {tuple(dtypes)}")
    cast = copy.deepcopy(model).to(dtypes[dtype])
    size = dtypes[dtype].itemsize
    return QuantizeResult(
        model=cast,
        scheme={"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}[dtype],
        bits=size * 8,
        stored_bytes=sum(p.numel() * size for p in cast.parameters()),
        fp32_bytes=_fp32_bytes(model),
        simulated=False,
        n_quantized=0,
    )


def int8_dynamic(model: nn.Module) -> nn.Module:
    """A CPU copy whose ``nn.Linear`` layers run real int8 kernels (weights int8 per channel, activations
    quantized on the fly per batch), via ``torch.ao.quantization.quantize_dynamic``. Embeddings stay fp32.

    Example:
        >>> type(int8_dynamic(nn.Sequential(nn.Linear(8, 8)))[0]).__name__
        'Linear'
    """
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    cpu_copy = copy.deepcopy(model).to("cpu").eval()
    with warnings.catch_warnings():  # deprecated in favour of torchao, but still the fastest path on CPU here
        warnings.simplefilter("ignore")
        return quantize_dynamic(cpu_copy, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def int8_dynamic_bytes(model: nn.Module) -> int:
    """Bytes a model from :func:`int8_dynamic` holds: int8 weights, torch's fp64 scales and int64 zero points
    per output channel, fp32 biases, plus its remaining float parameters (embeddings, norms)."""
    total = sum(p.numel() * p.element_size() for p in model.parameters())  # what stayed float
    for mod in model.modules():
        if hasattr(mod, "_packed_params") and callable(getattr(mod, "weight", None)):
            w, b = mod.weight(), mod.bias()  # a quantized tensor (out, in) and an fp32 bias
            per_channel = w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric)
            n_scales = w.q_per_channel_scales().numel() if per_channel else 1
            total += w.numel() + n_scales * (8 + 8) + (0 if b is None else b.numel() * b.element_size())
    return total


# The whole-model comparison on the quantization page and in the benchmark: name -> format.
LAB_SCHEMES: dict[str, QuantSpec | str] = {
    "fp32": "float32",
    "fp16": "float16",
    "bf16": "bfloat16",
    "int8 per-channel": QuantSpec(bits=8, symmetric=True, granularity="channel"),
    "int8 dynamic (torch.ao)": "int8_dynamic",
    "int4 group-32": QuantSpec(bits=4, symmetric=False, granularity="group", group_size=32),
    "int3 group-32": QuantSpec(bits=3, symmetric=False, granularity="group", group_size=32),
    "int2 group-32": QuantSpec(bits=2, symmetric=False, granularity="group", group_size=32),
}


def quantize_scheme(model: nn.Module, name: str) -> QuantizeResult:
    """A copy of ``model`` in one of the :data:`LAB_SCHEMES` formats (``result.simulated`` says if fake).

    Example:
        >>> quantize_scheme(nn.Linear(64, 8), "int4 group-32").bits
        4
    """
    if name not in LAB_SCHEMES:
        raise ValueError(f"scheme {name!r} is not one of {tuple(LAB_SCHEMES)}")
    fmt = LAB_SCHEMES[name]
    if isinstance(fmt, QuantSpec):
        result = quantize_model(model, QuantizeConfig(fmt))
    elif fmt == "int8_dynamic":
        qmodel = int8_dynamic(model)
        result = QuantizeResult(qmodel, name, 8, int8_dynamic_bytes(qmodel), _fp32_bytes(model), False, 0)
    else:
        result = cast_model(model, fmt)
    return replace(result, scheme=name)
