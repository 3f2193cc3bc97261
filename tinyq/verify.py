"""Bit-exactness check: generated C against TFLM on the same inputs, byte for byte."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyq.boards import Board
from tinyq.build.host import build_host
from tinyq.codegen import write_output_dir
from tinyq.driver import Compiled
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run, tflm_run_layers
from tinyq.ir import DTYPES, Graph, Tensor
from tinyq.run.host import run_host
from tinyq.tflite.writer import write_model


@dataclass(frozen=True)
class Mismatch:
    record: int
    tensor: int
    tensor_name: str
    op: int | None  # op position that produced the tensor (layers mode)
    first_byte: int
    bytes_differing: int
    max_abs_diff: int


@dataclass(frozen=True)
class VerifyResult:
    records: int
    tensors_compared: int
    mismatches: tuple[Mismatch, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _input_range(graph: Graph, t: Tensor) -> tuple[float, float]:
    """Float inputs feed a QUANTIZE op: draw from the range its output covers."""
    for op in graph.operators:
        if t.index in op.inputs and op.outputs:
            q = graph.tensors[op.outputs[0]].quant
            if q is not None:
                return q.s * (-128 - q.zp), q.s * (127 - q.zp)
    return -1.0, 1.0


def make_inputs(graph: Graph, n: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Edge cases first (all-min, all-max, all-zero-point), then uniform random records."""
    rng = np.random.default_rng(seed)
    records = []
    for r in range(n):
        record = []
        for i in graph.inputs:
            t = graph.tensors[i]
            np_type = DTYPES[t.dtype][0]
            shape = t.shape or (1,)
            if np.issubdtype(np_type, np.floating):
                lo, hi = _input_range(graph, t)
                record.append(rng.uniform(lo, hi, size=shape).astype(np_type))
                continue
            if np_type is np.bool_:  # all false, all true, then random masks
                fill = {0: False, 1: True}.get(r)
                record.append(np.full(shape, fill) if fill is not None else rng.random(shape) < 0.8)
                continue
            info = np.iinfo(np_type)
            edge = {0: info.min, 1: info.max, 2: t.quant.zp if t.quant else 0}
            if r in edge:
                record.append(np.full(shape, edge[r], dtype=np_type))
            else:
                record.append(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=np_type))
        records.append(record)
    return records


def _compare(record: int, t: Tensor, ours: bytes, theirs: np.ndarray, op: int | None) -> Mismatch | None:
    want = np.ascontiguousarray(theirs).tobytes()
    if ours == want:
        return None
    a = np.frombuffer(ours, dtype=theirs.dtype)
    b = np.frombuffer(want, dtype=theirs.dtype)
    if a.size != b.size:
        return Mismatch(record, t.index, t.name, op, 0, max(len(ours), len(want)), -1)
    diff = np.nonzero(a != b)[0]
    delta = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
    return Mismatch(record, t.index, t.name, op, int(diff[0]) * theirs.dtype.itemsize, int(diff.size), int(delta))


def verify_host(compiled: Compiled, board: Board, n_inputs: int = 100, layers: bool = False,
                seed: int = 0, work_dir: Path | None = None) -> VerifyResult:
    graph = compiled.graph
    inputs = make_inputs(graph, n_inputs, seed)
    with tempfile.TemporaryDirectory(prefix="tinyq-verify-") as tmp:
        build_dir = write_output_dir(Path(work_dir or tmp) / "host", compiled.source.files)
        exe = build_host(build_dir, compiled.source, board, trace=layers)
        specs = [(graph.tensors[i].shape or (1,), DTYPES[graph.tensors[i].dtype][0]) for i in graph.outputs]
        ours, traces = run_host(exe.path, inputs, specs, trace=layers)
    if layers:
        return _compare_layers(compiled, inputs, traces)
    return compare_with_tflm(graph, inputs, ours)


def compare_with_tflm(graph: Graph, inputs: list[list[np.ndarray]], ours: list[list[np.ndarray]]) -> VerifyResult:
    """Byte-for-byte comparison of any runner's outputs (host, QEMU, board) with TFLM's."""
    golden = tflm_run(write_model(graph), inputs)
    mismatches = []
    for r, (mine, gold) in enumerate(zip(ours, golden)):
        for i, a, b in zip(graph.outputs, mine, gold):
            m = _compare(r, graph.tensors[i], np.ascontiguousarray(a).tobytes(), b.reshape(a.shape), None)
            if m:
                mismatches.append(m)
    return VerifyResult(records=len(inputs), tensors_compared=len(graph.outputs), mismatches=tuple(mismatches))


def _compare_layers(compiled: Compiled, inputs, traces) -> VerifyResult:
    graph = compiled.graph
    golden = tflm_run_layers(graph, inputs)
    producer = {t: pos for pos, k in enumerate(compiled.lowered.ops) for t in k.outputs}
    mismatches = []
    compared = set()
    for r, (trace, gold) in enumerate(zip(traces, golden)):
        for tensor, ours in trace.items():
            if tensor not in gold:
                continue
            compared.add(tensor)
            m = _compare(r, graph.tensors[tensor], ours, gold[tensor].reshape(-1), producer.get(tensor))
            if m:
                mismatches.append(m)
    if not compared:
        raise TinyqError("no intermediate tensor could be compared", hint="this is a tinyq bug")
    mismatches.sort(key=lambda m: (m.op if m.op is not None else 1 << 30, m.record))
    return VerifyResult(records=len(inputs), tensors_compared=len(compared), mismatches=tuple(mismatches))


def summarize(result: VerifyResult, graph: Graph, limit: int = 10) -> str:
    lines = []
    if result.ok:
        lines.append(f"PASS: {result.records} inputs, {result.tensors_compared} tensor(s) each, "
                     f"bit-exact with TFLM")
        return "\n".join(lines)
    bad_records = len({m.record for m in result.mismatches})
    lines.append(f"FAIL: {bad_records} of {result.records} inputs differ from TFLM "
                 f"({len(result.mismatches)} tensor mismatches)")
    first = result.mismatches[0]
    if first.op is not None:
        op = graph.operators[first.op]
        lines.append(f"first diverging op: op {first.op} ({op.op}) -> tensor {first.tensor} '{first.tensor_name}'")
    for m in result.mismatches[:limit]:
        lines.append(f"  input {m.record}: tensor {m.tensor} '{m.tensor_name}': {m.bytes_differing} value(s) differ, "
                     f"first at byte {m.first_byte}, max |diff| {m.max_abs_diff}")
    if len(result.mismatches) > limit:
        lines.append(f"  ... and {len(result.mismatches) - limit} more")
    return "\n".join(lines)
