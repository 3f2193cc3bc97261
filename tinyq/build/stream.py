"""Long builds (Pico SDK, ESP-IDF, CMake) as a user wants to watch them: one progress line while
they run, every line of their output in a log file, and on failure the first error line, the
tail of the output and where the whole log is.

A step's progress comes from the build tool's own counters: Ninja's `[12/128]`, CMake/Make's
`[ 45%]`, ESP-IDF's `[12/128]` (it drives Ninja). Every step is bounded (`timeout`, default 30 min):
a hung build is killed with its whole process group (tinyq.proc).
"""

from __future__ import annotations

import re
import subprocess
import threading
from pathlib import Path

from tinyq import proc as child
from tinyq.errors import TinyqError
from tinyq.progress import Progress

NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]")
PERCENT = re.compile(r"^\[\s*(\d+)%\]")
# What says most about a failure, best first: a compiler's diagnostic, the linker's, CMake's, the tool's.
ERROR_LINES = (re.compile(r"\berror:"), re.compile(r"undefined reference|will not fit|overflowed"),
               re.compile(r"CMake Error|fatal error", re.I), re.compile(r"\berror\b", re.I), re.compile(r"FAILED:"))
STEP_TIMEOUT_S = 1800.0


def progress_of(line: str) -> tuple[int, int] | None:
    """(done, total) a build tool's line reports, if it reports any."""
    m = NINJA_STEP.match(line)
    if m:
        return int(m.group(1)), int(m.group(2))
    m = PERCENT.match(line)
    if m:
        return int(m.group(1)), 100
    return None


def run_logged(cmd: list[str], cwd: Path, log: Path, label: str, timeout: float = STEP_TIMEOUT_S,
               env: dict | None = None, stream=None) -> None:
    """Run one build step: output appended to `log`, progress shown, failure one TinyqError."""
    log.parent.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    progress = Progress(label, stream=stream, quiet=0)  # a build is long work: its tenths from the start
    with open(log, "a", encoding="utf-8", errors="replace") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        try:
            proc = child.popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace", bufsize=1)
        except OSError as exc:
            progress.close()
            raise TinyqError(f"cannot run {cmd[0]}: {exc.strerror}", where=str(cwd)) from None
        overdue = threading.Event()  # set by the timer itself: elapsed time races with its kill

        def stop_overdue():
            overdue.set()
            child.stop(proc)

        timer = threading.Timer(timeout, stop_overdue)
        timer.start()
        try:
            for line in proc.stdout:
                out.write(line)
                lines.append(line.rstrip("\n"))
                step = progress_of(line)
                if step:
                    progress.update(*step)
            code = proc.wait()
        finally:
            timer.cancel()
            progress.close()
            child.stop(proc)
    if overdue.is_set() and code != 0:
        raise TinyqError(f"{label} did not finish within {timeout:g} s (stopped)", where=str(cwd),
                         hint=f"the whole output is in {log}")
    if code != 0:
        first = next((ln.strip() for pattern in ERROR_LINES for ln in lines if pattern.search(ln)),
                     lines[-1].strip() if lines else "no output")
        first = re.sub(r"(?<!\S)\S*/(?=[^/\s]+:\d)", "", first)  # /long/path/file.c:1:27: -> file.c:1:27:
        raise TinyqError(f"{label} failed: {first[:300]}", where=str(cwd), hint=f"the whole output is in {log}")


def run_steps(steps: list[list[str]], cwd: Path, log: Path, label: str, timeout: float = STEP_TIMEOUT_S,
              env: dict | None = None, stream=None) -> Path:
    """Run build steps in order into one fresh log; the log's path."""
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    for cmd in steps:
        run_logged(cmd, cwd, log, label, timeout, env, stream)
    return log
