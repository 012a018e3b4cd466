"""benchmarks/mfu_gpu.py: the peak read from a card's name, and the FLOPs its FIRST part divides by (one prompt pass
and one cached step, counted by lrbench's FlopMeter) against torch's FlopCounterMode."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from neural_helpers import SMOLLM
from test_cost_flops import flop_counter  # noqa: F401  (fixture)

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("mfu_gpu", ROOT / "benchmarks" / "mfu_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_peak_is_read_from_the_card_name():
    mfu = bench()
    assert mfu.peak_tflops("NVIDIA H100 80GB HBM3") == 989.0  # the SXM card, as nvidia-smi names it
    assert mfu.peak_tflops("NVIDIA H200") == 989.0
    assert mfu.peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert mfu.peak_tflops("NVIDIA A100-SXM4-80GB") == 312.0
    assert mfu.peak_tflops("NVIDIA GeForce RTX 4090") is None


def tiny_smollm(mfu):
    """SmolLM2-135M-Instruct's tokenizer and config, shrunk to 2 small layers, random weights."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from lrbench.models import resolve

    folder = resolve(SMOLLM).path
    config = AutoConfig.from_pretrained(folder)
    config.update(dict(num_hidden_layers=2, hidden_size=64, intermediate_size=128, num_attention_heads=4,
                       num_key_value_heads=2, head_dim=16))
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config).eval()
    return mfu.loaded_model("causal-lm", model, AutoTokenizer.from_pretrained(folder), "cpu", torch.float32, 8192)


def first_flops(mfu, loaded, stage: Path) -> int:
    from lrbench.runners.cost import Cost
    from lrbench.runners.llm.listwise import ListwiseRunner, greedy_first
    from lrbench.runners.neural.llm import logits_after_first_token
    from lrbench.runners.neural.profile import Stopwatch

    runner = ListwiseRunner({"model": "random-init", "recipe": "first", "window": 3, "stride": 3})
    corpus = mfu.read_corpus(stage)
    prompts = [runner._prompt(loaded, q, mfu.passages_for(i, corpus, 3))
               for i, q in enumerate(mfu.read_queries(stage, 2))]
    assert len(set(map(len, prompts))) == 2  # left padding is counted too
    cost = Cost()
    with loaded.charging(cost):
        logits_after_first_token(loaded, prompts, 2, lambda first: greedy_first(first, loaded.tokenizer.eos_token_id),
                                 True, Stopwatch())
    assert cost.calls == 2  # the prompt pass and the cached step
    return cost.flops


def test_first_prompt_pass_and_cached_step_flops_equal_the_flop_counter(shared, flop_counter, monkeypatch):  # noqa: F811
    mfu = bench()
    loaded = tiny_smollm(mfu)
    assert first_flops(mfu, loaded, shared / "beir-scifact") == pytest.approx(flop_counter[-1], rel=1e-9)

    # perturbation: a meter that forgets the cache (the step attends to its own token only) must disagree
    from lrbench.runners.neural.flops import FlopMeter

    forward = FlopMeter._forward

    def without_cache(self, module, args, kwargs):
        return forward(self, module, args, {k: v for k, v in kwargs.items()
                                            if k not in ("past_key_values", "cache", "attention_mask")})

    monkeypatch.setattr(FlopMeter, "_forward", without_cache)
    loaded = tiny_smollm(mfu)
    assert first_flops(mfu, loaded, shared / "beir-scifact") != pytest.approx(flop_counter[-1], rel=1e-9)
