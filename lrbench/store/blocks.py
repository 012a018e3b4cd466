"""Corpus embedding blocks kept in the run store, beside the cells: the unit of sharded encoding.

Layout: ROOT/embeddings/<corpus key>/<start>-<end>.parquet, one file per block of corpus rows
[start, end), columns `doc_id` and `embedding` (fixed-size list of float32). Each file appears in one
step (see store.py), so a block is either whole or absent: a killed shard leaves the blocks it finished,
and the next run encodes only the rest. Workers on any machine that reaches the store (a shared folder,
s3://...) write their shard's blocks here; the cell that searches the corpus reads and merges them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lrbench.store.store import FsspecStore

FOLDER = "embeddings"


@dataclass(frozen=True)
class Block:
    start: int
    end: int

    @property
    def name(self) -> str:
        return f"{self.start:010d}-{self.end:010d}.parquet"


def plan_blocks(n_docs: int, block_docs: int) -> list[Block]:
    """Consecutive blocks of `block_docs` corpus rows (the last one shorter)."""
    return [Block(s, min(s + block_docs, n_docs)) for s in range(0, n_docs, block_docs)]


def shard_blocks(blocks: list[Block], shard: int, shards: int) -> list[Block]:
    """Shard `shard` of `shards`: a contiguous run of blocks, sizes differing by at most one block."""
    lo, hi = len(blocks) * shard // shards, len(blocks) * (shard + 1) // shards
    return blocks[lo:hi]


class EmbeddingBlocks:
    """Read and write one corpus encoding's blocks in a run store."""

    def __init__(self, store: FsspecStore, corpus_key: str):
        self.store = store
        self.folder = store.root / FOLDER / corpus_key

    def _path(self, block: Block):
        return self.folder / block.name

    def has(self, block: Block) -> bool:
        path = self._path(block)
        self.store.forget_listings(path)
        return self.store.fs.exists(str(path))

    def put(self, block: Block, doc_ids: list[str], emb: np.ndarray) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if len(doc_ids) != block.end - block.start or emb.shape[0] != len(doc_ids):
            raise ValueError(f"block {block.name}: {len(doc_ids)} ids and {emb.shape[0]} rows for "
                             f"{block.end - block.start} documents")
        flat = pa.array(np.ascontiguousarray(emb, dtype=np.float32).ravel())
        table = pa.table({"doc_id": pa.array(doc_ids, pa.string()),
                          "embedding": pa.FixedSizeListArray.from_arrays(flat, emb.shape[1])})
        self.store.write_atomic(self._path(block), lambda p: pq.write_table(table, p))

    def get(self, block: Block) -> tuple[list[str], np.ndarray]:
        import pyarrow.parquet as pq

        path = self._path(block)
        with self.store.fs.open(str(path), "rb") as fh:
            table = pq.read_table(fh)
        column = table.column("embedding").combine_chunks()
        emb = column.values.to_numpy(zero_copy_only=False).reshape(len(table), column.type.list_size)
        ids = table.column("doc_id").to_pylist()
        if len(ids) != block.end - block.start:
            raise ValueError(f"{path}: {len(ids)} rows, expected {block.end - block.start}")
        return ids, emb
