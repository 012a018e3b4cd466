"""sparse-encoder mechanics without a model: the inverted index's top-k, SPLADE pooling, params errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from lrbench.errors import LrbenchError
from lrbench.runners.registry import get_runner
from lrbench.runners.retrieval.sparse_encoder import SparseIndex, splade_pool


def test_index_top_k_is_the_dense_dot_product_order_without_non_matching_documents():
    docs = sp.random(50, 200, density=0.05, random_state=1, format="csr", dtype=np.float32)
    queries = sp.random(4, 200, density=0.05, random_state=2, format="csr", dtype=np.float32)
    index = SparseIndex(docs)
    assert index.total_postings == docs.nnz and index.postings.shape == (200, 50)
    dense = queries.toarray() @ docs.toarray().T
    for row, (idx, scores) in enumerate(index.search(queries, 5)):
        matching = np.flatnonzero(dense[row] > 0)
        assert len(idx) == min(5, len(matching))
        assert set(idx) <= set(matching)  # documents sharing no term are never returned
        assert np.allclose(scores, np.sort(dense[row])[::-1][: len(idx)], rtol=1e-5)
    assert index.scored == int((dense > 0).sum())


def test_index_breaks_ties_by_document_row():
    docs = sp.csr_matrix(np.array([[0, 1.0], [0, 1.0], [1.0, 0], [0, 1.0]], dtype=np.float32))
    idx, scores = SparseIndex(docs).search(sp.csr_matrix(np.array([[0, 2.0]], dtype=np.float32)), 2)[0]
    assert idx.tolist() == [0, 1] and scores.tolist() == [2.0, 2.0]


def test_splade_pool_max_masks_padding_and_equals_log1p_relu_then_max():
    import torch

    logits = torch.tensor([[[1.0, -2.0, 0.5], [3.0, -1.0, 0.2], [9.0, 9.0, 9.0]]])  # third token is padding
    mask = torch.tensor([[1, 1, 0]])
    expected = torch.log1p(torch.relu(logits[:, :2])).amax(dim=1)
    assert torch.allclose(splade_pool(logits.clone(), mask, "max"), expected)
    assert torch.allclose(splade_pool(logits.clone(), mask, "sum"), torch.log1p(torch.relu(logits[:, :2])).sum(dim=1))
    assert splade_pool(logits.clone(), mask, "max")[0, 1] == 0  # a term no real token predicts stays zero


def test_bad_params_are_one_line_naming_the_key():
    cls = get_runner("sparse-encoder")
    with pytest.raises(LrbenchError) as err:
        cls({"model": "rasyosef/splade-tiny", "pooling": "mean"})
    assert err.value.key == "params.pooling"
    with pytest.raises(LrbenchError) as err:
        cls({"model": "rasyosef/splade-tiny", "token_budget": 1})
    assert err.value.key == "params.token_budget"
