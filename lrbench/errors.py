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


class PathError(LrbenchError, OSError):
    """A file or folder the environment does not let lrbench read or write (full disk, read-only mount, no
    permission, a path under /proc ...). Still an OSError, so code that tolerates a failed write keeps doing so."""


#: errno -> (what went wrong, how to fix it)
_OS_REASONS = {
    "ENOSPC": ("the disk is full", "free some space or choose a folder on another disk"),
    "EDQUOT": ("the disk quota is exhausted", "free some space or choose a folder on another disk"),
    "EROFS": ("the filesystem is read-only", "choose a folder on a writable disk"),
    "EACCES": ("permission denied", "choose a folder you may write to, or fix its permissions"),
    "EPERM": ("operation not permitted (an immutable or protected folder?)", "choose a folder you may write to"),
    "ENOTDIR": ("a part of the path is a file, not a folder", "choose a path whose parents are folders"),
    "EEXIST": ("a file is in the way of a folder", "remove the file or choose another path"),
    "EISDIR": ("it is a folder, not a file", "give a file"),
    "ENAMETOOLONG": ("the file name is too long", "choose a shorter name"),
    "ENOENT": ("the folder cannot be created there", "choose a folder on a normal, writable disk"),
}


def os_error(exc: OSError, path=None, action: str = "write", key: str | None = None) -> PathError:
    """One line for an OSError raised by the environment, naming the path and the fix."""
    import errno as errno_names

    if isinstance(exc, PathError):
        return exc
    where = path if path is not None else (exc.filename or "")
    name = errno_names.errorcode.get(exc.errno or 0, "")
    reason, hint = _OS_REASONS.get(name, (exc.strerror or str(exc) or type(exc).__name__,
                                          "check the path, the disk and the permissions"))
    if str(where).startswith(("/proc/", "/sys/", "/dev/")) or str(where) in ("/proc", "/sys", "/dev"):
        reason, hint = f"{reason}: /proc, /sys and /dev hold no files of ours", "choose a folder on a normal disk"
    error = PathError(f"cannot {action} ({reason}{f', {name}' if name else ''})", file=str(where) or None, key=key,
                      hint=hint)
    error.errno, error.strerror, error.filename = exc.errno, exc.strerror, exc.filename
    return error
