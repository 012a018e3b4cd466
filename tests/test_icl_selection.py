"""DQ-LoRe's pieces against scikit-learn and a direct cosine search, on real embeddings of GLUE SST-2 dev."""

from __future__ import annotations

import numpy as np
import pytest

from lrbench.runners.tasks.icl_selection import dq_lore, knn, pca_project


@pytest.fixture(scope="module")
def embeddings():
    """TF-IDF rows of the first 120 SST-2 dev sentences (real text, no model needed)."""
    from conftest import SHARED
    from sklearn.feature_extraction.text import TfidfVectorizer

    path = SHARED / "glue-dev" / "SST-2.dev.tsv"
    if not path.exists():
        pytest.skip("../shared/data is not available")
    lines = path.read_text(encoding="utf-8").splitlines()[1:121]
    sentences = [line.split("\t")[0] for line in lines]
    return TfidfVectorizer(max_features=300).fit_transform(sentences).toarray()


def test_pca_projection_equals_scikit_learn_up_to_sign(embeddings):
    from sklearn.decomposition import PCA

    ours = pca_project(embeddings, 8)
    theirs = PCA(n_components=8, svd_solver="full").fit_transform(embeddings)
    signs = np.sign((ours * theirs).sum(axis=0))
    assert np.all(signs != 0)
    assert np.allclose(ours * signs, theirs, atol=1e-8)
    # without centring (a plain truncated SVD) the projection is not PCA's
    _, _, vt = np.linalg.svd(embeddings, full_matrices=False)
    uncentred = embeddings @ vt[:8].T
    assert not np.allclose(uncentred * np.sign((uncentred * theirs).sum(axis=0)), theirs, atol=1e-3)


def test_knn_order_equals_a_direct_cosine_search(embeddings):
    query, pool = embeddings[0], embeddings[1:]
    direct = [float(pool[i] @ query / (np.linalg.norm(pool[i]) * np.linalg.norm(query) + 1e-300) if
                    np.linalg.norm(pool[i]) else 0.0) for i in range(len(pool))]
    expected = sorted(range(len(pool)), key=lambda i: (-direct[i], i))[:10]
    assert knn(query, pool, 10).tolist() == expected
    assert knn(query, pool, 10).tolist() != sorted(range(len(pool)), key=lambda i: (direct[i], i))[:10]


def test_dq_lore_reranks_within_the_top_n(embeddings):
    query, pool = embeddings[0], embeddings[1:]
    top = knn(query, pool, 16)
    chosen = dq_lore(query, pool, k=4, n=16, rank=4)
    assert len(chosen) == 4 and set(chosen) <= set(top)
    from sklearn.decomposition import PCA

    projected = PCA(n_components=4, svd_solver="full").fit_transform(np.vstack([query[None, :], pool[top]]))
    cos = projected[1:] @ projected[0] / np.linalg.norm(projected[1:], axis=1) / np.linalg.norm(projected[0])
    assert chosen.tolist() == top[np.argsort(-cos, kind="stable")[:4]].tolist()
    # the low-rank re-ranking changes the choice for some SST-2 queries (it is not plain kNN)
    changed = sum(set(dq_lore(embeddings[i], pool, 4, 16, 4)) != set(knn(embeddings[i], pool, 4)) for i in range(20))
    assert changed > 0
