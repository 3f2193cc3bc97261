"""PAD and PADV2 against TFLM: ranks 1-5, random paddings, the output zero point or a given (constant
or computed) value, int64 paddings; and what tinyq refuses."""

import dataclasses
import zlib

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify import summarize, verify_host


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def random_pads(rng, rank: int):
    shape = tuple(int(d) for d in rng.integers(1, 6, size=rank))
    pads = rng.integers(0, 4, size=(rank, 2))
    pads[rng.random(rank) < 0.3] = 0  # some dimensions unpadded
    return shape, pads


def add_pad(b: GraphBuilder, rng, x: int, shape, pads, *, value: str = "zero_point", paddings_dtype="int32",
            value_quant=None) -> int:
    """value: "zero_point" (PAD), "const" or "runtime" (PADV2, value a constant or a second graph input)."""
    q = b._tensors[x].quant
    # PAD copies bytes, so the output may be quantized differently from the input
    out_scale, out_zp = (q.s, q.zp) if rng.random() < 0.5 else (rng.uniform(0.01, 0.2), int(rng.integers(-90, 90)))
    inputs = [x, b.const(np.asarray(pads), paddings_dtype)]
    v_scale, v_zp = value_quant or (out_scale, out_zp)
    if value == "const":
        inputs.append(b.const([int(rng.integers(-128, 128))], "int8", scale=v_scale, zero_point=v_zp))
    elif value == "runtime":
        inputs.append(b.input((1,), scale=v_scale, zero_point=v_zp))
    out_shape = [int(d + lo + hi) for d, (lo, hi) in zip(shape, pads)]
    y = b.activation(out_shape, scale=out_scale, zero_point=out_zp)
    b.op("pad" if value == "zero_point" else "padv2", inputs, [y])
    return y


def pad_model(rng, rank: int, value: str, branches: int = 3, paddings_dtype="int32"):
    """Independent pads of independent inputs (each with its own rank-`rank` shape)."""
    b = GraphBuilder("pad")
    outs = []
    for _ in range(branches):
        shape, pads = random_pads(rng, rank)
        x = b.input(shape, scale=rng.uniform(0.01, 0.2), zero_point=int(rng.integers(-90, 90)))
        outs.append(add_pad(b, rng, x, shape, pads, value=value, paddings_dtype=paddings_dtype))
    return b.build(outs)


@pytest.mark.parametrize("value", ["zero_point", "const", "runtime"])
@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
def test_pad_variants(rank, value):
    rng = seeded("pad", rank, value)
    assert_bit_exact(pad_model(rng, rank, value, branches=2 if value == "runtime" else 3), n_inputs=8)


def test_pad_image_style_kws_like():
    """The common 4-D case: only height and width padded (TFLM's image-style path)."""
    b = GraphBuilder("pad")
    x = b.input((1, 13, 7, 16), scale=0.07, zero_point=-12)
    y = add_pad(b, seeded("image"), x, (1, 13, 7, 16), [[0, 0], [1, 2], [2, 1], [0, 0]])
    assert_bit_exact(b.build([y]), n_inputs=8)


def test_pad_int64_paddings_mean_what_they_say():
    """TFLM misreads int64 paddings as int32 and refuses the model; tinyq pads by their values,
    matching TFLM's result on the same model with int32 paddings."""
    board = get_board("host")
    graph64 = pad_model(seeded("int64"), 4, "const", paddings_dtype="int64")
    graph32 = pad_model(seeded("int64"), 4, "const", paddings_dtype="int32")
    compiled = compile_graph(graph64, board)
    result = verify_host(dataclasses.replace(compiled, model=write_model(graph32)), board, n_inputs=8)
    assert result.ok, summarize(result, graph32)


def _lower_error(graph, op="pad") -> str:
    with pytest.raises(UnsupportedError) as info:
        compile_graph(graph, get_board("host"))
    message = str(info.value)
    assert f"({op})" in message
    return message


def test_pad_non_constant_paddings_unsupported():
    b = GraphBuilder("pad")
    x = b.input((2, 3), scale=0.1, zero_point=0)
    p = b.input((2, 2), "int32")
    y = b.activation((4, 5), scale=0.1, zero_point=0)
    b.op("pad", [x, p], [y])
    assert "paddings must be a constant" in _lower_error(b.build([y]))


def test_pad_negative_paddings_unsupported():
    b = GraphBuilder("pad")
    x = b.input((2, 3), scale=0.1, zero_point=0)
    y = b.activation((2, 2), scale=0.1, zero_point=0)
    b.op("pad", [x, b.const(np.array([[0, 0], [-1, 0]]), "int32")], [y])
    assert "negative" in _lower_error(b.build([y]))


def test_pad_six_dimensions_unsupported():
    b = GraphBuilder("pad")
    x = b.input((1,) * 6, scale=0.1, zero_point=0)
    y = b.activation((1,) * 5 + (3,), scale=0.1, zero_point=0)
    b.op("pad", [x, b.const(np.array([[0, 0]] * 5 + [[1, 1]]), "int32")], [y])
    assert "6-D" in _lower_error(b.build([y]))


def test_pad_int16_to_int8_unsupported():
    """int16 PAD runs (tests/test_int16_ops.py); PAD does not convert types."""
    b = GraphBuilder("pad")
    x = b.input((2, 3), "int16", scale=0.1, zero_point=0)
    y = b.activation((2, 5), "int8", scale=0.1, zero_point=0)
    b.op("pad", [x, b.const(np.array([[0, 0], [1, 1]]), "int32")], [y])
    assert "int16 -> int8 padding" in _lower_error(b.build([y]))


def test_padv2_value_quantized_differently_unsupported():
    b = GraphBuilder("pad")
    x = b.input((2, 3), scale=0.1, zero_point=0)
    y = add_pad(b, seeded("vq"), x, (2, 3), [[0, 0], [1, 1]], value="const", value_quant=(0.5, 1))
    assert "quantized like the output" in _lower_error(b.build([y]), "padv2")
