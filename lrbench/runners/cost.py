"""What a run spent, independent of the hardware: FLOPs, model calls, tokens, and the work of non-model stages.

One `Cost` is made per run (per cell) and passed through it; nothing is kept on the runner, so one runner instance
can run two cells without mixing their counts. Model-backed runners get FLOPs, calls and input tokens from the
meter on their loaded model (lrbench.runners.neural.flops), which charges the cost it is given; they add
generated tokens themselves (`cost.add(tokens_out=n)`). Runners without a model count what they touch
(`cost.count("postings_scored", n)`). `profile(queries)` gives the profile fields, totals and per query.

A result kept in a cache (a pairwise answer, a passage's token embeddings) is stored with its share of the batch
that computed it (`shares_of`), and a run that finds it there is charged that share (`stored`): the method's cost
is then the same whether the cache was cold or warm.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Cost:
    flops: int = 0        # forward FLOPs (2 per multiply-add of every matrix product), counted on the real batches
    calls: int = 0        # model invocations: forward passes (local models) or requests (served backends)
    tokens_in: int = 0    # tokens the model read (padding excluded)
    tokens_out: int = 0   # tokens the model generated
    #: any other per-run count (windows, postings_scored, docs_touched, ...), reported as is and per query
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, flops: int = 0, calls: int = 0, tokens_in: int = 0, tokens_out: int = 0) -> None:
        self.flops += int(flops)
        self.calls += int(calls)
        self.tokens_in += int(tokens_in)
        self.tokens_out += int(tokens_out)

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(n)

    def merge(self, other: "Cost") -> None:
        self.add(other.flops, other.calls, other.tokens_in, other.tokens_out)
        for name, n in other.counts.items():
            self.count(name, n)

    def profile(self, queries: int, prefix: str = "") -> dict:
        """Profile fields: totals and per-query figures (`flops_per_query`, `tokens_per_query`, ...).
        `prefix` names another stage's cost (e.g. "corpus_" for the corpus encoding of a first stage)."""
        n = max(1, queries)
        out: dict = {}
        if self.calls or self.flops:
            out.update({f"{prefix}flops": self.flops, f"{prefix}model_calls": self.calls,
                        f"{prefix}tokens_in": self.tokens_in, f"{prefix}tokens_out": self.tokens_out})
            if not prefix:
                out.update({"flops_per_query": self.flops / n, "tokens_per_query": (self.tokens_in + self.tokens_out) / n,
                            "calls_per_query": self.calls / n})
        for name, value in self.counts.items():
            out[f"{prefix}{name}"] = value
            if not prefix:
                out[f"{name}_per_query"] = value / n
        return out

    def totals(self) -> tuple[int, int, int, int]:
        return self.flops, self.calls, self.tokens_in, self.tokens_out

    def as_usage(self) -> dict:
        """The four totals by name, as stored beside a cached result."""
        return dict(zip(COST_FIELDS, self.totals()))

    def shares_of(self, before: tuple[int, int, int, int], rows: int, tokens: list[int]) -> list["Cost"]:
        """What was charged since `before` (a `totals()`), split over the `rows` results of that batch in
        whole numbers that add up to it: FLOPs, calls and generated tokens equally (every row of a padded batch
        costs the same), input tokens by each row's own token count."""
        flops, calls, tokens_in, tokens_out = (now - then for now, then in zip(self.totals(), before))
        equal = [1] * rows
        return [Cost(*cost) for cost in zip(split(flops, equal), split(calls, equal), split(tokens_in, tokens),
                                              split(tokens_out, equal))]


COST_FIELDS = ("flops", "calls", "tokens_in", "tokens_out")


def stored(usage) -> Cost | None:
    """The cost stored beside a cached result; None when missing or not four whole, non-negative numbers."""
    if not isinstance(usage, dict):
        return None
    values = [usage.get(name) for name in COST_FIELDS]
    if not all(type(v) is int and v >= 0 for v in values):
        return None
    return Cost(*values)


def split(total: int, weights: list[int]) -> list[int]:
    """`total` split over rows in proportion to `weights` (equal when they are all 0), in integers that add up to
    it: the remainder goes one apiece to the first rows."""
    if not any(weights):
        weights = [1] * len(weights)
    whole = sum(weights)
    parts = [total * w // whole for w in weights]
    rest = total - sum(parts)
    return [part + (i < rest) for i, part in enumerate(parts)]
