"""QUANTIZE and DEQUANTIZE against TFLM: float models end to end (float input, float output),
every integer requantization pair TFLM accepts, TFLM's rounding of halves and its
behaviour on NaN, infinities and overflow; and the variants tinyq refuses."""

import zlib

import numpy as np
import pytest

import tinyq.verify.core
from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-1000, 1000), "int32": (-1000, 1000)}


def _quant(rng, dtype, lo=0.002, hi=0.2):
    zlo, zhi = ZERO_POINT_RANGE[dtype]
    return dict(scale=float(rng.uniform(lo, hi)), zero_point=int(rng.integers(zlo, zhi)))


def test_float_model_end_to_end():
    """float -> int8 -> RELU -> float, and float -> int16 -> int8 -> float, in one model."""
    rng = _rng("float")
    b = GraphBuilder("floatio")
    x = b.input((3, 17), dtype="float32")
    q = b.activation((3, 17), **_quant(rng, "int8"))
    r = b.activation((3, 17), **_quant(rng, "int8"))
    y = b.activation((3, 17), dtype="float32", name="relu_out")
    b.op("quantize", [x], [q])
    b.op("relu", [q], [r])
    b.op("dequantize", [r], [y])
    x2 = b.input((2, 4, 5), dtype="float32")
    q16 = b.activation((2, 4, 5), dtype="int16", scale=0.0004, zero_point=0)
    q8 = b.activation((2, 4, 5), **_quant(rng, "int8", 0.02, 0.05))
    y2 = b.activation((2, 4, 5), dtype="float32", name="int16_path_out")
    b.op("quantize", [x2], [q16])
    b.op("quantize", [q16], [q8])
    b.op("dequantize", [q8], [y2])
    compiled = assert_bit_exact(b.build([y, y2]), n_inputs=20)
    header = compiled.source.files["floatio_model.h"]
    assert "const float *in0" in header and "float *out0" in header


def test_small_float_model_read_back_from_tflite():
    """float in, QUANTIZE, ADD, LEAKY_RELU, CONCATENATION, MEAN, MUL, DEQUANTIZE, float out,
    written to .tflite bytes and read back, so every op's options make the round trip."""
    rng = _rng("mini")
    b = GraphBuilder("mini")
    x = b.input((1, 6, 5, 3), dtype="float32")
    q = b.activation((1, 6, 5, 3), **_quant(rng, "int8"))
    bias = b.const(rng.integers(-128, 128, size=(3,)), "int8", **_quant(rng, "int8"))
    s = b.activation((1, 6, 5, 3), **_quant(rng, "int8"))
    q_lr = _quant(rng, "int8")
    lr = b.activation((1, 6, 5, 3), **q_lr)
    cat = b.activation((1, 6, 5, 6), **q_lr)  # TFLM concatenates int8 without rescaling
    m = b.activation((1, 1, 1, 6), **_quant(rng, "int8"))
    sq = b.activation((1, 1, 1, 6), **_quant(rng, "int8"))
    y = b.activation((1, 1, 1, 6), dtype="float32")
    b.op("quantize", [x], [q])
    b.op("add", [q, bias], [s], fused_activation_function="RELU6")
    b.op("leaky_relu", [s], [lr], alpha=0.25)
    b.op("concatenation", [lr, lr], [cat], axis=-1)
    b.op("mean", [cat, b.const(np.array([1, 2], np.int32), "int32")], [m], keep_dims=True)
    b.op("mul", [m, m], [sq], fused_activation_function="NONE")
    b.op("dequantize", [sq], [y])
    graph = b.build([y])
    read = read_model(write_model(graph))
    assert [op.options for op in read.operators] == [op.options for op in graph.operators]
    assert_bit_exact(read, n_inputs=12)


REQUANTIZE_PAIRS = [("int8", "int8"), ("int8", "uint8"), ("int8", "int16"), ("int8", "int32"),
                    ("uint8", "int8"), ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
                    ("int32", "int8"), ("int32", "int16")]


def test_requantize_and_dequantize_every_type():
    rng = _rng("requant")
    b = GraphBuilder("convert")
    outputs = []

    def convert(op, src, dst, q_in, q_out):
        x = b.input((3, 7), dtype=src, **q_in)
        outputs.append(b.activation((3, 7), dtype=dst, **q_out, name=f"{src}_to_{dst}_{len(outputs)}"))
        b.op(op, [x], [outputs[-1]])

    for src, dst in REQUANTIZE_PAIRS:
        convert("quantize", src, dst, _quant(rng, src), _quant(rng, dst))
    convert("quantize", "int8", "int8", dict(scale=0.01, zero_point=3), dict(scale=0.3, zero_point=-3))  # ratio < 1
    convert("quantize", "int8", "int8", dict(scale=0.3, zero_point=3), dict(scale=0.01, zero_point=-3))  # ratio > 1
    # same scale, zero points 128 apart: TFLM's xor fast path
    convert("quantize", "int8", "uint8", dict(scale=0.05, zero_point=-2), dict(scale=0.05, zero_point=126))
    convert("quantize", "uint8", "int8", dict(scale=0.05, zero_point=130), dict(scale=0.05, zero_point=2))
    for src in ("int8", "uint8", "int16"):
        for _ in range(2):
            convert("dequantize", src, "float32", _quant(rng, src, 1e-4, 3.0), {})
    assert_bit_exact(b.build(outputs), n_inputs=12)


SPECIAL = np.array([np.nan, np.inf, -np.inf, 1e10, -1e10, 3e9, -3e9, 5.4e8, -5.4e8, 1000.0, -1000.0,
                    0.125, -0.125, 0.375, -0.375, 0.625, -0.625, np.nextafter(0.125, 0), -np.nextafter(0.125, 0),
                    -0.0, 1e-45, 31.875, -32.0, 32.125], dtype=np.float32)


def test_halves_nan_infinity_and_overflow(monkeypatch):
    """Halves round away from zero; out-of-int32 values and NaN follow TFLM's host build
    (INT32_MIN before the zero point is added, so the result depends on its sign)."""
    b = GraphBuilder("special")
    outputs = []
    for dtype in ("int8", "int16"):
        for zp in (-5, 0, 7):
            x = b.input(SPECIAL.shape, dtype="float32")
            outputs.append(b.activation(SPECIAL.shape, dtype=dtype, scale=0.25, zero_point=zp,
                                        name=f"{dtype}_zp{zp}"))
            b.op("quantize", [x], [outputs[-1]])
    graph = b.build(outputs)
    records = [[SPECIAL.copy() for _ in outputs], [-SPECIAL for _ in outputs]]
    monkeypatch.setattr(tinyq.verify.core, "make_inputs", lambda graph, n, seed=0: records)
    assert_bit_exact(graph, n_inputs=len(records))


def _compile(graph):
    return compile_graph(graph, get_board("host"))


@pytest.mark.parametrize("op, src, dst, message", [
    ("quantize", "float32", "uint8", "float32 -> uint8"),
    ("quantize", "float32", "int32", "float32 -> int32"),
    ("quantize", "int16", "uint8", "int16 -> uint8"),
    ("dequantize", "int32", "float32", "int32 -> float32"),
    ("dequantize", "int8", "int16", "int8 -> int16"),
])
def test_unsupported_type_pairs(op, src, dst, message):
    b = GraphBuilder("bad")
    x = b.input((4,), dtype=src, **({} if src == "float32" else dict(scale=0.1, zero_point=0)))
    y = b.activation((4,), dtype=dst, **({} if dst == "float32" else dict(scale=0.1, zero_point=0)))
    b.op(op, [x], [y])
    with pytest.raises(TinyqError, match=message):
        _compile(b.build([y]))


def test_per_channel_output_is_refused():
    b = GraphBuilder("bad")
    x = b.input((2, 3), dtype="float32")
    y = b.activation((2, 3), scale=[0.1, 0.2, 0.3], zero_point=0)
    b.op("quantize", [x], [y])
    with pytest.raises(TinyqError, match="per channel"):
        _compile(b.build([y]))


def test_constant_input_is_refused():
    b = GraphBuilder("bad")
    x = b.input((3,), scale=0.1, zero_point=0)
    c = b.const(np.ones(3, np.int8), "int8", scale=0.1, zero_point=0)
    f = b.activation((3,), dtype="float32")
    y = b.activation((3,), scale=0.1, zero_point=0)
    b.op("dequantize", [c], [f])
    b.op("add", [x, x], [y])
    with pytest.raises(TinyqError, match="constant"):
        _compile(b.build([y, f]))


def test_per_channel_constant_input_is_refused_as_tflm_reads_one_scale():
    """A weight-only quantized model (ai-edge-quantizer's): int8 weights, one scale per output channel,
    DEQUANTIZE to float for a float FULLY_CONNECTED. TFLM's DEQUANTIZE applies the tensor's first scale and
    zero point to every channel; folding the weights per channel gave other outputs than TFLM's."""
    from tinyq.golden import tflm_run

    scales = [0.01, 0.02, 0.05]
    b = GraphBuilder("weight_only")
    x = b.input((1, 4), dtype="float32")
    q = np.array([[10, -20, 30, -40], [5, 6, 7, 8], [-1, 2, -3, 4]], np.int8)
    w = b.activation((3, 4), dtype="float32")
    b.op("dequantize", [b.const(q, "int8", scale=scales, zero_point=[0, 0, 0], axis=0)], [w])
    y = b.activation((1, 3), dtype="float32")
    b.op("fully_connected", [x, w, -1], [y])
    graph = b.build([y])
    with pytest.raises(TinyqError, match="per channel; TFLM's DEQUANTIZE applies channel 0's scale"):
        _compile(graph)
    ones = np.ones((1, 4), np.float32)
    (golden,), = tflm_run(write_model(graph), [[ones]])
    np.testing.assert_allclose(golden, ones @ (q.astype(np.float32) * scales[0]).T, rtol=1e-6)
