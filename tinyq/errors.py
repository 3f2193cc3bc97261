"""The one exception type users see: a single line with what, where and what to do."""

from __future__ import annotations

import errno
import re

LINE_LIMIT = 300  # characters of an error line after "tinyq: error: "; a corrupt name can be 40 KB
ELLIPSIS = "..."


class TinyqError(Exception):
    """A failure caused by the user's input or machine, reported without a traceback.

    `where` names the file, op or tensor; `hint` says what to do about it.
    The CLI prints `tinyq: error: <where>: <what> (<hint>)` and exits with `exit_code`.
    The line is made safe here, for every error: control characters are escaped and it is
    at most LINE_LIMIT characters long.
    """

    exit_code = 2

    def __init__(self, what: str, where: str | None = None, hint: str | None = None):
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        where = shorten(printable(self.where), 120, keep_end=True) if self.where else ""
        what, hint = printable(self.what), shorten(printable(self.hint), 120) if self.hint else ""
        # Over the limit, the path gives way first (its middle), then the hint: what went wrong stays.
        over = len(where) + len(what) + len(hint) + (2 if where else 0) + (3 if hint else 0) - LINE_LIMIT
        if over > 0 and where:
            where, over = _give(where, over, keep_end=True)
        if over > 0 and hint:
            hint, over = _give(hint, over)
        if over > 0:
            what, over = _give(what, over, floor=len(ELLIPSIS) + 1)
        text = f"{where}: {what}" if where else what
        return text + (f" ({hint})" if hint else "")


def _give(text: str, over: int, keep_end: bool = False, floor: int = 40) -> tuple[str, int]:
    """`text` shortened by up to `over` characters (not below `floor`), and what is still over."""
    if len(text) <= floor:
        return text, over
    short = shorten(text, max(floor, len(text) - over), keep_end)
    return short, over - (len(text) - len(short))


class UnsupportedError(TinyqError):
    """The model is well formed but uses something tinyq cannot lower."""


def printable(text: object) -> str:
    """One line a terminal shows as it is: runs of spaces, tabs and newlines become one space;
    other control and invisible characters (from corrupt names, say) become escapes like \\x07."""
    text = str(text)
    cut = len(text) > 4 * LINE_LIMIT  # no line shows more: spare escaping megabytes of a corrupt name
    out = []
    for ch in re.sub(r"[ \t\r\n]+", " ", text[:4 * LINE_LIMIT] if cut else text).strip():
        if ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out) + (ELLIPSIS if cut else "")


def shorten(text: str, limit: int, keep_end: bool = False) -> str:
    """`text` cut to `limit` characters with an ellipsis: at the end, or in the middle for paths."""
    if len(text) <= limit:
        return text
    if keep_end:
        head = (limit - len(ELLIPSIS)) // 3
        return text[:head] + ELLIPSIS + text[len(text) - (limit - len(ELLIPSIS) - head):]
    return text[:limit - len(ELLIPSIS)] + ELLIPSIS


# What a file-system error means for the user, and what to do about it.
PATH_PROBLEMS = {
    errno.EACCES: ("permission denied", "choose a folder you can write to, or change its permissions"),
    errno.EPERM: ("operation not permitted", "the file or folder may be immutable (lsattr) or protected"),
    errno.EROFS: ("read-only file system", "choose a folder on a writable file system"),
    errno.ENOSPC: ("no space left on the device", "free some space or write somewhere else"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write somewhere else"),
    errno.ENOTDIR: ("a file is where a folder is expected", "check the path"),
    errno.EISDIR: ("is a folder, a file is expected", "give a file name"),
    errno.ENOENT: ("no such file or folder", "check the path"),
    errno.EEXIST: ("exists already, as a file where a folder is expected", "check the path"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.ELOOP: ("too many levels of symbolic links", "check the symbolic links on the path"),
    errno.EXDEV: ("cannot move across file systems", "write the output on one file system"),
}


def path_error(exc: OSError, where: str | None = None) -> TinyqError | None:
    """The one-line error for a file-system failure, or None when it is not one a user can fix."""
    problem = PATH_PROBLEMS.get(exc.errno)
    if problem is None:
        return None
    what, hint = problem
    return TinyqError(what, where=where or (str(exc.filename) if exc.filename is not None else None), hint=hint)
