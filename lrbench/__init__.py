"""lrbench: benchmark rerankers, embedders and low-rank-compressed transformers from one declarative suite."""

__version__ = "0.1.0"
