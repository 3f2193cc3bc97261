"""CUMSUM against TFLM: every axis (negative too), exclusive and reverse, ranks 1 to 5, long
axes whose int32 running sum wraps (TFLM's does too), zero points at -128/127, scale ratios;
and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def add_cumsum(b, x, shape, axis, exclusive, reverse, quants):
    axis_t = b.const(np.array(axis, np.int32), "int32")
    y = b.activation(shape, **quants[1], name=f"cumsum{list(shape)}{axis}{exclusive}{reverse}")
    b.op("cumsum", [x, axis_t], [y], exclusive=exclusive, reverse=reverse)
    return y


def cumsum_graph(name, cases, rng):
    """cases: (shape, axis, exclusive, reverse[, (input quant, output quant)])."""
    b = GraphBuilder(name)
    outs = []
    for shape, axis, exclusive, reverse, *quants in cases:
        q = quants[0] if quants else (dict(scale=float(rng.uniform(0.01, 0.1)), zero_point=int(rng.integers(-60, 60))),
                                      dict(scale=float(rng.uniform(0.05, 0.5)), zero_point=int(rng.integers(-60, 60))))
        x = b.input(shape, **q[0])
        outs.append(add_cumsum(b, x, shape, axis, exclusive, reverse, q))
    return b.build(outs)


def test_every_axis_and_option():
    rng = _rng("options")
    cases = [(shape, axis, ex, rev) for shape, axis in (((9,), 0), ((4, 6), 0), ((4, 6), -1), ((3, 4, 5), 1),
                                                        ((2, 3, 1, 4), 2), ((2, 2, 3, 2, 3), -2))
             for ex in (False, True) for rev in (False, True)]
    assert_bit_exact(cumsum_graph("cumsum_options", cases, rng), n_inputs=10)


def test_long_axes_wrap_and_saturate():
    """Up to 300 terms of up to 255 << 19: the int32 running sum wraps (the all-max and all-min edge
    inputs); outputs far outside int8 clamp; zero points at the ends of the range."""
    q = lambda s, z: dict(scale=s, zero_point=z)  # noqa: E731
    cases = [((300,), 0, False, False, (q(0.05, -128), q(0.5, 127))),
             ((2, 40), 1, True, True, (q(0.02, 127), q(0.1, -128))),
             ((70, 3), 0, False, True, (q(0.1, 0), q(8.0, 0))),
             ((5, 8), 1, False, False, (q(0.5, 3), q(0.01, -5)))]
    assert_bit_exact(cumsum_graph("cumsum_long", cases, _rng("long")), n_inputs=12)


def test_in_place_over_its_input():
    """Each element is read before its output is written: the output takes the bytes of an input that
    dies at the op (here a RELU's output), and stays bit-exact."""
    b = GraphBuilder("cumsum_inplace")
    q = dict(scale=0.05, zero_point=-10)
    x = b.input((4, 6), **q)
    r = b.activation((4, 6), **q)
    b.op("relu", [x], [r])
    y = add_cumsum(b, r, (4, 6), 1, True, True, (q, dict(scale=0.2, zero_point=7)))
    compiled = assert_bit_exact(b.build([y]), n_inputs=8)
    assert compiled.bound.ops[1].inplace is not None
    assert compiled.plan.tensor_offset(y) == compiled.plan.tensor_offset(r)


def _compile(graph):
    return compile_graph(graph, get_board("host"))


def _bad(axis=(0,), axis_const=True, axis_dtype="int32", out_shape=(2, 3), dtype="int8", out_scale=0.1):
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype=dtype, scale=0.1, zero_point=0)
    axis_t = b.const(np.array(axis), axis_dtype) if axis_const else b.input((1,), dtype="int32")
    y = b.activation(out_shape, dtype=dtype, scale=out_scale, zero_point=0)
    b.op("cumsum", [x, axis_t], [y])
    return b.build([y])


@pytest.mark.parametrize("kwargs, message", [
    (dict(axis=(0, 1)), "holds 2 values; TFLM requires one"),
    (dict(axis_const=False), "axis must be a constant"),
    (dict(axis_dtype="int64"), "TFLM requires int32"),
    (dict(axis=(2,)), "axis 2 is out of range"),
    (dict(out_shape=(3, 2)), "TFLM requires the same shape"),
    (dict(dtype="int16"), "only int8"),
    (dict(out_scale=1e-9), "output scale is too small"),
])
def test_unsupported_variants(kwargs, message):
    with pytest.raises(TinyqError, match=message):
        _compile(_bad(**kwargs))


@pytest.mark.parametrize("exclusive", [False, True])
def test_quantized_cumsum_has_no_offset_error(exclusive):
    """TFLM's int8 running sum starts at the input offset, so every output carried -zp_in * s_in: a PyTorch
    cumsum over a linear layer's output (zero point -11) lost 19.6 dB there (38.7 dB in, 19.1 out).
    The quantizer gives CUMSUM's input zero point 0: the sums lose no more than their rounding."""
    from tinyq.quantize import quantize_graph
    from tinyq.quantize.report import sqnr_report

    rng = _rng("offset")
    b = GraphBuilder("cumsum_offset")
    x = b.input((1, 12), "float32")
    y = b.activation((1, 12), "float32")
    b.op("cumsum", [x, b.const(np.array(1, np.int32), "int32")], [y], exclusive=exclusive, reverse=False)
    calib = [rng.uniform(-0.3, 1.0, (48, 12)).astype(np.float32)]  # lopsided: an affine zero point far from 0
    result = quantize_graph(b.build([y]), calib)
    q = result.graph
    assert_bit_exact(q, n_inputs=6)
    rows = sqnr_report(result.float_graph, q, [[v[None]] for v in calib[0][:16]]).rows
    x_row, y_row = rows[0], next(r for r in rows if r.op == "cumsum")
    assert y_row.sqnr_db > x_row.sqnr_db - 6, f"cumsum {y_row.sqnr_db:.1f} dB from an input at {x_row.sqnr_db:.1f} dB"
