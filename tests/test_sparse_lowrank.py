"""Sparse plus low-rank compression (W ~ U V + S) on the real all-MiniLM-L6-v2 weights."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrbench.compression import compress_errors, compress_model  # noqa: E402
from lrbench.compression.layers import LowRankLinear  # noqa: E402
from lrbench.compression.sparse_lowrank import SparseLowRankLinear, layer_cost  # noqa: E402
from lrbench.runners.neural.profile import count_params  # noqa: E402

Q0 = "encoder.layer.0.attention.self.query"
LAYERS = [Q0, "encoder.layer.3.intermediate.dense", "encoder.layer.5.output.dense"]


@pytest.fixture(scope="module")
def minilm():
    from neural_helpers import minilm_model

    return minilm_model()


def slr(rank, sparsity, **extra):
    return {"method": "sparse-lowrank", "rank": rank, "sparsity": sparsity, **extra}


def dense_of(layer) -> torch.Tensor:
    """The layer's effective weight U V + S, rebuilt from what it stores."""
    W = layer.second.weight.detach().double() @ layer.first.weight.detach().double()
    if isinstance(layer, SparseLowRankLinear):
        W = W + layer.sparse().detach().to_dense().double()
    return W


def test_sparsity_zero_is_the_svd_method(minilm):
    model, _ = minilm
    svd, _ = compress_model(copy.deepcopy(model), {"method": "svd", "ratio": 0.5, "targets": [Q0]})
    ours, report = compress_model(copy.deepcopy(model), slr(96, 0.0, targets=[Q0]))
    a, b = svd.get_submodule(Q0), ours.get_submodule(Q0)
    assert type(b) is LowRankLinear and a.rank == b.rank == 96
    for name, tensor in a.state_dict().items():
        assert torch.equal(tensor, b.state_dict()[name]), name
    x = torch.randn(3, 7, 384)
    with torch.no_grad():
        assert torch.equal(a(x), b(x))
    assert report["params_after"] == count_params(ours) == count_params(svd)
    assert report["index_params"] == 0


@pytest.mark.parametrize("rank,sparsity", [(32, 0.01), (64, 0.02), (96, 0.05), (48, 0.2)])
def test_error_never_exceeds_svd_at_the_same_parameter_count(minilm, rank, sparsity):
    model, _ = minilm
    compressed, report = compress_model(copy.deepcopy(model), slr(rank, sparsity, targets=LAYERS))
    assert report["layers_factored"] == len(LAYERS)
    for entry in report["layers"]:
        W = model.get_submodule(entry["name"]).weight.detach().double()
        n_out, n_in = W.shape
        got = (W - dense_of(compressed.get_submodule(entry["name"]))).norm() / W.norm()
        assert abs(float(got) - entry["relative_error"]) < 1e-5  # the report's error is the stored layer's
        # the largest SVD rank that stores no more than this layer does, indices included
        svd_rank = int(entry["params"] // (n_in + n_out))
        assert svd_rank > rank
        sigma = torch.linalg.svdvals(W)
        svd_error = sigma[svd_rank:].pow(2).sum().sqrt() / W.norm()
        assert got < svd_error, (entry["name"], float(got), float(svd_error))


def test_random_support_is_seeded_and_worse_than_magnitude(minilm):
    model, _ = minilm
    errors = {}
    for support, seed in [("magnitude", 0), ("random", 0), ("random", 1)]:
        compressed, report = compress_model(copy.deepcopy(model), slr(64, 0.05, support=support, seed=seed,
                                                                      targets=[Q0]))
        layer = compressed.get_submodule(Q0)
        errors[support, seed] = report["layers"][0]["relative_error"]
        errors[support, seed, "cols"] = layer.col_indices.clone()
    again, _ = compress_model(copy.deepcopy(model), slr(64, 0.05, support="random", seed=0, targets=[Q0]))
    assert torch.equal(again.get_submodule(Q0).col_indices, errors["random", 0, "cols"])
    assert not torch.equal(errors["random", 0, "cols"], errors["random", 1, "cols"])
    # a random support cannot match the residual's largest entries: its error is clearly higher
    assert errors["random", 0] > errors["magnitude", 0] * 1.1
    assert errors["random", 0] != pytest.approx(errors["magnitude", 0], rel=0.05)


def test_parameter_count_equals_a_hand_count():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(20, 12))
    compressed, report = compress_model(copy.deepcopy(model), slr(2, 0.1))
    layer = compressed[0]
    assert isinstance(layer, SparseLowRankLinear) and layer.nnz == 24  # 0.1 * 12 * 20
    # U: 12x2, V: 2x20, bias 12, S: 24 values + 24 int32 column indices + 13 int32 row pointers
    hand = 12 * 2 + 2 * 20 + 12 + 24 + 24 + 13
    assert report["params_after"] == count_params(compressed) == hand == 137
    assert report["params_before"] == 20 * 12 + 12
    assert report["params_ratio"] == pytest.approx(137 / 252)
    assert report["linear_flops_per_token_after"] == 2 * (20 * 2 + 2 * 12) + 2 * 24
    assert layer_cost(2, 24, 20, 12)[0] == hand - 12  # bias left out
    # float16 values: an int32 index costs two parameters
    assert layer_cost(2, 24, 20, 12, torch.float16)[0] == 2 * 32 + 24 + 2 * (24 + 13)


def test_forward_is_x_times_low_rank_plus_sparse_transposed(minilm):
    model, _ = minilm
    compressed, _ = compress_model(copy.deepcopy(model), slr(32, 0.03, targets=[Q0]))
    layer = compressed.get_submodule(Q0)
    x = torch.randn(2, 5, 384, dtype=torch.float64)
    expected = x @ dense_of(layer).T + layer.second.bias.detach().double()
    with torch.no_grad():
        got = layer(x.float()).double()
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)
    # dropping S changes the output: the sparse term is really applied
    with torch.no_grad():
        low_rank_only = LowRankLinear.forward(layer, x.float()).double()
    assert not torch.allclose(low_rank_only, expected, atol=1e-3)


def test_whitened_factor_at_sparsity_zero_is_the_whiten_method(minilm):
    model, tok = minilm
    texts = [f"Protein {i} binds receptor {i % 7} in cells exposed to drug {i % 3}." for i in range(24)]
    whiten, _ = compress_model(copy.deepcopy(model), {"method": "whiten", "ratio": 0.5, "targets": [Q0],
                                                      "calibration": {"dataset": "unused"}},
                               tokenizer=tok, calibration=lambda: texts)
    ours, report = compress_model(copy.deepcopy(model), slr(96, 0.0, factor="whiten", targets=[Q0],
                                                            calibration={"dataset": "unused"}),
                                  tokenizer=tok, calibration=lambda: texts)
    assert report["calibration"] == {"texts": 24}
    a, b = whiten.get_submodule(Q0), ours.get_submodule(Q0)
    assert torch.allclose(dense_of(a), dense_of(b), atol=1e-5)


def test_layer_that_would_not_be_cheaper_stays_dense(minilm):
    model, _ = minilm
    compressed, report = compress_model(copy.deepcopy(model), slr(160, 0.3, targets=[Q0]))
    assert isinstance(compressed.get_submodule(Q0), torch.nn.Linear)
    assert report["layers_factored"] == 0 and "not cheaper" in report["layers"][0]["reason"]
    assert report["params_after"] == report["params_before"]


@pytest.mark.parametrize("block,key", [
    (slr(8, 1.0), "compress.sparsity"),
    (slr(8, -0.1), "compress.sparsity"),
    ({"method": "sparse-lowrank", "sparsity": 0.1}, "compress.rank"),
    (slr(0, 0.1), "compress.rank"),
    (slr(8, 0.1, support="topk"), "compress.support"),
    (slr(8, 0.1, factor="whiten"), "compress.calibration"),
    (slr(8, 0.1, ratio=0.5), "compress.ratio"),
])
def test_bad_blocks_are_errors(block, key):
    problems = compress_errors(block)
    assert problems and problems[0].key == key, [str(p) for p in problems]
    assert compress_errors(slr(8, 0.1)) == []


def test_combined_pareto_has_a_panel_per_folder(tmp_path):
    from PIL import Image

    from lrbench.presentation.pareto import pareto_rows, write_combined_pareto

    folder = __import__("pathlib").Path(__file__).resolve().parents[1] / "benchmarks/results/compression-minilm-ci"
    (wanted, rows), = pareto_rows(folder).values()
    assert wanted == "accuracy" and {r["system"] for r in rows} == {"dense", "whiten"}
    one = write_combined_pareto([folder], tmp_path / "one.png")
    two = write_combined_pareto([folder, folder], tmp_path / "two.png")
    assert Image.open(two).size[0] > 1.8 * Image.open(one).size[0]
