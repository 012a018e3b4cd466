"""Which queries or examples a `queries_limit` keeps: `queries_sample: first | random | stratified`.

The first N rows of a file are a fair sample only when the file is in no particular order. Classification
files often are sorted by label (Banking77's test split: 300 first rows hold 8 of its 77 classes), so a
classification subset is stratified by label by default: each label keeps its share of the split (largest
remainders, ties broken by the seed), the rows drawn at random within it with `queries_seed`, and kept in file
order. Ranking queries carry no label: their default is the first N judged queries (qrels order, the
convention of quick runs elsewhere), `random` draws N with the seed. The choice and the seed are part of the
dataset fingerprint, so another subset is another cell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from lrbench.errors import LrbenchError

if TYPE_CHECKING:
    import pandas as pd

KEY = "datasets.queries_sample"


def sample_method(spec, task: str) -> str:
    """The suite's `queries_sample`, else stratified for labelled examples and first for ranking queries."""
    if spec.queries_sample:
        return spec.queries_sample
    return "stratified" if task == "classification" else "first"


def subset_identity(spec, task: str) -> str:
    """What fingerprints hash for the subset: the limit alone for `first` (as before the option existed)."""
    method = sample_method(spec, task)
    if not spec.queries_limit or method == "first":
        return repr(spec.queries_limit)
    return f"{spec.queries_limit}:{method}:{spec.queries_seed}"


def subset_profile(spec, task: str) -> dict:
    """The subset as the cell's dataset profile records it."""
    if not spec.queries_limit:
        return {}
    method = sample_method(spec, task)
    return {"queries_limit": spec.queries_limit, "queries_sample": method,
            **({"queries_seed": spec.queries_seed} if method != "first" else {})}


def limit_ids(ids: Sequence[str], spec, task: str = "ranking") -> list[str]:
    """The query ids to keep, in their given order."""
    ids = list(dict.fromkeys(ids))
    limit = spec.queries_limit
    if not limit or limit >= len(ids):
        return ids
    method = sample_method(spec, task)
    if method == "stratified":
        raise LrbenchError("queries_sample: stratified needs labels, and ranking queries have none", key=KEY,
                           hint="use first or random for a ranking dataset")
    if method == "first":
        return ids[:limit]
    import numpy as np

    chosen = set(np.random.default_rng(spec.queries_seed).choice(len(ids), size=limit, replace=False).tolist())
    return [q for i, q in enumerate(ids) if i in chosen]


def limit_rows(frame: pd.DataFrame, spec, task: str = "classification", label: str = "label") -> pd.DataFrame:
    """The examples to keep, in file order."""
    limit = spec.queries_limit
    if not limit or limit >= len(frame):
        return frame
    method = sample_method(spec, task)
    if method == "first":
        return frame.iloc[:limit]
    import numpy as np

    rng = np.random.default_rng(spec.queries_seed)
    if method == "random":
        return frame.iloc[np.sort(rng.choice(len(frame), size=limit, replace=False))]
    if label not in frame.columns or frame[label].isna().all():
        raise LrbenchError(f"queries_sample: stratified needs a '{label}' column, and these examples have none",
                           key=KEY, hint="use first or random")
    strata = _strata(frame[label])
    counts = strata.value_counts(sort=False)
    share = counts.to_numpy() * limit / len(frame)
    take = np.floor(share).astype(int)
    order = np.lexsort((rng.random(len(counts)), -(share - take)))  # largest remainders first, seeded ties
    take[order[: limit - take.sum()]] += 1
    positions = []
    for stratum, n in zip(counts.index, take):
        members = np.flatnonzero((strata == stratum).to_numpy())
        positions.extend(rng.choice(members, size=n, replace=False).tolist())
    return frame.iloc[np.sort(positions)]


def _strata(labels: pd.Series) -> pd.Series:
    """Class labels as they are; a regression target (STS scores) in five quantile bins."""
    import pandas as pd

    if pd.api.types.is_float_dtype(labels) and labels.nunique() > 20:
        return pd.qcut(labels, 5, labels=False, duplicates="drop")
    return labels
