"""Shared fixtures: where the shared models live, and the bit-exact assertion."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinyq.backends import get_backend
from tinyq.bind import bind
from tinyq.boards import get_board
from tinyq.lower import lower_graph
from tinyq.ops.base import Target
from tinyq.passes.fold import fold_constants
from tinyq.driver import compile_graph
from tinyq.verify import summarize, verify_host

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
MLPERF = SHARED / "models" / "mlperf-tiny"
QUANT = SHARED / "quant"
VENDOR = SHARED / "vendor"

# The vendor backends run against the pristine snapshots in ../shared/vendor unless the
# user names a checkout, so CI exercises every backend with the pinned release of each library
# (tinyq/libraries.py: CMSIS-NN main 99f736a6, ESP-NN 1.2.3 = master d45b843).
VENDOR_SNAPSHOTS = {"TINYQ_CMSIS_NN_DIR": "cmsis-nn-99f736a6", "TINYQ_ESP_NN_DIR": "esp-nn-d45b843"}
for _env, _snapshot in VENDOR_SNAPSHOTS.items():
    if not os.environ.get(_env) and (VENDOR / _snapshot).is_dir():
        os.environ[_env] = str(VENDOR / _snapshot)

# Tables as plain columns even under `pytest -s` on a terminal: the tests read the text (tests/test_tables.py
# draws the rich ones on purpose).
os.environ["TINYQ_TABLES"] = "plain"


def shared_file(*parts: str) -> Path:
    """A file from ../shared, or skip the test with the reason."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (tests that use ../shared models skip without it)")
    return path


def bound_ops(graph, backend: str = "reference", isa: str = "scalar"):
    """Each op's bound kernel (tinyq/bind.py) for `backend` on a target with code path `isa`."""
    return bind(lower_graph(fold_constants(graph)), get_backend(backend), Target(isa=isa)).ops


def bound_reference(lowered):
    """A lowered graph bound to the reference kernels (what the planner tests plan)."""
    return bind(lowered, get_backend("reference"), Target())


# Tests of a backend's kernels bind each op's fastest kernel (arena "fast"): the pipeline's default arena
# guard could give a kernel under test the reference's way (the guard's own tests: test_keep_arena.py)
TESTED_ARENA = "fast"


def assert_float_island(graph, op_name: str):
    """The graph's first `op_name` runs float32 between a DEQUANTIZE and a QUANTIZE (the quantizer's fallback
    where TFLM's integer kernel would answer garbage)."""
    at = [o.op for o in graph.operators].index(op_name)
    op = graph.operators[at]
    assert graph.operators[at - 1].op == "dequantize" and graph.operators[at + 1].op == "quantize"
    assert all(graph.tensors[t].dtype == "float32" for t in op.inputs + op.outputs)


def assert_bit_exact(graph, n_inputs: int = 20, backend: str | None = None, board: str = "host",
                     layers: bool = False, seed: int = 0):
    """Compile `graph`, run it on the host and in TFLM, and require identical bytes."""
    b = get_board(board)
    compiled = compile_graph(graph, b, backend=backend, arena=TESTED_ARENA)
    result = verify_host(compiled, b, n_inputs=n_inputs, layers=layers, seed=seed)
    assert result.ok, summarize(result, graph)
    return compiled


def assert_records_exact(graph, records, board: str = "host", backend: str | None = None):
    """Compile `graph`, run these `records` on `board` (host or QEMU) and in TFLM, and require identical
    bytes; (compiled, run)."""
    from tinyq.verify import HostRunner, QemuRunner, compare_outputs

    b = get_board(board)
    compiled = compile_graph(graph, b, backend=backend, arena=TESTED_ARENA)
    run = (HostRunner(b) if b.runner == "host" else QemuRunner(b)).run(compiled, records)
    result = compare_outputs(compiled.model, compiled.graph, records, run.outputs)
    assert result.ok, f"{board}: " + summarize(result, graph)
    return compiled, run


QEMU_BOARDS = ("qemu-m55", "qemu-m0-an385")  # Cortex-M55 with Helium; the RP2040's ARMv6-M binary on a Cortex-M3


def assert_bit_exact_on_targets(graph, n_inputs: int = 8, backends=("reference",), seed: int = 0):
    """Bit-exact with TFLM on the host and under QEMU on both Arm code paths, with each backend."""
    from tinyq.verify import verify_qemu

    for backend in backends:
        assert_bit_exact(graph, n_inputs, backend=backend, seed=seed)
        for name in QEMU_BOARDS:
            board = get_board(name)
            report = verify_qemu(compile_graph(graph, board, backend=backend, arena=TESTED_ARENA), board,
                                 n_inputs=n_inputs, seed=seed)
            assert report.result.ok, f"{name} {backend}: " + summarize(report.result, graph)
