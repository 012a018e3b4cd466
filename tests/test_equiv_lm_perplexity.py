"""lm-perplexity equals lm-eval's rolling loglikelihood and the transformers guide's strided loop within 1e-4
relative (SmolLM2-135M, ~1,500 characters of WikiText-2 test, small windows; 20,000 characters at context
1024 in benchmarks/equivalence.py). See tests/equiv/lm_perplexity.py for how the windows correspond."""

from __future__ import annotations

import pytest

pytest.importorskip("lm_eval")
pytest.importorskip("gguf")

from equiv.lm_perplexity import (  # noqa: E402
    aligned_chars, guide_perplexity, lm_eval_perplexity, load_model, lrbench_perplexity, relative)

WINDOW = 64


def test_perplexity_equals_lm_eval_and_the_guide_loop(shared, tmp_path):
    model, tokenizer = load_model()
    chars = aligned_chars(tokenizer, 1500, WINDOW)

    theirs = lm_eval_perplexity(model, tokenizer, chars, max_length=WINDOW)
    ours = lrbench_perplexity(tmp_path / "a", chars, context=WINDOW + 1, stride=WINDOW)
    assert ours["tokens"] == theirs["tokens"] > 300
    assert relative(ours, theirs) <= 1e-4, (ours, theirs)
    # A shifted window fails it: lm-eval with one token less per window.
    assert relative(ours, lm_eval_perplexity(model, tokenizer, chars, max_length=WINDOW - 1)) > 1e-4

    strided = lrbench_perplexity(tmp_path / "b", chars, context=2 * WINDOW, stride=WINDOW // 2)
    guide = guide_perplexity(model, tokenizer, chars, context=2 * WINDOW, stride=WINDOW // 2)
    assert relative(strided, guide) <= 1e-4, (strided, guide)
    assert relative(strided, guide_perplexity(model, tokenizer, chars, context=2 * WINDOW, stride=WINDOW)) > 1e-4
