"""A tiny character-level GPT in the spirit of nanoGPT, with safetensors save / load and size accounting.

Shapes in comments: B batch, T time (characters), C = n_embd, nh heads, hs head size, V vocabulary size.

Example:
    >>> model = TinyLM(TinyConfig(vocab_size=103, n_layer=2))
    >>> model(torch.zeros(1, 8, dtype=torch.long)).shape
    torch.Size([1, 8, 103])
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from slm_lib.tiny.corpus import ASSETS_DIR, load_corpus

__all__ = [
    "TEACHER_PATH",
    "Block",
    "CausalSelfAttention",
    "MLP",
    "TinyConfig",
    "TinyLM",
    "device",
    "load_model",
    "load_teacher",
    "model_device",
    "param_count",
    "read_metadata",
    "save_model",
    "stored_bytes",
]

TEACHER_PATH = ASSETS_DIR / "teacher.safetensors"


@dataclass(frozen=True)
class TinyConfig:
    """Shape of a :class:`TinyLM`. ``mlp_hidden`` defaults to ``4 * n_embd`` (as in GPT-2).

    Example:
        >>> TinyConfig(vocab_size=103).mlp_hidden
        512
    """

    vocab_size: int
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    block_size: int = 128
    mlp_hidden: int = 0  # 0 means 4 * n_embd
    tie_head: bool = False  # True: the output head reuses the token-embedding matrix (GPT-2's weight tying)

    def __post_init__(self) -> None:
        for name in ("vocab_size", "n_layer", "n_head", "n_embd", "block_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TinyConfig.{name}={value!r} must be a positive integer")
        if self.n_embd % self.n_head:
            raise ValueError(f"TinyConfig.n_embd={self.n_embd} must be divisible by n_head={self.n_head}")
        if self.mlp_hidden < 0:
            raise ValueError(f"TinyConfig.mlp_hidden={self.mlp_hidden} must be >= 0 (0 means 4 * n_embd)")
        if self.mlp_hidden == 0:
            object.__setattr__(self, "mlp_hidden", 4 * self.n_embd)
        if self.n_layer > 24 or self.n_embd > 1024 or self.block_size > 1024:
            raise ValueError(f"TinyConfig too large for this lab: {self} (max 24 layers, n_embd/block 1024)")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention.

    ``qkv`` rows are laid out ``[q heads | k heads | v heads]``, each block ``n_head * head_dim`` rows with
    head ``h`` at rows ``h*head_dim:(h+1)*head_dim``; ``proj`` columns follow the same head order. The
    number of heads is read from ``qkv``'s shape at every call, so structured pruning may remove heads.
    """

    def __init__(self, n_embd: int, n_head: int, head_dim: int) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.qkv = nn.Linear(n_embd, 3 * n_head * head_dim)
        self.proj = nn.Linear(n_head * head_dim, n_embd)

    @property
    def n_head(self) -> int:
        return self.qkv.out_features // (3 * self.head_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        nh, hs = self.n_head, self.head_dim
        if nh == 0:  # every head pruned: the block only adds proj's bias
            return self.proj(x.new_zeros(B, T, 0))
        q, k, v = self.qkv(x).split(nh * hs, dim=2)  # 3 x (B, T, nh*hs)
        q = q.view(B, T, nh, hs).transpose(1, 2)  # (B, nh, T, hs)
        k = k.view(B, T, nh, hs).transpose(1, 2)
        v = v.view(B, T, nh, hs).transpose(1, 2)
        # Each position attends only to itself and earlier positions (is_causal): a language model must not
        # see the character it is asked to predict.
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, nh * hs)  # heads side by side again
        return self.proj(y)  # (B, T, C)


class MLP(nn.Module):
    """Position-wise feed-forward layer; its hidden width is read from ``fc``'s shape (prunable)."""

    def __init__(self, n_embd: int, hidden: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_embd, hidden)
        self.proj = nn.Linear(hidden, n_embd)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))  # (B, T, C) -> (B, T, hidden) -> (B, T, C)


class Block(nn.Module):
    """Pre-norm transformer block: attention mixes positions, the MLP transforms each position."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(config.n_embd)
        self.attn = CausalSelfAttention(config.n_embd, config.n_head, config.head_dim)
        self.ln2 = nn.LayerNorm(config.n_embd)
        self.mlp = MLP(config.n_embd, config.mlp_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Residual connections: each sub-layer adds a correction to x rather than replacing it, which is what
        # lets a student drop whole blocks and still produce sensible output.
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    """A decoder-only character language model: ``forward(idx (B, T) int64) -> logits (B, T, V)``."""

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.tok_emb = nn.Embedding(config.vocab_size, config.n_embd)
        self.pos_emb = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd)
        self.head = nn.Linear(config.n_embd, config.vocab_size)
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: scale residual projections so deep stacks start near identity
            for proj in (block.attn.proj, block.mlp.proj):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * config.n_layer))
        if config.tie_head:
            self.head.weight = self.tok_emb.weight  # one (V, C) matrix both reads and writes characters

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size={self.config.block_size}")
        pos = torch.arange(T, device=idx.device)
        x = self.tok_emb(idx) + self.pos_emb(pos)  # (B, T, C): what the character is + where it is
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))  # (B, T, V): unnormalised next-character scores


def device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_device(model: nn.Module) -> torch.device:
    """The device of a model's first parameter (CPU for a model without parameters)."""
    return next(model.parameters(), torch.empty(0)).device


# ----------------------------------------------------------------------------------------- save / load
def save_model(model: TinyLM, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
    """Write a model as safetensors; its config (and any ``metadata`` strings) go in the header.

    Pruned models (fewer heads or MLP neurons) round-trip: :func:`load_model` rebuilds layers from the shapes.
    """
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if model.config.tie_head:
        state.pop("head.weight", None)  # shared with tok_emb.weight; safetensors refuses shared storage
    header = {**(metadata or {}), "config": json.dumps(asdict(model.config))}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(path), metadata=header)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The string metadata stored in a safetensors header (includes ``config``)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except FileNotFoundError:
        raise
    except Exception as exc:  # a pickle, a truncated file, anything else: never unpickled, always refused
        raise ValueError(f"{Path(path).name} is not a readable safetensors file ({exc})") from exc


def load_model(path: str | Path, map_location: str | torch.device | None = None) -> TinyLM:
    """Load a :class:`TinyLM` saved by :func:`save_model` (onto ``map_location``, default :func:`device`)."""
    meta = read_metadata(path)
    if "config" not in meta:
        raise ValueError(f"{Path(path).name} has no TinyLM config in its metadata; save it with save_model()")
    config = TinyConfig(**json.loads(meta["config"]))
    state = load_file(str(path))
    model = TinyLM(config)
    for i, block in enumerate(model.blocks):  # resize layers a structured pruning made smaller
        qkv_out = state[f"blocks.{i}.attn.qkv.weight"].shape[0]
        if qkv_out != block.attn.qkv.out_features:
            heads = qkv_out // (3 * block.attn.head_dim)
            block.attn = CausalSelfAttention(config.n_embd, heads, block.attn.head_dim)
        hidden = state[f"blocks.{i}.mlp.fc.weight"].shape[0]
        if hidden != block.mlp.fc.out_features:
            block.mlp = MLP(config.n_embd, hidden)
    if config.tie_head:
        state["head.weight"] = state["tok_emb.weight"]
    model.load_state_dict(state)
    if config.tie_head:
        model.head.weight = model.tok_emb.weight
    return model.to(map_location or device()).eval()


def load_teacher() -> TinyLM:
    """A fresh copy of the pretrained teacher from ``assets/teacher.safetensors`` on :func:`device`.

    Each call reads the file again (milliseconds), so the caller owns the returned model.
    """
    if not TEACHER_PATH.exists():
        raise FileNotFoundError(
            f"The teacher weights {TEACHER_PATH.name} are missing from assets/ — train them with "
            "`python -m slm_lib.tiny.train_teacher` (or `make teacher`)."
        )
    corpus = load_corpus()
    meta = read_metadata(TEACHER_PATH)
    if "chars" in meta and tuple(json.loads(meta["chars"])) != corpus.chars:
        raise ValueError(
            "The teacher was trained on a different corpus than assets/corpus.txt — retrain it with "
            "`python -m slm_lib.tiny.train_teacher`."
        )
    return load_model(TEACHER_PATH)


def param_count(model: nn.Module) -> int:
    """Number of parameters (a tied matrix counts once)."""
    return sum(p.numel() for p in model.parameters())


def stored_bytes(model: nn.Module, dtype_bytes: int = 4) -> int:
    """Bytes of the weights stored densely at ``dtype_bytes`` per value (4 = fp32, 2 = fp16)."""
    if dtype_bytes < 1:
        raise ValueError(f"dtype_bytes={dtype_bytes} must be >= 1")
    return param_count(model) * dtype_bytes
