"""Shared by the signal-library tests: custom options, chosen records, and the comparison with TFLM
on the host and under QEMU (the verify driver draws unquantized int16 inputs from [0, 4): audio
needs the whole range, and the stateful ops a sequence of records)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from flatbuffers import flexbuffers

from conftest import QEMU_BOARDS
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.golden import tflm_run
from tinyq.ops.base import CustomOptions
from tinyq.verify.compare import compare_outputs, summarize
from tinyq.verify.runners import HostRunner, QemuRunner


def options(**values) -> CustomOptions:
    """A signal op's options: the flexbuffer map TFLM's signal library writes (keys sorted)."""
    return CustomOptions(bytes(flexbuffers.Dumps(values)))


def int16_audio(rng: np.random.Generator, shape, kind: str = "mixed") -> np.ndarray:
    """Samples over int16's whole range: full-scale noise, quiet noise, a tone, silence or the extremes."""
    n = int(np.prod(shape))
    if kind == "mixed":
        kind = rng.choice(["loud", "quiet", "tone", "extremes"])
    if kind == "loud":
        x = rng.integers(-32768, 32768, n)
    elif kind == "quiet":
        x = rng.integers(-64, 65, n)
    elif kind == "tone":
        t = np.arange(n)
        x = 20000 * np.sin(2 * np.pi * t * rng.uniform(0.001, 0.45)) + rng.normal(0, 50, n)
    elif kind == "extremes":
        x = rng.choice([-32768, 32767, 0, -1], n)
    else:
        x = np.zeros(n)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16).reshape(shape)


def run_both(graph, records, board: str = "host", backend: str | None = None):
    """(compiled, the generated code's outputs, TFLM's outputs) on every record, in order (one sequence)."""
    b = get_board(board)
    compiled = compile_graph(graph, b, backend=backend)
    with tempfile.TemporaryDirectory(prefix="tinyq-signal-") as tmp:
        runner = HostRunner(b, Path(tmp)) if b.runner == "host" else QemuRunner(b, work_dir=Path(tmp))
        ours = runner.run(compiled, records).outputs
    return compiled, ours, tflm_run(compiled.model, records)


def assert_same(graph, records, board: str = "host", backend: str | None = None) -> None:
    """Byte for byte equal with TFLM on every record."""
    compiled, ours, _ = run_both(graph, records, board, backend)
    result = compare_outputs(compiled.model, compiled.graph, records, ours)
    assert result.ok, f"{board}: " + summarize(result, compiled.graph)


def assert_same_on_targets(graph, records) -> None:
    for board in ("host",) + QEMU_BOARDS:
        assert_same(graph, records, board)
