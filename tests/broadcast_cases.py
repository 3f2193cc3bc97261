"""Graphs of many broadcasting binary ops side by side (one C build checks them all), and runs on
records a test chooses. Shared by the tests of MAXIMUM/MINIMUM, the comparisons, the logical ops,
SELECT_V2, SQUARED_DIFFERENCE, DIV, ADD_N and PRELU."""

from __future__ import annotations

import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyq.boards import get_board
from tinyq.build.host import build_host
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_graph
from tinyq.golden import tflm_run
from tinyq.ir import DTYPES
from tinyq.tflite.builder import GraphBuilder

# shape pairs: every broadcast pattern up to rank 6 (equal shapes and scalars, which are constants
# here because verify's records cannot feed a rank-0 graph input to TFLM, are added per test)
BROADCASTS = [
    ((1,), (4, 5)),                # one value against a matrix
    ((4, 5), (1, 1)),
    ((2, 3, 1), (1, 1, 5)),        # both operands broadcast
    ((1, 5, 1, 3), (2, 1, 4, 1)),  # alternating
    ((7,), (3, 1, 7)),             # rank extension
    ((1, 2, 1, 1), (1, 2, 3, 4)),  # one value per row against rows (CMSIS-NN's v7 walk loses its place)
    ((2, 1, 3, 1, 5), (1, 4, 3, 2, 1)),
    ((1, 2, 1, 3, 1, 2), (2, 1, 3, 1, 2, 1)),
    ((1, 1, 1, 6), (1, 5, 7, 6)),  # per-channel constant-like
]


def seeded(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def quant(rng, lo: float = 0.01, hi: float = 0.2, zp: tuple[int, int] = (-60, 60)) -> dict:
    return dict(scale=float(rng.uniform(lo, hi)), zero_point=int(rng.integers(*zp)))


def random_values(rng, shape, dtype: str) -> np.ndarray:
    if dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if dtype == "float32":
        return rng.uniform(-3, 3, size=shape).astype(np.float32)
    info = np.iinfo(DTYPES[dtype][0])
    return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(DTYPES[dtype][0])


@dataclass
class Case:
    """One op of a side-by-side graph. `quants` are the (a, b, output) quantizations (random ones
    for int8 when omitted); `consts` says which operands are constants (values from `values` or
    random)."""

    op: str
    shapes: tuple  # operand shapes
    dtype: str = "int8"
    out_dtype: str | None = None  # the operands' type when None
    consts: tuple[bool, ...] = ()
    quants: tuple | None = None
    options: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)  # operand position -> constant data
    out_shape: tuple | None = None  # the broadcast shape when None

    def name(self) -> str:
        return f"{self.op}_{self.dtype}_" + "_".join("x".join(map(str, s)) or "s" for s in self.shapes)


def add_case(b: GraphBuilder, rng, case: Case) -> int:
    out_dtype = case.out_dtype or case.dtype
    n = len(case.shapes)
    int8 = case.dtype == "int8"
    quants = case.quants or (tuple(quant(rng) for _ in range(n)) + (quant(rng, 0.02, 0.3),) if int8
                             else (None,) * (n + 1))
    operands = []
    for i, shape in enumerate(case.shapes):
        q = quants[i] or {}
        dtype = "bool" if case.op == "select_v2" and i == 0 else case.dtype
        if i < len(case.consts) and case.consts[i]:
            data = case.values.get(i)
            data = random_values(rng, shape, dtype) if data is None else np.asarray(data).reshape(shape)
            operands.append(b.const(data, dtype, **q))
        else:
            operands.append(b.input(shape, dtype=dtype, **q))
    out_shape = case.out_shape or (np.broadcast_shapes(*case.shapes) if case.op != "add_n" else case.shapes[0])
    q = quants[n] if out_dtype == case.dtype or int8 and out_dtype == "int8" else None
    y = b.activation(out_shape, dtype=out_dtype, **(q or {}), name=case.name())
    b.op(case.op, operands, [y], **case.options)
    return y


def side_by_side(name: str, cases: list[Case], rng=None):
    """One graph holding one op per case, each on its own inputs."""
    rng = rng if rng is not None else seeded(name)
    b = GraphBuilder(name)
    outputs = [add_case(b, rng, c) for c in cases]
    return b.build(outputs)


def host_outputs(graph, records: list[list[np.ndarray]], backend: str | None = None):
    """(compiled, the generated code's outputs per record) on the host, for records a test chooses."""
    from tinyq.run.host import run_host

    board = get_board("host")
    compiled = compile_graph(graph, board, backend=backend)
    specs = [(compiled.graph.tensors[i].shape or (1,), DTYPES[compiled.graph.tensors[i].dtype][0])
             for i in compiled.graph.outputs]
    with tempfile.TemporaryDirectory(prefix="tinyq-records-") as tmp:
        build_dir = write_output_dir(Path(tmp) / "host", compiled.source.files)
        exe = build_host(build_dir, compiled.source, board)
        outputs, _ = run_host(exe.path, records, specs)
    return compiled, outputs


def assert_bit_exact_on_records(graph, records: list[list[np.ndarray]], backend: str | None = None) -> None:
    """The generated code and TFLM agree byte for byte on each of `records`."""
    compiled, ours = host_outputs(graph, records, backend)
    golden = tflm_run(compiled.model, records)
    for r, (mine, theirs) in enumerate(zip(ours, golden)):
        for k, (a, want) in enumerate(zip(mine, theirs)):
            a, want = np.ascontiguousarray(a), np.ascontiguousarray(want).reshape(a.shape)
            where = compiled.graph.tensors[compiled.graph.outputs[k]].name
            assert a.tobytes() == want.tobytes(), (f"record {r}, output {k} ({where}): ours "
                                                   f"{a.reshape(-1)[:12].tolist()}, TFLM {want.reshape(-1)[:12].tolist()}")
