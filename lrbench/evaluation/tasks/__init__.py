"""Evaluators per task kind: ranking (ir-measures), classification (GLUE, MTEB) and language modelling."""
