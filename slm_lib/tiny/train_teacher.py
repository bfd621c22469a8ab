"""Train the compression lab's teacher and write ``assets/teacher.safetensors``.

One command reproduces it: ``python -m slm_lib.tiny.train_teacher`` (also ``make teacher``). The seed, steps,
wall time, device and held-out scores are stored in the safetensors metadata and printed for
``assets/SOURCES.md``. Options exist for experiments; the defaults are what ships.
"""

from __future__ import annotations

import argparse
import json
import platform
from dataclasses import asdict
from pathlib import Path

import torch

from slm_lib.tiny.corpus import load_corpus
from slm_lib.tiny.measure import LAB_EVAL, evaluate
from slm_lib.tiny.model import TEACHER_PATH, TinyConfig, TinyLM, param_count, save_model
from slm_lib.tiny.train import TrainConfig, train

__all__ = ["TEACHER_CONFIG", "TEACHER_TRAINING", "main"]

TEACHER_CONFIG = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 128}
TEACHER_TRAINING = TrainConfig(steps=1000, lr=3e-3, batch_size=32, warmup_steps=50, seed=1337)
VAL_SPLIT = "128 windows of 128 characters spread evenly over the held-out last 10% (LAB_EVAL)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--layers", type=int, default=TEACHER_CONFIG["n_layer"])
    parser.add_argument("--embd", type=int, default=TEACHER_CONFIG["n_embd"])
    parser.add_argument("--steps", type=int, default=TEACHER_TRAINING.steps)
    parser.add_argument("--seed", type=int, default=TEACHER_TRAINING.seed)
    parser.add_argument("--out", type=Path, default=TEACHER_PATH)
    args = parser.parse_args(argv)

    corpus = load_corpus()
    torch.manual_seed(args.seed)  # the initial weights depend on the seed too
    config = TinyConfig(
        vocab_size=corpus.vocab_size,
        n_layer=args.layers,
        n_head=TEACHER_CONFIG["n_head"],
        n_embd=args.embd,
        block_size=TEACHER_CONFIG["block_size"],
    )
    training = TrainConfig(**{**asdict(TEACHER_TRAINING), "steps": args.steps, "seed": args.seed})
    model = TinyLM(config)

    def report(step: int, loss: float) -> None:
        if step % 100 == 0 or step == training.steps - 1:
            print(f"step {step:5d}  loss {loss:.3f}", flush=True)

    result = train(model, training, on_step=report)
    if result.diverged:
        raise SystemExit("training diverged (non-finite loss); try a lower learning rate")
    scores = evaluate(result.model, "val", LAB_EVAL)
    meta = {
        "what": "SLM Explorer compression-lab teacher (character-level TinyLM)",
        "chars": json.dumps(corpus.chars),
        "training": json.dumps(asdict(training)),
        "seed": str(args.seed),
        "steps": str(result.steps_done),
        "seconds": f"{result.seconds:.1f}",
        "device": f"{result.model.tok_emb.weight.device.type} ({torch.get_num_threads()} threads)",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "val_accuracy": f"{scores.accuracy:.4f}",
        "val_perplexity": f"{scores.perplexity:.3f}",
        "val_split": VAL_SPLIT,
        "params": str(param_count(result.model)),
    }
    save_model(result.model, args.out, metadata=meta)
    print(
        f"saved {args.out.name}: {meta['params']} params, seed {args.seed}, {result.steps_done} steps, "
        f"{meta['seconds']} s on {meta['device']}, val accuracy {meta['val_accuracy']}, "
        f"perplexity {meta['val_perplexity']}"
    )


if __name__ == "__main__":
    main()
