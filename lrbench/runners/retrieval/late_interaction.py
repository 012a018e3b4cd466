"""`late-interaction`: ColBERT-style MaxSim reranking over the token embeddings of a BERT-family encoder.

score(q, d) = sum over query tokens i of max over document tokens j of cos(q_i, d_j) (Khattab & Zaharia,
2020), with the token embeddings taken from the encoder's last hidden state (L2-normalised). Query and
document markers are configurable: a marker that is a single vocabulary token (ColBERT's `[unused0]` /
`[unused1]`) is inserted right after [CLS]; any other string is prepended to the text. `query_augment: N`
pads queries with [MASK] tokens to N tokens, as ColBERT does. Candidates' token embeddings are cached on
disk under the run cache (one checked entry per distinct passage text), keyed by model, revision, max length,
marker, dtype and compression, so a second reranker of the same candidates does not re-encode them; each entry
keeps its share of the FLOPs, calls and tokens that encoded it, charged again when it is read, so a run's cost does
not depend on what the cache held.

The encoder here is used zero-shot (e.g. all-MiniLM-L6-v2 was trained for mean pooling, not MaxSim):
numbers measure that protocol, not a trained ColBERT checkpoint.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

from pydantic import Field

from lrbench.checked_cache import publish_checked, read_checked
from lrbench.runners.base import Output, RunContext
from lrbench.runners.cost import Cost, stored
from lrbench.runners.neural.base import NeuralParams, NeuralRunner
from lrbench.runners.neural.batching import length_batches, pad_batch
from lrbench.suites.cells import canonical_json
from lrbench.datasets.base import digest


class LateInteractionParams(NeuralParams):
    query_marker: str = Field("", description="'[unused0]' (ColBERT) inserts that token after [CLS]; "
                                               "other strings are prepended to the query text")
    doc_marker: str = Field("", description="as query_marker, for passages ('[unused1]' in ColBERT)")
    query_augment: int | None = Field(None, ge=1, description="pad queries with [MASK] to this many tokens")
    query_max_length: int = Field(64, ge=4)
    skip_punctuation: bool = Field(True, description="drop passage tokens that are punctuation (ColBERT)")
    cache: bool = Field(True, description="cache candidate token embeddings on disk")


class LateInteractionRunner(NeuralRunner):
    """Late interaction (ColBERT MaxSim) over an encoder's token embeddings, reranking an input run."""

    type = "late-interaction"
    version = "2"
    model_kind = "embedder"
    needs_input = True
    Params = LateInteractionParams

    def __init__(self, params):
        super().__init__(params)
        self.reset_counters()

    def run(self, dataset, inputs, ctx: RunContext) -> Output:
        self._ctx = ctx
        self.reset_counters()
        return self.rerank(dataset, inputs, ctx, self._score, "late interaction")

    def prepare(self, loaded) -> None:
        tok = loaded.tokenizer
        self._qmark = self._marker(tok, self.params.query_marker)
        self._dmark = self._marker(tok, self.params.doc_marker)
        self._punct = set()
        if self.params.skip_punctuation:
            for ch in string.punctuation:
                ids = tok(ch, add_special_tokens=False)["input_ids"]
                if len(ids) == 1:
                    self._punct.add(ids[0])
        self._cache_folder = None
        if self.params.cache:
            parts = {"model": loaded.resolved.model_id, "revision": loaded.resolved.revision,
                     "max_length": loaded.max_length, "doc_marker": self.params.doc_marker,
                     "skip_punctuation": self.params.skip_punctuation, "dtype": str(loaded.dtype),
                     "compress": self._ctx.compress_json(), "encoder": "late-interaction-v2"}
            self._cache_folder = Path(self._ctx.cache_dir) / "token-embeddings" / digest(canonical_json(parts))[:24]

    def reset_counters(self) -> None:
        self.cache_hits = self.cache_misses = 0
        self.doc_tokens = self.query_tokens = 0

    @staticmethod
    def _marker(tokenizer, marker: str):
        """('id', token id) for a single-token marker, ('text', prefix) otherwise, None when empty."""
        if not marker:
            return None
        token_id = tokenizer.convert_tokens_to_ids(marker)
        if token_id is not None and token_id != tokenizer.unk_token_id:
            return ("id", token_id)
        return ("text", marker if marker.endswith(" ") else marker + " ")

    def _ids(self, loaded, texts, marker, max_length):
        prefix = marker[1] if marker and marker[0] == "text" else ""
        budget = max_length - (1 if marker and marker[0] == "id" else 0)
        enc = loaded.tokenize([prefix + t for t in texts], budget)
        ids = enc["input_ids"]
        if marker and marker[0] == "id":
            ids = [s[:1] + [marker[1]] + s[1:] for s in ids]
        return ids

    def token_embeddings(self, loaded, ids: list[list[int]], keep_mask: bool = False):
        """Per sequence, its L2-normalised token embeddings [n_tokens, dim] (float32 numpy)."""
        import torch

        out = [None] * len(ids)
        with torch.inference_mode():
            for batch in length_batches([len(s) for s in ids], self.params.batch_size, self.params.bucket):
                t = pad_batch([ids[i] for i in batch], loaded.pad_id, "right")
                t = {k: v.to(loaded.device) for k, v in t.items()}
                hidden = loaded.model(**t).last_hidden_state.float()
                hidden = torch.nn.functional.normalize(hidden, p=2, dim=-1).cpu().numpy()
                for row, i in enumerate(batch):
                    out[i] = hidden[row, : len(ids[i])]
        return out

    def _query(self, loaded, query: str):
        p: LateInteractionParams = self.params
        ids = self._ids(loaded, [query], self._qmark, p.query_max_length)[0]
        if p.query_augment and len(ids) < p.query_augment and loaded.tokenizer.mask_token_id is not None:
            ids = ids + [loaded.tokenizer.mask_token_id] * (p.query_augment - len(ids))
        self.query_tokens += len(ids)
        return self.token_embeddings(loaded, [ids])[0], len(ids)

    def _cache_entry(self, text: str) -> Path:
        """The passage's cache folder: its `emb.npy` and the manifest that checks it (lrbench.checked_cache)."""
        name = hashlib.sha256(text.encode()).hexdigest()[:32]
        return self._cache_folder / name[:2] / name

    def documents(self, loaded, docs: list[str], watch: Cost):
        """Token embeddings of passages (punctuation dropped), from the disk cache when present. `watch` is
        charged what encoding them costs: the batches run now, plus each cached passage's stored share."""
        import numpy as np

        out: list = [None] * len(docs)
        todo = []
        for i, text in enumerate(docs):
            meta = read_checked(self._cache_entry(text)) if self._cache_folder is not None else None
            share = stored((meta or {}).get("cost"))
            if share is not None:
                out[i] = np.load(self._cache_entry(text) / "emb.npy")
                watch.merge(share)
                self.cache_hits += 1
            else:
                todo.append(i)
        if todo:
            ids = self._ids(loaded, [docs[i] for i in todo], self._dmark, loaded.max_length)
            before = watch.totals()
            embs = self.token_embeddings(loaded, ids)
            shares = watch.shares_of(before, len(todo), [len(seq) for seq in ids])
            charged = any(share.calls for share in shares)  # the warm-up runs uncharged: its cost is unknown
            for i, seq, emb, share in zip(todo, ids, embs, shares):
                keep = np.asarray([t not in self._punct for t in seq], dtype=bool)
                emb = np.ascontiguousarray(emb[keep] if keep.any() else emb)
                out[i] = emb
                self.cache_misses += 1
                if self._cache_folder is not None and charged:
                    publish_checked(self._cache_entry(docs[i]), lambda tmp: np.save(tmp / "emb.npy", emb),
                                    {"cost": share.as_usage()})
        self.doc_tokens += sum(len(e) for e in out)
        return out

    def _score(self, loaded, query: str, docs: list[str], watch):
        q, n_q = self._query(loaded, query)
        embs = self.documents(loaded, docs, watch)
        watch.tokens += n_q + sum(len(e) for e in embs)
        return [maxsim(q, d) for d in embs]

    def extra_profile(self) -> dict:
        p: LateInteractionParams = self.params
        return {"query_marker": p.query_marker, "doc_marker": p.doc_marker, "query_augment": p.query_augment,
                "token_cache_hits": self.cache_hits, "token_cache_misses": self.cache_misses,
                "doc_tokens": self.doc_tokens, "query_tokens": self.query_tokens,
                "token_cache": str(self._cache_folder) if self._cache_folder else None}


def maxsim(q, d) -> float:
    """ColBERT's late interaction: sum over query tokens of the best cosine with any passage token."""
    return float((q @ d.T).max(axis=1).sum())
