"""Measures of every task kind: canonical name, direction and aggregation, in one place.

Ranking measures are ir-measures objects (`nDCG@10`, `RR(rel=2)@10`; the canonical name is ir-measures' own
string) and are means of per-query values. Classification and language-modelling measures are computed over
the whole split (corpus-level); their per-example values (`accuracy`/`abs_error` per example, `perplexity`
per window) are kept for significance tests. Everything that names, orders or compares measures (evaluators,
leaderboard, report, compare, gate, suite validation) asks this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from lrbench.errors import LrbenchError

Aggregation = Literal["mean", "corpus"]


@dataclass(frozen=True)
class Measure:
    name: str  # canonical: the string stored in perquery/scores.parquet
    task: str
    higher_is_better: bool = True
    aggregation: Aggregation = "mean"

    def better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b


def _table(task: str, entries: list[tuple[str, bool, Aggregation]], synonyms: dict[str, str]) -> dict[str, Measure]:
    out = {name.lower(): Measure(name, task, higher, agg) for name, higher, agg in entries}
    out.update({alias: out[target.lower()] for alias, target in synonyms.items()})
    return out


#: classification (GLUE, MTEB): corpus-level scores; accuracy / abs_error are also the per-example values
CLASSIFICATION = _table("classification", [
    ("accuracy", True, "corpus"), ("F1", True, "corpus"), ("macro-F1", True, "corpus"), ("MCC", True, "corpus"),
    ("Pearson", True, "corpus"), ("Spearman", True, "corpus"),
], {"acc": "accuracy", "f1_macro": "macro-F1", "macro_f1": "macro-F1", "matthews": "MCC", "pearsonr": "Pearson",
    "spearmanr": "Spearman"})

#: language modelling: from summed NLL over all windows, never a mean of window values
LANGUAGE_MODELLING = _table("lm", [
    ("perplexity", False, "corpus"), ("word_perplexity", False, "corpus"), ("bits_per_byte", False, "corpus"),
    ("nll", False, "corpus"),
], {"ppl": "perplexity", "token_perplexity": "perplexity", "word_ppl": "word_perplexity",
    "word-perplexity": "word_perplexity", "bpb": "bits_per_byte", "bits-per-byte": "bits_per_byte"})

_TABLES = {"classification": CLASSIFICATION, "lm": LANGUAGE_MODELLING}

#: per-example values that are not suite measures themselves (regression tasks' absolute error)
PER_ITEM = {"abs_error": Measure("abs_error", "classification", False, "mean")}

#: what each task kind shows when neither the dataset nor the suite names measures
DEFAULT_MEASURES = {"ranking": ["nDCG@10"], "classification": ["accuracy"],
                    "lm": ["perplexity", "word_perplexity", "bits_per_byte"]}


@lru_cache(maxsize=512)
def _ranking(text: str) -> Measure:
    import ir_measures

    try:
        parsed = ir_measures.parse_measure(text)
    except Exception as exc:
        raise LrbenchError(f"ir-measures cannot parse measure '{text}' ({exc})".replace("\n", " "),
                           key="measures", hint="use ir-measures syntax, e.g. nDCG@10, RR(rel=2)@10, AP(rel=2), "
                                                "R@100") from None
    _require_provider(parsed, text)
    return Measure(str(parsed), "ranking", True, "mean")


def _require_provider(parsed, text: str) -> None:
    """A measure ir-measures parses but no installed provider computes would fail every measure of its cell."""
    import ir_measures

    providers = getattr(ir_measures.DefaultPipeline, "providers", None)
    if providers is None:
        return
    if any(_safe(lambda p=p: p.is_available() and p.supports(parsed)) for p in providers):
        return
    others = [p.NAME for p in providers if _safe(lambda p=p: p.supports(parsed))]
    raise LrbenchError(f"no installed ir-measures provider computes '{text}'", key="measures",
                       hint=(f"install one that does ({', '.join(others)}: pip install ir-measures[{others[0]}])"
                             if others else "drop the measure") + " or remove it from the suite")


def _safe(check) -> bool:
    try:
        return bool(check())
    except Exception:  # a provider that cannot even answer does not compute the measure
        return False


def measure(text: str, task: str = "ranking") -> Measure:
    """The measure a suite's string names for a task kind; LrbenchError when the task has no such measure."""
    if task == "ranking":
        return _ranking(text)
    table = _TABLES.get(task)
    if table is None:
        raise LrbenchError(f"no measures are known for task kind '{task}'", key="measures")
    found = table.get(text.strip().lower())
    if found is None:
        names = list(dict.fromkeys(m.name for m in table.values()))
        raise LrbenchError(f"unknown {_TASK_NAMES.get(task, task)} measure '{text}'", key="measures",
                           hint=f"use {', '.join(names)}")
    return found


_TASK_NAMES = {"classification": "classification", "lm": "language-modelling"}


def canonical(text: str, task: str = "ranking") -> str:
    """The stored name of a measure; unknown names pass through unchanged (old folders, custom evaluators)."""
    try:
        return measure(text, task).name
    except LrbenchError:
        return text


def lookup(name: str) -> Measure | None:
    """A measure found by name alone, whatever its task (for folders whose cells do not say)."""
    for table in (*_TABLES.values(), PER_ITEM):
        if name.strip().lower() in table:
            return table[name.strip().lower()]
    try:
        return _ranking(name)
    except LrbenchError:
        return None


def cutoff(name: str) -> int | None:
    """A ranking measure's cutoff (`R@100` -> 100); None for measures without one and other task kinds."""
    found = lookup(name)
    if found is None or found.task != "ranking":
        return None
    import ir_measures

    value = ir_measures.parse_measure(found.name).params.get("cutoff")
    return int(value) if value is not None else None


def judged_at(measures: list[str]) -> list[str]:
    """`Judged@k` (the share of each query's top k that the qrels judge) for every cutoff the ranking measures
    use: a reranker that lifts unjudged documents loses nDCG@k to holes in the qrels, and this shows it."""
    cutoffs = dict.fromkeys(k for k in (cutoff(m) for m in measures) if k is not None)
    return [f"Judged@{k}" for k in cutoffs]


def higher_is_better(name: str, task: str | None = None) -> bool:
    found = None
    if task is not None:
        try:
            found = measure(name, task)
        except LrbenchError:
            found = None
    found = found or lookup(name)
    return found.higher_is_better if found else True
