"""StableHLO ops that litert-torch (ai-edge-torch) writes for PyTorch pools quantize into TFLM's pools
(tinyq/passes/tflm_equivalents.py): nn.AvgPool2d(count_include_pad=False) is a STABLEHLO_REDUCE_WINDOW sum divided
by the same windows' sum over a constant of ones where PyTorch's padding is not TFLite's SAME (an even input with
stride 2, ceil_mode), and a STABLEHLO_COMPOSITE around an AVERAGE_POOL_2D where it is. Both were refused as ops
TFLM has no kernel for. Their options live in the operator's builtin_options_2, which tinyq now reads and
writes. The rewritten float graph run by TFLM equals LiteRT running the original; the quantized one is bit-exact."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.ops.base import RawOptions
from tinyq.ops.pooling import Pool2DOptions
from tinyq.passes.tflm_equivalents import with_tflm_ops
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.floatrun import FloatRunner
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model

RNG = np.random.default_rng(3)


def window_options(k, s, pads, body, dilation=1):
    values = {"baseDilations": (1, 1, 1, 1), "bodySubgraphIndex": body,
              "padding": (0, 0, *pads[0], *pads[1], 0, 0), "windowDilations": (1, dilation, dilation, 1),
              "windowDimensions": (1, k, k, 1), "windowStrides": (1, s, s, 1)}
    return RawOptions("StablehloReduceWindowOptions", tuple(sorted(values.items())))


def reduction_body(b, op):
    body = b.subgraph(op)
    left, right, out = (body.input((), dtype="float32"), body.input((), dtype="float32"),
                        body.activation((), dtype="float32"))
    body.op(op, [left, right], [out])
    body.set_outputs([out])
    return body.index


def pooled(size, k, s, pads):
    return [(size + sum(p) - k) // s + 1 for p in pads]


def avg_no_pad_graph(size, k, s, pads):
    """nn.AvgPool2d(k, s, count_include_pad=False) as litert-torch writes it: the windows' sums of x divided by
    their sums over ones (the elements inside each window)."""
    b = GraphBuilder("avg_pool_counts")
    x = b.input((1, size, size, 4), dtype="float32")
    out = (1, *pooled(size, k, s, pads))
    total, count, y = (b.activation(out + (4,), dtype="float32"), b.activation(out + (1,), dtype="float32"),
                       b.activation(out + (4,), dtype="float32"))
    zero = b.const(np.zeros((), np.float32), "float32")
    b.op("stablehlo_reduce_window", [x, zero], [total], options=window_options(k, s, pads, reduction_body(b, "add")))
    ones = b.const(np.ones((1, size, size, 1), np.float32), "float32")
    b.op("stablehlo_reduce_window", [ones, zero], [count], options=window_options(k, s, pads, reduction_body(b, "add")))
    b.op("div", [total, count], [y])
    return b.build([y])


def max_pool_graph(size, k, s, pads, dilation=1):
    b = GraphBuilder("max_windows")
    x = b.input((1, size, size, 4), dtype="float32")
    span = (k - 1) * dilation + 1
    y = b.activation((1, *pooled(size, span, s, pads), 4), dtype="float32")
    lowest = b.const(np.full((), -np.inf, np.float32), "float32")
    b.op("stablehlo_reduce_window", [x, lowest], [y],
         options=window_options(k, s, pads, reduction_body(b, "maximum"), dilation))
    return b.build([y])


def as_litert(graph, size):
    """The rewritten graph in TFLM equals LiteRT running the StableHLO original (written and read back by
    tinyq, builtin_options_2 included); the rewritten graph is returned."""
    back = read_model(write_model(graph))
    assert [op.options for op in back.operators] == [op.options for op in graph.operators]
    rewritten = with_tflm_ops(graph)
    assert not any(op.op.startswith("stablehlo") for op in rewritten.operators) and not rewritten.subgraphs
    runner = FloatRunner(graph)
    for x in RNG.normal(0, 1, (4, 1, size, size, 4)).astype(np.float32):
        np.testing.assert_allclose(tflm_run(write_model(rewritten), [[x]])[0][0], runner.outputs([x])[0],
                                   rtol=1e-5, atol=1e-6)
    return rewritten


def quantized_bit_exact(graph, size, activations):
    calib = RNG.normal(0, 1, (32, size, size, 4)).astype(np.float32)
    q = quantize_graph(graph, [calib], QuantizeConfig(activations=activations)).graph
    assert not any(op.op.startswith("stablehlo") for op in q.operators)
    assert_bit_exact(q, n_inputs=8)


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("size, k, s, pads, ops", [
    (8, 3, 2, ((1, 1), (1, 1)), ["pad", "average_pool_2d", "mul"]),  # PyTorch pads before, TFLite's SAME after
    (7, 3, 2, ((1, 1), (1, 1)), ["average_pool_2d"]),  # the same windows as TFLite's SAME
    (7, 2, 2, ((0, 1), (0, 1)), ["average_pool_2d"]),  # ceil_mode=True (ResNet-D's avg_down)
    (8, 2, 2, ((1, 1), (1, 1)), ["pad", "average_pool_2d", "mul"]),
])
def test_avg_pool_without_padding_counted_quantizes(size, k, s, pads, ops, activations):
    graph = avg_no_pad_graph(size, k, s, pads)
    rewritten = as_litert(graph, size)
    assert [op.op for op in rewritten.operators] == ops
    if ops == ["average_pool_2d"]:
        assert rewritten.operators[0].options.padding == "SAME"
    quantized_bit_exact(graph, size, activations)


def test_a_window_sum_is_an_average_pool_times_its_area():
    """divisor_override: the sum alone, then a MUL by the user's 1/divisor."""
    b = GraphBuilder("window_sum")
    x = b.input((1, 8, 8, 4), dtype="float32")
    total, y = b.activation((1, 4, 4, 4), dtype="float32"), b.activation((1, 4, 4, 4), dtype="float32")
    b.op("stablehlo_reduce_window", [x, b.const(np.zeros((), np.float32), "float32")], [total],
         options=window_options(2, 2, ((0, 0), (0, 0)), reduction_body(b, "add")))
    b.op("mul", [total, b.const(np.full((), 1 / 3, np.float32), "float32")], [y])
    graph = b.build([y])
    assert [op.op for op in as_litert(graph, 8).operators] == ["average_pool_2d", "mul", "mul"]
    quantized_bit_exact(graph, 8, "int8")


@pytest.mark.parametrize("size, pads, ops", [
    (8, ((1, 1), (1, 1)), ["padv2", "max_pool_2d"]),
    (7, ((1, 1), (1, 1)), ["max_pool_2d"]),
    (9, ((0, 0), (0, 0)), ["max_pool_2d"]),
])
def test_max_windows_quantize_as_max_pool(size, pads, ops):
    graph = max_pool_graph(size, 3, 2, pads)
    assert [op.op for op in as_litert(graph, size).operators] == ops
    quantized_bit_exact(graph, size, "int8")


@pytest.mark.parametrize("size, pads", [(8, ((0, 0), (0, 0))), (9, ((2, 2), (2, 2)))])
def test_dilated_max_windows_quantize_as_slices_and_maximums(size, pads):
    """nn.MaxPool2d(3, dilation=2): TFLite's pools have no dilation, so one strided slice per window
    position and their MAXIMUM (refused before as an op TFLM has no kernel for)."""
    graph = max_pool_graph(size, 3, 1 if pads[0] == (0, 0) else 2, pads, dilation=2)
    kinds = [op.op for op in as_litert(graph, size).operators]
    assert kinds.count("strided_slice") == 9 and kinds.count("maximum") == 8 and \
        kinds.count("padv2") == (pads[0] != (0, 0))
    quantized_bit_exact(graph, size, "int8")


def test_a_dilated_window_sum_is_still_refused():
    b = GraphBuilder("dilated_sum")
    x = b.input((1, 8, 8, 4), dtype="float32")
    y = b.activation((1, 4, 4, 4), dtype="float32")
    b.op("stablehlo_reduce_window", [x, b.const(np.zeros((), np.float32), "float32")], [y],
         options=window_options(3, 1, ((0, 0), (0, 0)), reduction_body(b, "add"), dilation=2))
    graph = b.build([y])
    assert with_tflm_ops(graph) is graph
    with pytest.raises(UnsupportedError, match="stablehlo_reduce_window.*TFLM has no kernel"):
        quantize_graph(graph, [RNG.normal(0, 1, (8, 8, 8, 4)).astype(np.float32)])


def test_a_composite_runs_its_decomposition():
    """litert-torch's aten.avg_pool2d composite (NCHW in and out, transposed around TFLite's pool): inlined."""
    b = GraphBuilder("composite")
    x = b.input((1, 4, 7, 7), dtype="float32")
    y = b.activation((1, 4, 4, 4), dtype="float32")
    body = b.subgraph("aten.avg_pool2d.default.impl")
    inner_x, nhwc, pooled_nhwc, inner_y = (body.input((1, 4, 7, 7), dtype="float32"),
                                           body.activation((1, 7, 7, 4), dtype="float32"),
                                           body.activation((1, 4, 4, 4), dtype="float32"),
                                           body.activation((1, 4, 4, 4), dtype="float32"))
    body.op("transpose", [inner_x, body.const(np.array([0, 2, 3, 1], np.int32), "int32")], [nhwc])
    body.op("average_pool_2d", [nhwc], [pooled_nhwc], options=Pool2DOptions(
        padding="SAME", stride_w=2, stride_h=2, filter_width=3, filter_height=3))
    body.op("transpose", [pooled_nhwc, body.const(np.array([0, 3, 1, 2], np.int32), "int32")], [inner_y])
    body.set_outputs([inner_y])
    values = {"compositeAttributes": (), "compositeAttributesFormat": 0, "decompositionSubgraphIndex": body.index,
              "name": b"aten.avg_pool2d.default", "version": 0}
    b.op("stablehlo_composite", [x], [y], options=RawOptions("StableHLOCompositeOptions", tuple(sorted(values.items()))))
    graph = b.build([y])
    rewritten = with_tflm_ops(graph)
    assert [op.op for op in rewritten.operators] == ["transpose", "average_pool_2d", "transpose"]
    assert not rewritten.subgraphs and rewritten.outputs == graph.outputs
    runner = FloatRunner(graph)
    for sample in RNG.normal(0, 1, (4, 1, 4, 7, 7)).astype(np.float32):
        np.testing.assert_allclose(tflm_run(write_model(rewritten), [[sample]])[0][0], runner.outputs([sample])[0],
                                   rtol=1e-6, atol=1e-7)
    calib = RNG.normal(0, 1, (32, 4, 7, 7)).astype(np.float32)
    assert_bit_exact(quantize_graph(graph, [calib]).graph, n_inputs=8)
