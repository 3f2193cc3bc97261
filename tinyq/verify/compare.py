"""Byte-for-byte comparison of a runner's outputs (or traced tensors) with TFLM's."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinyq import golden
from tinyq.errors import TinyqError
from tinyq.ir import Graph, Tensor
from tinyq.tables import table

# TFLM's reference kernels assert on some values (an int8 SOFTMAX whose exps sum to 512 or more: 512 or more
# near-equal logits): the process ends there, so verify runs TFLM in a child and names the record instead
ASSERTED_HINT = "TFLM's own kernel asserts on that input: there is no result to compare tinyq's with"


def _golden_runs(run, *args, inputs: list, progress=None, graph: Graph | None = None) -> list:
    """run(*args, inputs, aborts=True, progress=...) in a forked child (one interpreter: state carries from
    record to record, as in the runner), its progress passed back through a pipe as it goes. A death in
    TFLM's native code is one error line naming the input record it died on."""
    import os
    import threading

    from tinyq.quantize.isolated import FORKS, NativeCrash, in_child

    if not FORKS:
        return run(*args, inputs, aborts=True, progress=progress)
    read_end, write_end = os.pipe()
    done = [0]

    def relay():
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while pipe.read(1):
                done[0] += 1
                if progress is not None:
                    progress(done[0])

    def child_run():
        return run(*args, inputs, aborts=True, progress=lambda _: os.write(write_end, b"."))

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    try:
        return in_child(child_run, doing="running the inputs", graph=graph)
    except NativeCrash as crash:
        os.close(write_end)
        write_end = -1
        reader.join()
        raise TinyqError(f"TFLM {crash.death} while running input record {done[0]} of {len(inputs)}{crash.detail}",
                         hint=ASSERTED_HINT if crash.aborted else crash.hint) from None
    finally:
        if write_end >= 0:
            os.close(write_end)
        reader.join()


@dataclass(frozen=True)
class Mismatch:
    record: int
    tensor: int
    tensor_name: str
    op: int | None  # op position that produced the tensor (layers mode)
    first_byte: int
    bytes_differing: int
    max_abs_diff: float  # integers: the largest difference of stored values; floats: of the numbers
    max_ulp: int = 0  # floats: the largest distance in units in the last place (0 for integers)
    nan_only: bool = False  # floats: every difference is a NaN against a NaN of other bits
    nan_vs_number: int = 0  # floats: values that are a NaN on one side and a number on the other
    ended_early: str = ""  # "TFLM" or "tinyq": whose invoke alone ended early (kTfLiteAbort); no tensor compared

@dataclass(frozen=True)
class VerifyResult:
    records: int
    tensors_compared: int
    mismatches: tuple[Mismatch, ...] = field(default=())
    ended_early: int = 0  # records whose invoke both ended early (CIRCULAR_BUFFER between its runs), not compared

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _compare(record: int, t: Tensor, ours: bytes, theirs: np.ndarray, op: int | None) -> Mismatch | None:
    want = np.ascontiguousarray(theirs).tobytes()
    if ours == want:
        return None
    a = np.frombuffer(ours, dtype=theirs.dtype)
    b = np.frombuffer(want, dtype=theirs.dtype)
    if a.size != b.size:
        return Mismatch(record, t.index, t.name, op, 0, max(len(ours), len(want)), -1)
    if a.dtype.kind == "f":
        return _float_mismatch(record, t, op, a, b)
    diff = np.nonzero(a != b)[0]
    delta = np.abs(a.astype(np.float64) - b.astype(np.float64)).max()
    return Mismatch(record, t.index, t.name, op, int(diff[0]) * theirs.dtype.itemsize, int(diff.size), int(delta))


def _float_mismatch(record: int, t: Tensor, op: int | None, a: np.ndarray, b: np.ndarray) -> Mismatch:
    """Floats differ by bits: where, how far apart as numbers and in ULPs, and whether only NaNs differ
    (a NaN's sign and payload follow the CPU: x86's default NaN is negative, Arm's positive)."""
    int_type = {4: np.int32, 8: np.int64, 2: np.int16}[a.dtype.itemsize]
    ia, ib = a.view(int_type).astype(np.int64), b.view(int_type).astype(np.int64)
    diff = np.nonzero(ia != ib)[0]
    both_nan = np.isnan(a[diff]) & np.isnan(b[diff])
    numbers = diff[~both_nan]
    if numbers.size == 0:
        return Mismatch(record, t.index, t.name, op, int(diff[0]) * a.dtype.itemsize, int(diff.size), 0.0, 0, True)
    numeric = numbers[~(np.isnan(a[numbers]) | np.isnan(b[numbers]))]  # pairs of two numbers
    top = np.int64(1) << (8 * a.dtype.itemsize - 1)
    oa = np.where(ia[numeric] < 0, -(ia[numeric] + top), ia[numeric])  # bits in the numbers' order, -0 == +0
    ob = np.where(ib[numeric] < 0, -(ib[numeric] + top), ib[numeric])
    ulp = int(np.abs(oa - ob).max()) if numeric.size else 0
    with np.errstate(invalid="ignore", over="ignore"):
        delta = float(np.abs(a[numeric].astype(np.float64) - b[numeric].astype(np.float64)).max()) if numeric.size else 0.0
    return Mismatch(record, t.index, t.name, op, int(diff[0]) * a.dtype.itemsize, int(diff.size), delta, ulp, False,
                    int(numbers.size - numeric.size))


def split_outputs(graph: Graph, raw: bytes) -> list[np.ndarray]:
    """One record's output bytes, as the generated code writes them back to back, per graph output."""
    from tinyq.ir import DTYPES

    arrays, pos = [], 0
    for i in graph.outputs:
        t = graph.tensors[i]
        arrays.append(np.frombuffer(raw[pos:pos + t.nbytes], dtype=DTYPES[t.dtype][0]).reshape(t.shape or (1,)))
        pos += t.nbytes
    if pos != len(raw):
        raise TinyqError(f"{len(raw)} output bytes for a model whose outputs take {pos}")
    return arrays


def _endings(ours: list, theirs: list) -> tuple[list[Mismatch], int]:
    """Records (None where the invoke ended early, as TFLM's kTfLiteAbort) that ended early on one side only,
    and how many on both."""
    one_side = [Mismatch(r, -1, "", None, 0, 0, 0, ended_early="tinyq" if mine is None else "TFLM")
                for r, (mine, gold) in enumerate(zip(ours, theirs)) if (mine is None) != (gold is None)]
    return one_side, sum(mine is None and gold is None for mine, gold in zip(ours, theirs))


def compare_outputs(model: bytes, graph: Graph, inputs: list[list[np.ndarray]],
                    ours: list[list[np.ndarray] | None], progress=None) -> VerifyResult:
    """Any runner's outputs against TFLM running `model` (the user's file) on the same inputs; a record
    whose invoke ended early (None) must have ended early in TFLM too, and only completed ones are compared.
    `progress(done)` after each record TFLM ran."""
    golden_out = _golden_runs(golden.tflm_run, model, inputs=inputs, progress=progress, graph=graph)
    mismatches, ended_early = _endings(ours, golden_out)
    for r, (mine, gold) in enumerate(zip(ours, golden_out)):
        if mine is None or gold is None:
            continue
        for i, a, b in zip(graph.outputs, mine, gold):
            m = _compare(r, graph.tensors[i], np.ascontiguousarray(a).tobytes(), b.reshape(a.shape), None)
            if m:
                mismatches.append(m)
    return VerifyResult(records=len(inputs), tensors_compared=len(graph.outputs), mismatches=tuple(mismatches),
                        ended_early=ended_early)


def compare_traces(model: bytes, graph: Graph, producer: dict[int, int], inputs: list[list[np.ndarray]],
                   traces: list[dict[int, bytes]], outputs: list | None = None, progress=None) -> VerifyResult:
    """Every traced intermediate tensor against TFLM's value of the same tensor of `model`; `outputs` (the
    runner's, None where an invoke ended early) for the records to skip, and `progress`, as compare_outputs."""
    in_file = golden.tensor_count(model)  # tensors tinyq added (an arena copy of a constant) TFLM cannot show
    traced = sorted({t for trace in traces for t in trace if t < in_file})
    golden_out = _golden_runs(golden.tflm_run_tensors, model, traced, inputs=inputs, progress=progress, graph=graph)
    ran = outputs if outputs is not None else [()] * len(traces)  # no outputs: every invoke ran
    mismatches, ended_early = _endings(ran, golden_out)
    compared = set()
    for r, (trace, gold, mine) in enumerate(zip(traces, golden_out, ran)):
        if gold is None or mine is None:
            continue
        for tensor, ours in trace.items():
            if tensor not in gold:
                continue
            compared.add(tensor)
            m = _compare(r, graph.tensors[tensor], ours, gold[tensor].reshape(-1), producer.get(tensor))
            if m:
                mismatches.append(m)
    if not compared and not mismatches:
        raise TinyqError("no intermediate tensor could be compared", hint="this is a tinyq bug")
    mismatches.sort(key=lambda m: (m.op if m.op is not None else 1 << 30, m.record))
    return VerifyResult(records=len(inputs), tensors_compared=len(compared), mismatches=tuple(mismatches),
                        ended_early=ended_early)


def _how(m: Mismatch) -> str:
    """How far apart a mismatch's values are."""
    if m.nan_only:
        how = "all NaN against NaN of other bits (sign/payload)"
    elif m.max_ulp:
        how = f"max |diff| {m.max_abs_diff:g} ({m.max_ulp} ULP)"
    elif m.max_abs_diff == 0 and not m.nan_vs_number:
        how = "only the signs of zeros differ"
    else:
        how = f"max |diff| {m.max_abs_diff:g}"
    if m.nan_vs_number:
        how += f", {m.nan_vs_number} NaN against a number"
    return how


def summarize(result: VerifyResult, graph: Graph, limit: int = 10) -> str:
    lines = []
    early = f" ({result.ended_early} ended early as TFLM's: not compared)" if result.ended_early else ""
    if result.ok:
        lines.append(f"PASS: {result.records} inputs{early}, {result.tensors_compared} tensor(s) each, "
                     f"bit-exact with TFLM")
        return "\n".join(lines)
    bad_records = len({m.record for m in result.mismatches})
    lines.append(f"FAIL: {bad_records} of {result.records} inputs{early} differ from TFLM "
                 f"({len(result.mismatches)} tensor mismatches)")
    first = result.mismatches[0]
    if first.op is not None:
        op = graph.operators[first.op]
        lines.append(f"first diverging op: op {first.op} ({op.op}) -> tensor {first.tensor} '{first.tensor_name}'")
    rows = []
    for m in result.mismatches[:limit]:
        if m.ended_early:  # a note row: no tensor was compared
            other = "tinyq's" if m.ended_early == "TFLM" else "TFLM's"
            rows.append((str(m.record), f"{m.ended_early}'s invoke ended early (kTfLiteAbort), {other} ran"))
            continue
        rows.append((str(m.record), f"{m.tensor} '{m.tensor_name}'", str(m.bytes_differing), str(m.first_byte),
                     _how(m)))
    lines.append(table(("input", "tensor", "values differing", "first byte", "how"), rows, align="rlrrl",
                       indent="  "))
    if len(result.mismatches) > limit:
        lines.append(f"  ... and {len(result.mismatches) - limit} more")
    return "\n".join(lines)
