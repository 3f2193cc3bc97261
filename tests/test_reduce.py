"""REDUCE_MAX, REDUCE_MIN (int8) and REDUCE_ALL (bool) against TFLM: every axis combination
(negative, repeated, none, all), keep_dims, ranks 1 to 6; the variants tinyq refuses; and the
reduction family (these, ARG_MAX/ARG_MIN, CUMSUM) on the host and under QEMU in one graph."""

import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets
from test_arg_min_max import add_arg
from test_cumsum import add_cumsum
from tinyq.boards import get_board
from tinyq.driver import compile_file, compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize, verify_host


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def out_shape(shape, axes, keep):
    resolved = {a % len(shape) for a in axes}
    if keep:
        return tuple(1 if d in resolved else n for d, n in enumerate(shape))
    return tuple(n for d, n in enumerate(shape) if d not in resolved)


def add_reduce(b, op, x, shape, axes, keep, quant):
    dtype = "bool" if op == "reduce_all" else "int8"
    axis = b.const(np.array(axes, np.int32).reshape(-1), "int32")
    y = b.activation(out_shape(shape, axes, keep), dtype=dtype, **quant, name=f"{op}{list(shape)}{axes}{keep}")
    b.op(op, [x, axis], [y], keep_dims=keep)
    return y


def reduce_graph(name, cases, rng):
    """cases: (op, shape, axes, keep_dims) -> one op each on its own input (int8 ops keep the
    input's quantization, as TFLM requires)."""
    b = GraphBuilder(name)
    outs = []
    for op, shape, axes, keep in cases:
        quant = {} if op == "reduce_all" else dict(scale=float(rng.uniform(0.01, 0.2)),
                                                  zero_point=int(rng.integers(-128, 128)))
        x = b.input(shape, dtype="bool" if op == "reduce_all" else "int8", **quant)
        outs.append(add_reduce(b, op, x, shape, axes, keep, quant))
    return b.build(outs)


AXES = [((7,), [0], False), ((4, 9), [1], False), ((4, 9), [0], True), ((4, 9), [-1, 0], False),
        ((3, 4, 5), [1], True), ((3, 4, 5), [0, 2], False), ((3, 4, 5), [2, 2, -1], True),
        ((2, 3, 4, 5), [1, 2], True), ((2, 3, 4, 5), [0, 1, 2, 3], False), ((2, 3, 4, 5), [], False),
        ((1, 6, 6, 8), [1, 2], False), ((2, 1, 3, 1, 2, 3), [0, 2, 5], True), ((5, 1, 3), [1], False)]


@pytest.mark.parametrize("op", ["reduce_max", "reduce_min", "reduce_all"])
def test_every_axis_combination(op):
    rng = _rng(op)
    assert_bit_exact(reduce_graph(op, [(op, s, a, k) for s, a, k in AXES], rng), n_inputs=12)


def test_extreme_zero_points():
    """The identities (-128 for MAX, 127 for MIN) are values the input can hold."""
    b = GraphBuilder("reduce_zp")
    outs = []
    for op in ("reduce_max", "reduce_min"):
        for zp in (-128, 127):
            q = dict(scale=0.05, zero_point=zp)
            outs.append(add_reduce(b, op, b.input((3, 8), **q), (3, 8), [1], False, q))
    assert_bit_exact(b.build(outs), n_inputs=12)


def test_reduction_family_on_every_target():
    """ARG_MAX/ARG_MIN, REDUCE_MAX/MIN/ALL and CUMSUM in one graph: host, Cortex-M55 and ARMv6-M."""
    b = GraphBuilder("reductions")
    q = dict(scale=0.07, zero_point=-9)
    x = b.input((2, 5, 6), **q)
    flags = b.input((3, 4, 5), dtype="bool")
    outs = [add_arg(b, "arg_max", x, (2, 5, 6), 1), add_arg(b, "arg_min", x, (2, 5, 6), -1),
            add_reduce(b, "reduce_max", x, (2, 5, 6), [0, 2], True, q),
            add_reduce(b, "reduce_min", x, (2, 5, 6), [1], False, q),
            add_reduce(b, "reduce_all", flags, (3, 4, 5), [-1], False, {}),
            add_reduce(b, "reduce_all", flags, (3, 4, 5), [0, 1], True, {}),
            add_cumsum(b, x, (2, 5, 6), 1, False, False, (q, dict(scale=0.2, zero_point=3))),
            add_cumsum(b, x, (2, 5, 6), -1, True, True, (q, dict(scale=0.3, zero_point=-128)))]
    assert_bit_exact_on_targets(b.build(outs), n_inputs=6)


def test_converter_reductions():
    """ARG_MAX (int32), REDUCE_MAX over two axes and REDUCE_MIN with keep_dims as TFLite's converter writes
    them; TFLM runs the file's own bytes."""
    board = get_board("host")
    compiled = compile_file(Path(__file__).resolve().parent / "data" / "converter" / "reductions.tflite", board)
    assert {"arg_max", "reduce_max", "reduce_min"} <= {op.op for op in compiled.graph.operators}
    result = verify_host(compiled, board, n_inputs=20)
    assert result.ok, summarize(result, compiled.graph)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(op="reduce_max", dtype="int8", out_dtype=None, out_quant=(0.1, 0), axis_dtype="int32", axis_const=True,
         axes=(1,), out_shape=(2,)):
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype=dtype, scale=0.1, zero_point=0)
    axis = b.const(np.array(axes), axis_dtype) if axis_const else b.input((1,), dtype="int32")
    y = b.activation(out_shape, dtype=out_dtype or dtype, scale=out_quant[0], zero_point=out_quant[1])
    b.op(op, [x, axis], [y], keep_dims=False)
    return b.build([y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(out_quant=(0.2, 0)), r"differ from the input's .*TFLM requires them equal"),
    (dict(out_quant=(0.1, 3)), r"differ from the input's .*TFLM requires them equal"),
    (dict(dtype="int16"), "REDUCE_MAX input is int16; only int8"),
    (dict(dtype="bool"), "REDUCE_MAX input is bool; only int8"),
    (dict(op="reduce_all"), "REDUCE_ALL input is int8; only bool"),
    (dict(axis_const=False), "axis must be a constant"),
    (dict(axis_dtype="int64"), "TFLM requires int32"),
    (dict(axes=(-3,)), "axis -3 is out of range"),
    (dict(out_shape=(3,)), "does not match"),
])
def test_unsupported_variants(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(**kwargs))
