"""Bit-exactness on inputs a test chooses (conftest's helpers draw uniform random records).

Ops whose inputs are indices or shapes (GATHER's positions, BROADCAST_ARGS' shapes) need
records drawn from their valid range, and some tests need the values where TFLM fails:
these helpers run the generated code on the host with exactly those records and compare
with TFLM byte for byte, or check that both sides fail.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from tinyq.boards import get_board
from tinyq.build.host import build_host
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.ir import DTYPES


def host_run(graph, records: list[list[np.ndarray]]):
    """(compiled, outputs of the generated code per record); TinyqError when invoke fails."""
    from tinyq.run.host import run_host

    board = get_board("host")
    compiled = compile_graph(graph, board)
    specs = [(compiled.graph.tensors[i].shape or (1,), DTYPES[compiled.graph.tensors[i].dtype][0])
             for i in compiled.graph.outputs]
    with tempfile.TemporaryDirectory(prefix="tinyq-chosen-") as tmp:
        build_dir = write_output_dir(Path(tmp) / "host", compiled.source.files)
        exe = build_host(build_dir, compiled.source, board)
        outputs, _ = run_host(exe.path, records, specs)
    return compiled, outputs


def assert_bit_exact_on(graph, records: list[list[np.ndarray]]) -> None:
    """The generated code and TFLM agree byte for byte on every record."""
    compiled, ours = host_run(graph, records)
    golden = tflm_run(compiled.model, records)
    for r, (mine, theirs) in enumerate(zip(ours, golden)):
        for k, (a, b) in enumerate(zip(mine, theirs)):
            a, b = np.ascontiguousarray(a), np.ascontiguousarray(b).reshape(a.shape)
            assert a.tobytes() == b.tobytes(), (f"record {r}, output {k} "
                                                f"({compiled.graph.tensors[compiled.graph.outputs[k]].name}): "
                                                f"ours {a.reshape(-1)[:12].tolist()} TFLM {b.reshape(-1)[:12].tolist()}")


def assert_invoke_fails(graph, record: list[np.ndarray], tflm_fails: bool = True) -> None:
    """The generated invoke returns non-zero on `record` (the host harness exits 4); TFLM's invoke
    fails too when `tflm_fails` (where TFLM has no check and reads outside its input, it is not run)."""
    with pytest.raises(TinyqError, match="exited with 4"):
        host_run(graph, [record])
    if tflm_fails:
        compiled = compile_graph(graph, get_board("host"))
        with pytest.raises(Exception):
            tflm_run(compiled.model, [record])
