"""The one exception type users see: a single line with what, where and what to do."""

from __future__ import annotations


class TinyqError(Exception):
    """A failure caused by the user's input or machine, reported without a traceback.

    `where` names the file, op or tensor; `hint` says what to do about it.
    The CLI prints `tinyq: error: <where>: <what> (<hint>)` and exits with `exit_code`.
    """

    exit_code = 2

    def __init__(self, what: str, where: str | None = None, hint: str | None = None):
        self.what = what
        self.where = where
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.hint:
            text += f" ({self.hint})"
        return " ".join(text.split())


class UnsupportedError(TinyqError):
    """The model is well formed but uses something tinyq cannot lower."""
