"""The benchmark's rows: name -> function returning a dict with row, reference, slice, metric, max_diff, equal
(and optionally command, layer, note, details). Each function runs its comparison on the full slice."""

from __future__ import annotations

ROWS: dict = {}
