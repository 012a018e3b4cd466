"""The plan layer, between suites and executors: suites meet runners here.

- `load_suite(path | dict, base_dir, mirror=...)`: parse and validate (every semantic check of plan.checks).
- `build_plan(loaded, only=...)`: the cell specs to run, in dependency order; `Plan.prepare(spec)` parses a
  spec once into an immutable `PreparedCell` (typed params and compress block, runner class, dataset, key
  and config computed from those parsed objects, measures, input key).
- `plan.parse`: that one parse of params + compress, which `lrbench validate` reports the problems of.
- `plan.keys`: what a cell key hashes (KEY_FORMAT).
"""

from lrbench.plan.keys import KEY_FORMAT, canonical_params, cell_config, key_of
from lrbench.plan.load import check, load_suite, use_mirror
from lrbench.plan.prepared import Plan, PreparedCell, build_plan, measures_for

__all__ = ["KEY_FORMAT", "Plan", "PreparedCell", "build_plan", "canonical_params", "cell_config", "check",
           "key_of", "load_suite", "measures_for", "use_mirror"]
