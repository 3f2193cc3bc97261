"""TFLM's C++ log, held back: its interpreter writes why an op failed ("Node REDUCE_MAX (number 5) failed to
invoke", and the kernel's reason on the line before) straight to file descriptor 2, above tinyq's one-line
refusal. Held, the refusal can quote it instead, and a model TFLM runs leaves nothing on the terminal.

In a child of tinyq.quantize.isolated, fd 2 is already the parent's log file, which must keep what TFLM wrote
before dying (an abort's reason): there the log stays where it goes and is read back from it (`IN_CHILD`)."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack

from tinyq.progress import frozen

IN_CHILD = False  # set by tinyq.quantize.isolated in its forked child
KERNEL_DIRS = ("tensorflow/lite/micro/kernels/", "tensorflow/lite/micro/", "tensorflow/lite/kernels/")


class TflmLog:
    """`with log:` sends fd 2 to a file for the block; `log.text` is what the last block wrote."""

    def __init__(self):
        self.text = ""
        self._file = None
        self._saved = -1
        self._still = ExitStack()
        self._start = 0

    def __enter__(self) -> "TflmLog":
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        if IN_CHILD:
            self._start = os.lseek(2, 0, os.SEEK_END)
            return self
        self._still.enter_context(frozen())
        self._file = tempfile.TemporaryFile()
        self._saved = os.dup(2)
        os.dup2(self._file.fileno(), 2)
        return self

    def __exit__(self, *exc) -> bool:
        sys.stderr.flush()
        if IN_CHILD:
            end = os.lseek(2, 0, os.SEEK_END)
            self.text = os.pread(2, end - self._start, self._start).decode("utf-8", "replace")
            return False
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._file.seek(0)
        self.text = self._file.read().decode("utf-8", "replace")
        self._file.close()
        self._still.close()
        return False

    def reason(self) -> str | None:
        """The failing node and its kernel's reason, as one clause: "Node DEQUANTIZE (number 0) failed to
        prepare: dequantize_common.cc:42 input->type == kTfLiteInt8 ... was not true." (None: no log)."""
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        if not lines:
            return None
        nodes = [i for i, line in enumerate(lines) if line.startswith("Node ")]
        if not nodes:
            return short(lines[-1])
        at = nodes[-1]
        node = lines[at].split(" with status")[0]
        detail = lines[at - 1] if at > 0 and not lines[at - 1].startswith("Node ") else ""
        return f"{node}: {short(detail)}" if detail else node


def short(line: str) -> str:
    """A log line without the source tree's directories."""
    for prefix in KERNEL_DIRS:
        line = line.replace(prefix, "")
    return line[:240]
