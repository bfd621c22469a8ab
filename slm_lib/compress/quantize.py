"""Quantizing a model: every weight matrix on a low-bit grid, or the whole model in a smaller float type.

:func:`quantize_model` is *fake* quantization: weights are rounded to the grid of
:mod:`slm_lib.compress.quant_grid` and turned back into floats, so the accuracy is that of the quantized model
but compute (and speed) is still fp32. :func:`cast_model` really stores and computes in fp16 or bf16, and
:func:`int8_dynamic` runs real int8 kernels on the CPU. :data:`LAB_SCHEMES` names the formats the lab compares.

Example:
    >>> result = quantize_scheme(nn.Sequential(nn.Linear(64, 64)), "int4 group-32")
    >>> result.simulated, round(result.compression, 1)  # fake-quantized, 6.7x smaller packed than fp32
    (True, 6.7)
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, replace

import torch
from torch import nn

from slm_lib.compress.quant_grid import QuantSpec, quantize_tensor

__all__ = [
    "LAB_SCHEMES",
    "QuantizeConfig",
    "QuantizeResult",
    "cast_model",
    "int8_dynamic",
    "int8_dynamic_bytes",
    "quantize_model",
    "quantize_scheme",
]


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
    compute: str  # how it runs, in words: fake-quantized, or real low-precision storage and kernels

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
        compute="fake-quantized: dequantized to float for compute, so no speed-up",
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
    scheme = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}[dtype]
    return QuantizeResult(
        model=cast,
        scheme=scheme,
        bits=size * 8,
        stored_bytes=sum(p.numel() * size for p in cast.parameters()),
        fp32_bytes=_fp32_bytes(model),
        simulated=False,
        n_quantized=0,
        compute=f"real {scheme} storage and compute",
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
        result = QuantizeResult(
            model=qmodel,
            scheme=name,
            bits=8,
            stored_bytes=int8_dynamic_bytes(qmodel),
            fp32_bytes=_fp32_bytes(model),
            simulated=False,
            n_quantized=0,
            compute="real int8 kernels (CPU)",
        )
    else:
        result = cast_model(model, fmt)
    return replace(result, scheme=name)
