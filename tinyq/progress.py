"""Progress of long work (builds, calibration, QEMU and device runs, benchmarks), on stderr.

On a terminal: a rich bar, redrawn in place and gone when the work ends. Anywhere else (a CI log,
a pipe, a file): plain lines and never an escape code, one each tenth of the way, and none while the
work is younger than `quiet` seconds, so a 2 s verify adds nothing to a log while a ten-minute build
still shows it is alive.

    with Progress("kws.tflite under TFLM", total=len(samples)) as bar:
        for k, sample in enumerate(samples):
            ...
            bar.update(k + 1)
"""

from __future__ import annotations

import os
import re
import sys
import threading
import time
from contextlib import contextmanager

QUIET_S = 3.0  # plain lines only for work that lasts longer than this


def is_terminal(stream) -> bool:
    """Whether `stream` is a terminal that takes a redrawn bar (not a pipe, a file or TERM=dumb)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


# One live rich display for every bar at a time (rich allows one): work inside other work (a QEMU run
# inside a benchmark's models) adds its bar under the outer one.
_live = None
_users = 0
_lock = threading.Lock()


def _display(stream):
    """The live display, started by its first user."""
    global _live, _users
    with _lock:
        if _live is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            _live = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=Console(file=stream), transient=True)
            _live.start()
        _users += 1
        return _live


def _release() -> None:
    global _live, _users
    with _lock:
        _users -= 1
        if _users == 0:
            _live.stop()
            _live = None


@contextmanager
def frozen():
    """Hold the live display still for the block: nothing redraws until it ends. A block that points file
    descriptor 2 elsewhere (tinyq.tflm_log) would take a frame with it, and the next frame, erasing the lines
    the lost one never drew, would erase other output."""
    with _lock:
        live = _live
    if live is None:
        yield
        return
    with live.live._lock:  # rich's refresh thread holds it for each frame
        yield


class Progress:
    """One task's progress: `update(done[, total])` as the work goes, `close()` (or a with block) at the end."""

    def __init__(self, label: str, total: int | None = None, stream=None, quiet: float = QUIET_S):
        self.stream = stream or sys.stderr
        self.label = label
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.start = time.monotonic()
        self.shown = -1  # the last tenth printed as a plain line
        self.rich = None
        if is_terminal(self.stream):
            self.rich = _display(self.stream)
            self.task = self.rich.add_task(label, total=total)

    def update(self, done: int, total: int | None = None) -> None:
        self.done = done
        self.total = total if total is not None else self.total
        if self.rich is not None:
            self.rich.update(self.task, completed=done, total=self.total)
            return
        if not self.total or time.monotonic() - self.start < self.quiet:
            return
        tenth = 10 * done // self.total
        if tenth > self.shown:
            self.shown = tenth
            print(f"  {self.label}: {done}/{self.total}", file=self.stream, flush=True)

    def advance(self, steps: int = 1) -> None:
        self.update(self.done + steps)

    def close(self) -> None:
        if self.rich is not None:
            self.rich.remove_task(self.task)
            self.rich = None
            _release()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


COUNTED = re.compile(r"^(?P<what>.+?): (?P<done>\d+)/(?P<total>\d+) \w+$")  # "calibrating: 30/100 samples"


class MessageProgress:
    """A `progress(message)` callback (the quantizer's): on a terminal a message that is only a count
    ("calibrating: 30/100 samples") moves a bar, and its last one stays as a line; every other message
    is a line as it comes, and off a terminal every message is."""

    def __init__(self, stream=None, indent: str = "  "):
        self.stream = stream or sys.stderr
        self.indent = indent
        self.terminal = is_terminal(self.stream)
        self.bar: Progress | None = None

    def __call__(self, message: str) -> None:
        counted = COUNTED.match(message) if self.terminal else None
        if counted is None:
            self._line(message)
            return
        done, total = int(counted["done"]), int(counted["total"])
        if self.bar is None or self.bar.label != counted["what"]:
            self.close()
            self.bar = Progress(counted["what"], total, self.stream, quiet=0)
        self.bar.update(done, total)
        if done >= total:
            self._line(message)

    def _line(self, message: str) -> None:
        self.close()
        print(self.indent + message, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
