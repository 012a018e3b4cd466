"""Reference-equivalence comparisons shared by tests/test_equiv_*.py and benchmarks/equivalence.py.

Each module runs one lrbench runner and its reference toolkit on the same model and inputs and returns the
compared quantities; tests call them on small slices, the benchmark on full ones. Reference toolkits come from
the `reference` extra and are imported only here, never by lrbench.
"""
