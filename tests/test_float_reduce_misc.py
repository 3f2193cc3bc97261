"""float32 MEAN, SUM, REDUCE_MAX, REDUCE_MIN, TRANSPOSE_CONV, RESIZE_BILINEAR, BATCH_MATMUL, L2_NORMALIZATION,
CUMSUM, ADD_N, the comparisons, ARG_MAX and ARG_MIN against TFLM's reference float kernels: every option,
bit for bit on the host (special values too) and, one merged graph per family, under QEMU (hard and soft
float)."""

import zlib

import numpy as np
import pytest

from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.tflite.builder import GraphBuilder


def _rng(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


REDUCE_CASES = [  # shape, axes, keep_dims
    ((2, 5, 6, 3), [1, 2], True),   # TFLM's 4-D axes (1, 2) MEAN
    ((2, 5, 6, 3), [2, 1], False),
    ((3, 7), [-1], False),
    ((4, 3, 5), [0, 2], True),
    ((2, 3, 4, 5, 2), [1, 3, 1], False),  # repeated axis
    ((6,), [0], True),
    ((2, 3), [], True),  # no axis: every element through 0 + x
]


def reduce_graph(name="reduce"):
    b = GraphBuilder(name)
    outs = []
    for op in ("mean", "sum", "reduce_max", "reduce_min"):
        for shape, axes, keep in REDUCE_CASES:
            x = b.input(shape, dtype="float32")
            axis = b.const(np.array(axes, np.int32), "int32")
            resolved = {a % len(shape) for a in axes}
            out_shape = tuple(1 if i in resolved else d for i, d in enumerate(shape) if keep or i not in resolved)
            y = b.activation(out_shape, dtype="float32", name=f"{op}{shape}{axes}")
            b.op(op, [x, axis], [y], keep_dims=keep)
            outs.append(y)
    return b.build(outs)


def transpose_conv_graph(rng, name="tconv"):
    b = GraphBuilder(name)
    outs = []
    # input, out channels, filter hw, stride hw, padding, output hw, bias, activation
    cases = [((1, 3, 4, 2), 3, (3, 3), (2, 2), "SAME", (6, 8), True, "NONE"),
             ((2, 4, 4, 3), 2, (3, 3), (1, 1), "VALID", (6, 6), False, "RELU"),
             ((1, 3, 3, 4), 5, (5, 4), (3, 2), "VALID", (11, 8), True, "RELU6"),
             ((1, 5, 5, 2), 2, (2, 2), (2, 2), "SAME", (10, 10), True, "RELU_N1_TO_1")]
    for shape, oc, (fh, fw), (sh, sw), pad, (oh, ow), bias, act in cases:
        x = b.input(shape, dtype="float32")
        w = b.const((rng.standard_normal((oc, fh, fw, shape[3])) * 0.5).astype(np.float32), "float32")
        out_shape = b.const(np.array([shape[0], oh, ow, oc], np.int32), "int32")
        operands = [out_shape, w, x] + ([b.const(rng.standard_normal(oc).astype(np.float32), "float32")] if bias else [])
        y = b.activation((shape[0], oh, ow, oc), dtype="float32")
        b.op("transpose_conv", operands, [y], padding=pad, stride_h=sh, stride_w=sw, fused_activation_function=act)
        outs.append(y)
    return b.build(outs)


def resize_graph(name="resize"):
    b = GraphBuilder(name)
    outs = []
    for shape, size, align, half in (((1, 3, 4, 2), (6, 8), False, False), ((2, 5, 5, 3), (3, 7), True, False),
                                     ((1, 4, 3, 2), (9, 5), False, True), ((1, 6, 6, 1), (2, 3), False, True),
                                     ((1, 1, 1, 2), (3, 3), True, False)):
        x = b.input(shape, dtype="float32")
        s = b.const(np.array(size, np.int32), "int32")
        y = b.activation((shape[0], *size, shape[3]), dtype="float32", name=f"resize{shape}{size}{align}{half}")
        b.op("resize_bilinear", [x, s], [y], align_corners=align, half_pixel_centers=half)
        outs.append(y)
    return b.build(outs)


def matmul_graph(rng, name="matmul"):
    b = GraphBuilder(name)
    outs = []
    for lhs_shape, rhs_shape, adj_x, adj_y, const_rhs in (((2, 3, 4), (2, 4, 5), False, False, False),
                                                          ((3, 4), (5, 4), False, True, True),
                                                          ((2, 1, 4, 3), (3, 4, 6), True, False, False),
                                                          ((1, 2, 6, 70), (70, 3), False, False, True)):
        lhs = b.input(lhs_shape, dtype="float32")
        rhs = (b.const(rng.standard_normal(rhs_shape).astype(np.float32), "float32") if const_rhs
               else b.input(rhs_shape, dtype="float32"))
        rows = lhs_shape[-1] if adj_x else lhs_shape[-2]
        cols = rhs_shape[-2] if adj_y else rhs_shape[-1]
        batch = np.broadcast_shapes(lhs_shape[:-2], rhs_shape[:-2])
        y = b.activation((*batch, rows, cols), dtype="float32")
        b.op("batch_matmul", [lhs, rhs], [y], adj_x=adj_x, adj_y=adj_y)
        outs.append(y)
    return b.build(outs)


def rows_graph(name="rows"):
    """L2_NORMALIZATION, CUMSUM (every option) and ADD_N."""
    b = GraphBuilder(name)
    outs = []
    for shape in ((1, 10), (3, 4, 6)):
        x = b.input(shape, dtype="float32")
        outs.append(b.activation(shape, dtype="float32", name=f"l2norm{shape}"))
        b.op("l2_normalization", [x], [outs[-1]])
    x = b.input((3, 4, 5), dtype="float32")
    for axis in (0, 1, -1):
        for exclusive in (False, True):
            for reverse in (False, True):
                outs.append(b.activation((3, 4, 5), dtype="float32", name=f"cumsum{axis}{exclusive}{reverse}"))
                b.op("cumsum", [x, b.const(np.array([axis], np.int32), "int32")], [outs[-1]],
                     exclusive=exclusive, reverse=reverse)
    ins = [b.input((2, 7), dtype="float32") for _ in range(3)] + [b.const(np.full((2, 7), 0.1, np.float32), "float32")]
    outs.append(b.activation((2, 7), dtype="float32", name="add_n"))
    b.op("add_n", ins, [outs[-1]])
    return b.build(outs)


def compare_graph(name="compare"):
    b = GraphBuilder(name)
    outs = []
    for op in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal"):
        for sa, sb in (((3, 5), (3, 5)), ((2, 1, 4), (3, 1))):
            x = b.input(sa, dtype="float32")
            y = b.input(sb, dtype="float32")
            outs.append(b.activation(np.broadcast_shapes(sa, sb), dtype="bool", name=f"{op}{sa}{sb}"))
            b.op(op, [x, y], [outs[-1]])
    for op in ("arg_max", "arg_min"):
        for shape, axis in (((4, 6), 1), ((3, 5, 2), 0), ((2, 3, 4), -2)):
            x = b.input(shape, dtype="float32")
            out_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
            outs.append(b.activation(out_shape, dtype="int32", name=f"{op}{shape}{axis}"))
            b.op(op, [x, b.const(np.array([axis], np.int32), "int32")], [outs[-1]], output_type=2)
    return b.build(outs)


def test_reductions():
    assert_float_exact(reduce_graph(), n_inputs=10)
    assert_float_exact(reduce_graph("reduce_special"), n_inputs=6, special=True, seed=3)


def test_transpose_conv():
    assert_float_exact(transpose_conv_graph(_rng("tconv")), n_inputs=8)
    assert_float_exact(transpose_conv_graph(_rng("tconv2"), "tconv_special"), n_inputs=4, special=True, seed=2)


def test_resize_bilinear():
    assert_float_exact(resize_graph(), n_inputs=10)
    assert_float_exact(resize_graph("resize_special"), n_inputs=4, special=True, seed=2)


def test_batch_matmul():
    assert_float_exact(matmul_graph(_rng("matmul")), n_inputs=8)


def test_l2_normalization_cumsum_add_n():
    assert_float_exact(rows_graph(), n_inputs=10)
    assert_float_exact(rows_graph("rows_special"), n_inputs=6, special=True, seed=1)


def test_comparisons_and_arg_min_max():
    """Ties decide ARG_MAX/ARG_MIN (the first index wins): small integers make many."""
    graph = compare_graph()
    assert_float_exact(graph, n_inputs=8)
    assert_float_exact(graph, n_inputs=6, seed=4, ranges={i: (-2, 2) for i in range(len(graph.inputs))})
    assert_float_exact(compare_graph("compare_special"), n_inputs=6, special=True, seed=2)


@pytest.mark.parametrize("family", ["reduce_rows_compare", "windows_matmul"])
def test_families_on_targets(family):
    from test_float_conv import _merge

    b = GraphBuilder(f"float_{family}")
    graphs = ((reduce_graph(), rows_graph(), compare_graph()) if family == "reduce_rows_compare"
              else (transpose_conv_graph(_rng("t")), resize_graph(), matmul_graph(_rng("m"))))
    outs = [o for g in graphs for o in _merge(b, g)]
    assert_float_exact(b.build(outs), n_inputs=3, boards=("host", *QEMU_BOARDS))
