"""Float32 test inputs and the bit-exactness check the float tests share.

verify's own inputs for a float model are uniform in [-1, 1]; float kernels need more: values
across many binades, both zeros, exact ties, and (on the host) infinities and NaNs, which
exercise the clamp's and the C library functions' special cases. `assert_float_exact` runs
the generated code on such inputs, on the host and under QEMU, and compares bytes with TFLM.

NaN *results* are compared on the host only: x86's default NaN (an invalid operation such as
inf - inf) has its sign bit set, Arm's has not, so where TFLM's float arithmetic itself makes
a NaN the Arm builds give a NaN with the other sign (tinyq's C library functions return
x86's bits on every target). The QEMU runs feed finite inputs that make no NaN.
"""

from __future__ import annotations

import numpy as np

from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.ir import DTYPES
from tinyq.verify.compare import compare_outputs, summarize
from tinyq.verify.runners import HostRunner, QemuRunner

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1.17549435e-38, 3.4028235e38,
                    -3.4028235e38, 0.5, -0.5, 1.5, 2.5, -2.5, 1.0, -1.0], dtype=np.float32)


def float_values(rng: np.random.Generator, shape, special: bool = False, scale: float = 4.0,
                 zeros: bool = True) -> np.ndarray:
    """Normal values times a log-uniform spread (many binades), a few exact halves and zeros (unless
    `zeros` is False: a 0/0 makes a NaN); with `special`, infinities, NaN, subnormals and the largest
    floats too."""
    n = int(np.prod(shape)) if shape else 1
    spread = np.exp(rng.uniform(-6, np.log(scale), size=n))
    values = (rng.standard_normal(n) * spread).astype(np.float32)
    halves = rng.random(n) < 0.05
    values[halves] = (rng.integers(-20, 20, size=int(halves.sum())) / 2).astype(np.float32)
    if zeros:
        picks = rng.random(n) < 0.02
        values[picks] = np.where(rng.random(int(picks.sum())) < 0.5, 0.0, -0.0)
    else:
        values[values == 0] = 0.25
    if special:
        picks = rng.random(n) < 0.15
        values[picks] = rng.choice(SPECIAL, size=int(picks.sum()))
    return values.reshape(shape or (1,))


def make_float_inputs(graph, n: int, seed: int = 0, special: bool = False, scale: float = 4.0,
                      ranges: dict | None = None, zeros: bool = True) -> list[list[np.ndarray]]:
    """`n` records for `graph`'s inputs: float ones from float_values (or uniform in ranges[i] for input
    position i), integer ones uniform over their type."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(n):
        record = []
        for position, i in enumerate(graph.inputs):
            t = graph.tensors[i]
            np_type = DTYPES[t.dtype][0]
            shape = t.shape or (1,)
            if ranges and position in ranges:
                lo, hi = ranges[position]
                record.append(rng.uniform(lo, hi, size=shape).astype(np_type))
            elif np.issubdtype(np_type, np.floating):
                record.append(float_values(rng, shape, special, scale, zeros).astype(np_type))
            elif np_type is np.bool_:
                record.append(rng.random(shape) < 0.5)
            else:
                info = np.iinfo(np_type)
                record.append(rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=np_type))
        records.append(record)
    return records


QEMU_BOARDS = ("qemu-m55", "qemu-m0-an385")  # hard float (Helium core), soft float (ARMv6-M)


def assert_float_exact(graph, n_inputs: int = 12, boards=("host",), seed: int = 0, special: bool = False,
                       scale: float = 4.0, ranges: dict | None = None, backend: str | None = None,
                       zeros: bool = True, nan_bits_may_differ: bool = False):
    """Compile `graph` for each board, run it on the same float inputs and require TFLM's bytes.

    nan_bits_may_differ: where two NaNs meet in one operation (a NaN input and a NaN the arithmetic
    made), which one's bits come out depends on the order the compiler gave the operands; with it,
    a value may differ only by being a NaN of other bits where TFLM's is a NaN (verify reports them
    as such), every other value still byte for byte."""
    inputs = make_float_inputs(graph, n_inputs, seed, special, scale, ranges, zeros)
    compiled = None
    for name in boards:
        board = get_board(name)
        compiled = compile_graph(graph, board, backend=backend)
        runner = HostRunner(board) if board.runner == "host" else QemuRunner(board)
        run = runner.run(compiled, inputs)
        result = compare_outputs(compiled.model, compiled.graph, inputs, run.outputs)
        if nan_bits_may_differ:
            assert all(m.nan_only for m in result.mismatches), f"{name}: " + summarize(result, graph)
        else:
            assert result.ok, f"{name}: " + summarize(result, graph)
    return compiled
