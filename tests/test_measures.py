"""One table of measures for every task kind: canonical names, direction, aggregation; evaluators, leaderboard and
gate agree because they all ask it."""

from __future__ import annotations

import ir_measures
import pytest

from lrbench.errors import LrbenchError
from lrbench.evaluation.measures import canonical, higher_is_better, lookup, measure
from lrbench.evaluation.evaluators import evaluator_for


def test_ranking_names_are_ir_measures_own_strings():
    for text in ("nDCG@10", "RR(rel=2)@10", "AP(rel=2)", "R@100", "P(rel=2)@5"):
        assert measure(text).name == str(ir_measures.parse_measure(text))
        assert measure(text).higher_is_better and measure(text).aggregation == "mean"
    with pytest.raises(LrbenchError) as err:
        measure("nDGC@10")
    assert "nDGC@10" in err.value.message and "nDCG@10" in err.value.hint


def test_task_measures_have_a_direction_and_an_aggregation():
    assert measure("ppl", "lm").name == "perplexity" and not measure("ppl", "lm").higher_is_better
    assert measure("bpb", "lm").aggregation == "corpus"
    assert measure("macro_f1", "classification").name == "macro-F1"
    assert not higher_is_better("abs_error") and higher_is_better("MCC") and not higher_is_better("word_perplexity")
    with pytest.raises(LrbenchError, match="unknown language-modelling measure 'accuracy'"):
        measure("accuracy", "lm")


def test_unknown_names_pass_through_canonical():
    assert canonical("my-custom-score") == "my-custom-score" and lookup("my-custom-score") is None
    assert higher_is_better("my-custom-score")  # the documented default


def test_evaluators_use_the_table():
    for task, text in (("ranking", "NDCG@10"), ("classification", "acc"), ("lm", "word-perplexity")):
        assert evaluator_for(task).canonical(text) == measure(text, task).name
    assert evaluator_for("lm").default_measures == ["perplexity", "word_perplexity", "bits_per_byte"]
