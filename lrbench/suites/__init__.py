"""Suites: YAML with line numbers, the pydantic schema, the loader (file:line errors) and the expansion into cells."""
