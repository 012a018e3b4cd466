"""Low-rank compression on the real all-MiniLM-L6-v2 weights, calibrated on real SciFact documents."""

from __future__ import annotations

import copy
import json

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrbench.compression import compress_model, compress_errors  # noqa: E402
from lrbench.compression.lowrank import LowRankLinear, cheaper  # noqa: E402
from lrbench.errors import LrbenchError  # noqa: E402

Q0 = "encoder.layer.0.attention.self.query"


@pytest.fixture(scope="module")
def minilm():
    from neural_helpers import minilm_model

    return minilm_model()


@pytest.fixture(scope="module")
def scifact_texts():
    from conftest import SHARED

    path = SHARED / "beir-scifact" / "corpus.jsonl"
    if not path.exists():
        pytest.skip("../shared/data is not available")
    texts = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            texts.append((doc["title"] + " " + doc["text"]).strip())
            if len(texts) >= 48:
                break
    return texts[:32], texts[32:48]  # calibration, held-out evaluation


def embed(model, tok, texts):
    enc = tok(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * m).sum(1) / m.sum(1), dim=-1)


def test_svd_factored_output_equals_truncated_svd(minilm):
    model, _ = minilm
    dense = model.get_submodule(Q0)
    W, b = dense.weight.detach().double(), dense.bias.detach().double()
    compressed, report = compress_model(copy.deepcopy(model), {"method": "svd", "ratio": 0.5, "targets": [Q0]})
    layer = compressed.get_submodule(Q0)
    assert isinstance(layer, LowRankLinear)
    rank = report["layers"][0]["rank"]
    assert rank == layer.rank and rank % 8 == 0 and rank == 96  # 0.5 * 384*384 / 768
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    W_k = (U[:, :rank] * S[:rank]) @ Vh[:rank]
    x = torch.randn(5, 384, dtype=torch.float64)
    expected = x @ W_k.T + b
    with torch.no_grad():
        got = layer(x.float()).double()
    assert torch.allclose(got, expected, atol=2e-4, rtol=1e-3)
    assert report["params_before"] - report["params_after"] == 384 * 384 - rank * 768
    assert report["linear_flops_per_token_after"] < report["linear_flops_per_token_before"]


def test_afm_and_whiten_agree_on_the_same_calibration(minilm, scifact_texts):
    model, tok = minilm
    calibration, held_out = scifact_texts
    targets = ["encoder.layer.0.*", "encoder.layer.1.*"]
    out = {}
    for method in ("afm", "whiten", "svd"):
        cfg = {"method": method, "ratio": 0.5, "targets": targets,
               "calibration": {"dataset": "real scifact docs", "samples": 32, "max_length": 128}}
        compressed, report = compress_model(copy.deepcopy(model), cfg, tokenizer=tok,
                                            calibration=lambda: calibration)
        assert report["layers_factored"] == 12
        out[method] = embed(compressed, tok, held_out)
    dense = embed(model, tok, held_out)
    cos = {m: float((e * dense).sum(-1).mean()) for m, e in out.items()}
    # same objective (output reconstruction on the same data): near-identical models
    assert float((out["afm"] * out["whiten"]).sum(-1).min()) > 0.999
    # and both recover much more of the dense embedding than data-blind SVD
    assert cos["whiten"] > cos["svd"] + 0.05 and cos["afm"] > cos["svd"] + 0.05


def test_layers_left_dense_where_factoring_is_not_cheaper(minilm):
    model, _ = minilm
    # 384x384 at ratio 0.99: rank 192 -> 192*(384+384) = 384*384, not cheaper
    _, report = compress_model(copy.deepcopy(model), {"method": "svd", "ratio": 0.99,
                                                      "targets": [Q0, "encoder.layer.0.intermediate.dense"]})
    by_name = {layer["name"]: layer for layer in report["layers"]}
    assert not by_name[Q0]["factored"] and "not cheaper" in by_name[Q0]["reason"]
    assert Q0 in report["layers_dense"]
    assert cheaper(190, 384, 384) == (True, True) and cheaper(192, 384, 384) == (False, False)
    # energy 1.0 keeps full rank: never cheaper, every layer stays dense and the model is unchanged
    compressed, report = compress_model(copy.deepcopy(model), {"method": "svd", "energy": 1.0, "targets": [Q0]})
    assert report["layers_factored"] == 0 and report["params_after"] == report["params_before"]
    assert isinstance(compressed.get_submodule(Q0), torch.nn.Linear)


def test_ratio_one_is_the_dense_model(minilm):
    model, _ = minilm
    compressed, report = compress_model(copy.deepcopy(model), {"method": "whiten", "ratio": 1.0,
                                                               "calibration": {"dataset": "x"}})
    assert report["layers_factored"] == 0 and report["calibration"] is None
    assert not any(isinstance(m, LowRankLinear) for m in compressed.modules())


def test_heavy_tail_allocation_spends_the_budget_unevenly(minilm):
    model, _ = minilm
    _, report = compress_model(copy.deepcopy(model), {"method": "svd", "ratio": 0.6, "allocation": "heavy-tail",
                                                      "targets": ["encoder.layer.*"]})
    ranks = {layer["rank"] for layer in report["layers"] if layer["factored"]}
    assert len(ranks) > 3  # not one rank per shape
    assert all(r % 8 == 0 for r in ranks)
    assert report["target_params_after"] <= 0.62 * report["target_params_before"]


@pytest.mark.parametrize("config, key", [
    ({"method": "svd", "ratio": 0}, "compress.ratio"),
    ({"method": "svd", "ratio": 1.5}, "compress.ratio"),
    ({"method": "svd", "ratio": -0.2}, "compress.ratio"),
    ({"method": "asvd", "ratio": 0.5}, "compress.calibration"),
    ({"method": "whiten", "ratio": 0.5}, "compress.calibration"),
    ({"method": "afm", "ratio": 0.5}, "compress.calibration"),
    ({"method": "pca", "ratio": 0.5}, "compress.method"),
    ({"method": "svd"}, "compress.ratio"),
    ({"method": "svd", "ratio": 0.5, "rtio": 1}, "compress.rtio"),
])
def test_bad_configs_are_errors(minilm, config, key):
    model, _ = minilm
    with pytest.raises(LrbenchError) as info:
        compress_model(copy.deepcopy(model), config)
    assert info.value.key == key
    assert info.value.hint


def test_glob_matching_nothing_is_an_error(minilm):
    model, _ = minilm
    with pytest.raises(LrbenchError, match="matches no Linear") as info:
        compress_model(copy.deepcopy(model), {"method": "svd", "ratio": 0.5, "targets": ["*self_attn*"]})
    assert "encoder.layer.0" in info.value.hint


def test_ratio_sweep_list_is_valid_in_a_suite_block():
    from lrbench.suites.cells import expand_system
    from lrbench.suites.schema import SystemSpec

    def problems(ratio):
        system = SystemSpec(name="e", type="embedder", compress={"method": "svd", "ratio": ratio})
        return [e for _, _, block in expand_system(system) for e in compress_errors(block)]

    assert not problems([1.0, 0.8, 0.6])
    (problem,) = problems([0.8, 0])
    assert problem.key == "compress.ratio" and "(0, 1]" in problem.message


def test_compressed_weights_are_cached(minilm, tmp_path):
    model, tok = minilm
    cfg = {"method": "svd", "ratio": 0.4, "targets": ["encoder.layer.5.*"]}
    first, report1 = compress_model(copy.deepcopy(model), cfg, cache_dir=tmp_path)
    second, report2 = compress_model(copy.deepcopy(model), cfg, cache_dir=tmp_path)
    assert not report1["cache_hit"] and report2["cache_hit"]
    assert report1["cache_key"] == report2["cache_key"]
    assert sorted(p.name for p in (tmp_path / "compressed").iterdir()) == [report1["cache_key"]]
    x = tok(["a short query about proteins"], return_tensors="pt")
    with torch.inference_mode():
        assert torch.equal(first(**x).last_hidden_state, second(**x).last_hidden_state)
    _, report3 = compress_model(copy.deepcopy(model), {**cfg, "ratio": 0.3}, cache_dir=tmp_path)
    assert report3["cache_key"] != report1["cache_key"]


def test_damaged_compressed_weights_are_factored_again(minilm, tmp_path, capsys):
    model, tok = minilm
    cfg = {"method": "svd", "ratio": 0.4, "targets": ["encoder.layer.5.*"]}
    first, report1 = compress_model(copy.deepcopy(model), cfg, cache_dir=tmp_path)
    weights = tmp_path / "compressed" / report1["cache_key"] / "weights.pt"
    data = bytearray(weights.read_bytes())
    data[-len(data) // 3] ^= 0x01  # inside a tensor: torch.load would read it without complaint
    weights.write_bytes(bytes(data))
    capsys.readouterr()
    key = report1["cache_key"]
    for old in (f"{key}.pt", f"{key}.json"):  # the same entry in the former layout, never read
        (tmp_path / "compressed" / old).write_bytes(b"old")
    again, report2 = compress_model(copy.deepcopy(model), cfg, cache_dir=tmp_path)
    assert not report2["cache_hit"]
    assert f"{weights.parent} is damaged (weights.pt does not match its sha256), rebuilding" in capsys.readouterr().err
    x = tok(["a short query about proteins"], return_tensors="pt")
    with torch.inference_mode():
        assert torch.equal(first(**x).last_hidden_state, again(**x).last_hidden_state)
    assert compress_model(copy.deepcopy(model), cfg, cache_dir=tmp_path)[1]["cache_hit"]
    assert sorted(p.name for p in (tmp_path / "compressed").iterdir()) == [key]  # the former layout removed


def test_a_ratio_sweep_decomposes_once_per_compressor(minilm):
    """The decomposition cache belongs to a compressor: the second ratio reuses the first's factors (same result as
    decomposing afresh); another compressor starts empty."""
    from lrbench.compression.lowrank import LowRankCompressor, compress_model as factor

    model, tok = minilm
    cfg = {"method": "svd", "targets": ["encoder.layer.4.*"]}
    sweep = LowRankCompressor()
    factor(copy.deepcopy(model), {**cfg, "ratio": 0.5}, compressor=sweep)
    reused, report = factor(copy.deepcopy(model), {**cfg, "ratio": 0.3}, compressor=sweep)
    assert sweep.decompositions.hits == 1 and len(sweep.decompositions.entries) == 1
    fresh_compressor = LowRankCompressor()
    fresh, fresh_report = factor(copy.deepcopy(model), {**cfg, "ratio": 0.3}, compressor=fresh_compressor)
    assert fresh_compressor.decompositions.hits == 0
    assert report["layers"] == fresh_report["layers"] and report["layers_factored"] > 0
    x = tok(["a short query about proteins"], return_tensors="pt")
    with torch.inference_mode():
        assert torch.equal(reused(**x).last_hidden_state, fresh(**x).last_hidden_state)
    factor(copy.deepcopy(model), {**cfg, "method": "svd", "ratio": 0.5, "alpha": 0.25}, compressor=sweep)
    assert sweep.decompositions.hits == 1  # another decomposition key: decomposed again, the old one dropped


def test_heal_trains_only_the_factored_layers(minilm, scifact_texts):
    model, tok = minilm
    calibration, _ = scifact_texts
    cfg = {"method": "svd", "ratio": 0.5, "targets": ["encoder.layer.0.*"],
           "calibration": {"dataset": "x", "samples": 8, "max_length": 32},
           "heal": {"steps": 3, "lr": 1e-4, "batch_size": 4}}
    healed, report = compress_model(copy.deepcopy(model), cfg, tokenizer=tok, calibration=lambda: calibration[:8])
    assert report["heal"]["steps"] == 3
    plain, _ = compress_model(copy.deepcopy(model), {k: v for k, v in cfg.items() if k != "heal"})
    healed_params, plain_params = dict(healed.named_parameters()), dict(plain.named_parameters())
    changed = {n for n in healed_params if not torch.equal(healed_params[n], plain_params[n])}
    assert changed and all(".first." in n or ".second." in n for n in changed)


def test_suite_reports_compress_errors_with_file_and_line(tmp_path):
    from lrbench.plan import load_suite

    suite = tmp_path / "bad.yaml"
    suite.write_text("name: bad\ndatasets:\n  - id: irds:cranfield\nsystems:\n  - name: e\n    type: embedder\n"
                     "    params: {model: sentence-transformers/all-MiniLM-L6-v2}\n"
                     "    compress:\n      method: whiten\n      ratio: [0.8, 1.5]\n")
    loaded = load_suite(suite, strict=False)
    messages = [e.one_line() for e in loaded.errors]
    assert any("ratio must be a number in (0, 1]" in m and "bad.yaml:" in m for m in messages)
    assert any("needs calibration" in m for m in messages)
