import copy
import math

import pytest
import torch
import torch.nn.functional as F

from slm_lib.settings import limits
from slm_lib.tiny import (
    TEACHER_PATH,
    EvalConfig,
    TinyConfig,
    TinyLM,
    TrainConfig,
    evaluate,
    generate,
    load_corpus,
    load_model,
    load_teacher,
    measure_latency,
    measure_model,
    param_count,
    read_metadata,
    save_model,
    stored_bytes,
    train,
)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def tiny(corpus, seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(vocab_size=corpus.vocab_size, n_layer=2, n_head=2, n_embd=32, block_size=32)
    return TinyLM(TinyConfig(**{**cfg, **kw})).cpu()


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_corpus_is_real_text_with_fixed_split(corpus):
    assert len(corpus.text) >= 300_000
    assert len(corpus.train) + len(corpus.val) == len(corpus.text)
    assert len(corpus.val) == pytest.approx(0.1 * len(corpus.text), abs=2)
    assert list(corpus.chars) == sorted(set(corpus.text))
    assert corpus.decode(corpus.val[:50]) == corpus.text[len(corpus.train) : len(corpus.train) + 50]
    assert corpus.train.dtype == torch.int64


def test_encode_round_trip_and_unknown_characters(corpus):
    assert corpus.decode(corpus.encode("def f(x):\n    return x")) == "def f(x):\n    return x"
    assert corpus.decode(corpus.encode("a😀b")) == "a b"  # unknown -> space, never KeyError


@pytest.mark.parametrize(
    ("kw", "name"),
    [({"n_layer": 0}, "n_layer"), ({"n_embd": 30, "n_head": 4}, "n_embd=30"), ({"mlp_hidden": -1}, "mlp_hidden")],
)
def test_config_validation_names_the_value(kw, name):
    with pytest.raises(ValueError, match=name):
        TinyConfig(vocab_size=10, **kw)


def test_config_defaults():
    cfg = TinyConfig(vocab_size=103)
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.block_size, cfg.mlp_hidden, cfg.head_dim) == (
        4,
        4,
        128,
        128,
        512,
        32,
    )


def test_forward_shape_and_causality(corpus):
    model = tiny(corpus).eval()
    idx = torch.randint(0, corpus.vocab_size, (3, 20))
    logits = model(idx)
    assert logits.shape == (3, 20, corpus.vocab_size)
    changed = idx.clone()
    changed[:, 10:] = (changed[:, 10:] + 1) % corpus.vocab_size
    assert torch.allclose(model(changed)[:, :10], logits[:, :10], atol=1e-6)  # no peeking at the future
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, 33, dtype=torch.long))


def test_attention_matches_a_reference_implementation(corpus):
    attn = tiny(corpus).blocks[0].attn.eval()
    x = torch.randn(2, 7, 32)
    q, k, v = attn.qkv(x).split(32, dim=2)
    heads = lambda t: t.view(2, 7, 2, 16).transpose(1, 2)  # noqa: E731
    q, k, v = heads(q), heads(k), heads(v)
    scores = q @ k.transpose(-2, -1) / math.sqrt(16)
    scores = scores.masked_fill(torch.triu(torch.ones(7, 7, dtype=torch.bool), 1), float("-inf"))
    ref = (scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 7, 32)
    assert torch.allclose(attn(x), attn.proj(ref), atol=1e-5)


def test_heads_and_mlp_width_are_read_from_weight_shapes(corpus, tmp_path):
    model = tiny(corpus)
    block = model.blocks[0]
    hd = block.attn.head_dim
    keep = torch.cat([torch.arange(0, hd) + part * 2 * hd for part in range(3)])  # head 0 of q, k and v
    block.attn.qkv = torch.nn.Linear(32, 3 * hd)
    block.attn.proj = torch.nn.Linear(hd, 32)
    block.mlp.fc = torch.nn.Linear(32, 50)
    block.mlp.proj = torch.nn.Linear(50, 32)
    assert block.attn.n_head == 1 and len(keep) == 3 * hd
    idx = torch.randint(0, corpus.vocab_size, (1, 16))
    out = model.eval()(idx)
    path = save_model(model, tmp_path / "pruned.safetensors")
    again = load_model(path, "cpu")
    assert again.blocks[0].attn.n_head == 1 and again.blocks[0].mlp.fc.out_features == 50
    assert torch.equal(again(idx), out)


def test_save_load_round_trip_with_tied_head(corpus, tmp_path):
    model = tiny(corpus, tie_head=True)
    assert model.head.weight is model.tok_emb.weight
    assert param_count(model) == param_count(tiny(corpus)) - corpus.vocab_size * 32  # tied matrix counts once
    path = save_model(model, tmp_path / "m.safetensors", metadata={"note": "hi"})
    again = load_model(path, "cpu")
    assert again.head.weight is again.tok_emb.weight
    assert read_metadata(path)["note"] == "hi"
    idx = torch.randint(0, corpus.vocab_size, (2, 8))
    assert torch.equal(again(idx), model.eval()(idx))
    assert stored_bytes(model) == 4 * param_count(model) and stored_bytes(model, 2) == 2 * param_count(model)


def test_evaluate_is_deterministic_matches_manual_loss_and_keeps_mode(corpus):
    model = tiny(corpus).train()
    cfg = EvalConfig(max_windows=1)
    a, b = evaluate(model, "val", cfg), evaluate(model, "val", cfg)
    assert a == b and a.n_tokens == 32
    assert model.training  # restored
    window = corpus.val[:33]
    with torch.no_grad():
        logits = model.eval()(window[None, :-1])[0]
    assert a.loss == pytest.approx(F.cross_entropy(logits, window[1:]).item(), rel=1e-5)
    assert a.accuracy == pytest.approx((logits.argmax(-1) == window[1:]).float().mean().item())
    assert a.perplexity == pytest.approx(math.exp(a.loss))
    with pytest.raises(ValueError, match="split"):
        evaluate(model, "test")


def test_train_copies_learns_and_reports(corpus):
    model = tiny(corpus)
    before = copy.deepcopy(model)
    seen = []
    result = train(
        model,
        TrainConfig(steps=30, lr=1e-2, batch_size=8, warmup_steps=2),
        on_step=lambda s, loss: seen.append((s, loss)),
    )
    assert same_state(model, before)  # input untouched
    assert result.model is not model and result.steps_done == 30 == len(result.losses) == len(seen)
    assert all(math.isfinite(x) and x >= 0 for x in result.losses)
    assert sum(result.losses[-5:]) < sum(result.losses[:5])
    assert not result.stopped and not result.diverged


def test_train_stop_and_divergence(corpus):
    model = tiny(corpus)
    stopped = train(model, TrainConfig(steps=10), should_stop=lambda: True)
    assert stopped.stopped and stopped.steps_done == 0
    broken = tiny(corpus)
    with torch.no_grad():
        broken.head.bias.fill_(float("nan"))
    result = train(broken, TrainConfig(steps=10))
    assert result.diverged and result.steps_done == 1 and math.isnan(result.losses[-1])
    with pytest.raises(ValueError, match="steps"):
        TrainConfig(steps=limits().max_train_steps + 1)


def test_generate_is_seeded(corpus):
    model = tiny(corpus)
    a = generate(model, corpus, "The ", max_new_chars=15, seed=3)
    assert a == generate(model, corpus, "The ", max_new_chars=15, seed=3) and len(a) == 15
    greedy = generate(model, corpus, "x", max_new_chars=5, temperature=0)
    assert greedy == generate(model, corpus, "x", max_new_chars=5, temperature=0, seed=9)
    with pytest.raises(ValueError, match="max_new_chars"):
        generate(model, corpus, "x", max_new_chars=0)


def test_measure_latency_reports_positive_time(corpus):
    result = measure_latency(tiny(corpus), context=8, new_tokens=4, repeats=2)
    assert result.ms_per_token > 0 and result.tokens_per_s == pytest.approx(1000 / result.ms_per_token)
    assert result.device == "cpu"


def test_teacher_ships_with_its_recipe_and_reaches_the_accuracy_target():
    meta = read_metadata(TEACHER_PATH)
    assert {"seed", "steps", "seconds", "val_accuracy"} <= meta.keys()
    assert float(meta["val_accuracy"]) >= 0.60
    teacher = load_teacher()
    assert teacher is not load_teacher()  # a fresh copy per call
    assert 500_000 <= param_count(teacher) <= 2_000_000
    assert evaluate(teacher, "val", EvalConfig(max_windows=24)).accuracy >= 0.60


def test_a_pickled_checkpoint_is_refused_not_unpickled(tmp_path):
    import torch as _torch

    pickled = tmp_path / "teacher.pt"
    _torch.save({"weight": _torch.zeros(2)}, pickled)
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        load_model(pickled)


def test_measure_model_is_evaluate_plus_latency(corpus):
    model = tiny(corpus)
    quick = EvalConfig(max_windows=2)
    m = measure_model(model, quick, context=8, new_tokens=2, repeats=1)
    scores = evaluate(model, "val", quick)
    assert (m.accuracy, m.perplexity) == (scores.accuracy, scores.perplexity) and m.ms_per_token > 0
