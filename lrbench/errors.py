"""One exception type for every user-facing error, rendered by the CLI as a single line."""

from __future__ import annotations


class LrbenchError(Exception):
    """An error the user can fix: carries where it happened and how to fix it."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.key = key
        self.hint = hint

    def one_line(self) -> str:
        where = ""
        if self.file:
            where = str(self.file) + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        hint = f" (fix: {self.hint})" if self.hint else ""
        return f"{where}{key}{self.message}{hint}"

    def __str__(self) -> str:
        return self.one_line()
