"""lrbench: benchmark rerankers, embedders and low-rank-compressed transformers from one declarative suite.

The Python API (`run`, `load_suite`, `open_results`, `evaluate`, `register_runner`) is imported on first use,
so `import lrbench` stays light (no pandas, no torch).
"""

from lrbench.version import __version__

_API = {
    "run": "lrbench.api", "load_suite": "lrbench.api", "open_results": "lrbench.api", "evaluate": "lrbench.api",
    "Results": "lrbench.api", "Evaluation": "lrbench.api", "register_runner": "lrbench.runners.registry",
}


def __getattr__(name: str):
    if name in _API:
        from importlib import import_module

        value = getattr(import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrbench' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_API))


__all__ = ["__version__", *_API]
