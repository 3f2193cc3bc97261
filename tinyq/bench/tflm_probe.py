"""Does TFLM's Python interpreter run MODEL with an arena of N bytes? Exit 0 if it loads and invokes.

Always run in a child process (memory.py forks one per probe, or runs
`python -m tinyq.bench.tflm_probe MODEL N`): a too-small arena can crash the
interpreter's process.
"""

from __future__ import annotations

import sys

import numpy as np


def preload() -> None:
    """Import the interpreter once in the parent, so forked probes start at once."""
    from tflite_micro.python.tflite_micro import runtime  # noqa: F401


def main(path: str, arena_size: int) -> int:
    from tflite_micro.python.tflite_micro import runtime

    data = open(path, "rb").read()
    try:
        interpreter = runtime.Interpreter.from_bytes(data, arena_size=arena_size)
        inputs = runtime.convert_bytearray_to_object(bytearray(data)).subgraphs[0].inputs
        for i in range(len(inputs)):
            details = interpreter.get_input_details(i)
            interpreter.set_input(np.zeros(details["shape"], dtype=details["dtype"]), i)
        interpreter.invoke()
    except Exception:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
