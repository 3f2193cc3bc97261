"""Ops TFLM has no kernel for quantize into ops it has (tinyq/passes/tflm_equivalents.py), so `tinyq quantize`
no longer refuses the unseen PyTorch and Keras models that had them: a float GELU (nn.GELU: transformers,
MLP-Mixers) as x * sigmoid(2 sqrt(2/pi) (x + 0.044715 x^3)), measured against the original float model, GELU
included; SELECT (torch.where) as SELECT_V2; POW by 2, 0.5 or -0.5 as MUL, SQRT, RSQRT."""

from dataclasses import replace

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.golden import tflm_run
from tinyq.ops.gelu import GeluOptions
from tinyq.passes.split_concat import split_wide_concatenations
from tinyq.passes.tflm_equivalents import with_tflm_ops
from tinyq.quantize import quantize_graph
from tinyq.quantize.config import QuantizeConfig
from tinyq.quantize.floatrun import FloatRunner
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

CALIB = np.random.default_rng(0).normal(0, 1, (64, 16)).astype(np.float32)
TEST = np.random.default_rng(1).normal(0, 1, (32, 16)).astype(np.float32)


def rewritten_as_litert(graph, records, rtol=0.0, atol=0.0):
    """The float graph with its ops TFLM lacks rewritten (and wide CONCATENATIONs split), run by TFLM, equal
    to LiteRT running the original, its own op included, on each record: returned."""
    rewritten = split_wide_concatenations(with_tflm_ops(graph))
    assert not {op.op for op in rewritten.operators} & {"gelu", "select", "pow", "tile", "relu_n1_to_1"}
    runner = FloatRunner(graph)
    for x in records:
        np.testing.assert_allclose(tflm_run(write_model(rewritten), [[x]])[0][0], runner.outputs([x])[0],
                                   rtol=rtol, atol=atol)
    return rewritten


def mlp(approximate: bool):
    """FC -> GELU -> FC, the FC's outputs spread over +-6 so that GELU's bend and both of its tails are used."""
    rng = np.random.default_rng(5)
    b = GraphBuilder("gelu_mlp")
    x = b.input((1, 16), dtype="float32")
    h = b.activation((1, 32), dtype="float32")
    b.op("fully_connected", [x, b.const(rng.normal(0, 0.6, (32, 16)).astype(np.float32), "float32"),
                             b.const(rng.normal(0, 0.5, (32,)).astype(np.float32), "float32")], [h])
    g = b.activation((1, 32), dtype="float32")
    b.op("gelu", [h], [g], options=GeluOptions(approximate=approximate))
    y = b.activation((1, 8), dtype="float32")
    b.op("fully_connected", [g, b.const(rng.normal(0, 0.3, (8, 32)).astype(np.float32), "float32"),
                             b.const(np.zeros(8, np.float32), "float32")], [y])
    return b.build([y])


@pytest.mark.parametrize("approximate", [False, True])
def test_the_decomposition_is_gelu_in_float(approximate):
    graph = mlp(approximate)
    decomposed = rewritten_as_litert(graph, TEST[:8, None], atol=2e-3)  # the tanh form: within 3e-4 a unit
    assert decomposed.outputs == graph.outputs


def _sqnr(graph, q):
    runner = FloatRunner(graph)
    want = np.concatenate([runner.outputs([x[None]])[0] for x in TEST])
    qin, qout = q.tensors[q.inputs[0]].quant, q.tensors[q.outputs[0]].quant
    dtype = np.dtype(q.tensors[q.inputs[0]].dtype)
    info = np.iinfo(dtype)
    got = []
    for x in TEST:
        xq = np.clip(np.round(x / qin.s) + qin.zp, info.min, info.max).astype(dtype)[None]
        o = tflm_run(write_model(q), [[xq]])[0][0]
        got.append((o.astype(np.float64) - qout.zp) * qout.s)
    return 10 * np.log10(np.sum(want ** 2) / np.sum((want - np.concatenate(got)) ** 2))


def _with_relu(graph):
    ops = [replace(op, op="relu", options=None) if op.op == "gelu" else op for op in graph.operators]
    return replace(graph, operators=tuple(ops))


@pytest.mark.parametrize("approximate", [False, True])
@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_a_float_gelu_quantizes_into_ops_tflm_runs(approximate, activations):
    """Within 3 dB of the same MLP with a ReLU (the GELU costs 1.5 dB in int8, 0.4 dB in 16x8 here: 34.2
    against 35.7, 42.5 against 42.9)."""
    graph = mlp(approximate)
    config = QuantizeConfig(activations=activations)
    q = quantize_graph(graph, [CALIB], config).graph
    kinds = [op.op for op in q.operators]
    assert "gelu" not in kinds and "logistic" in kinds
    assert all(q.tensors[t].dtype == activations for op in q.operators for t in op.outputs)
    relu = _with_relu(graph)
    assert _sqnr(graph, q) > _sqnr(relu, quantize_graph(relu, [CALIB], config).graph) - 3
    assert_bit_exact(q, n_inputs=20)


def select_graph(rows: bool):
    """x > 0 picks x, else -2x; with a rank-1 condition (SELECT's own rule) it picks whole rows of axis 0: the
    input (1, 18) as 3 rows of 6, each taken whole or doubled and negated by the sign of its sum."""
    b = GraphBuilder("select")
    x = b.input((1, 18), dtype="float32")
    full = (3, 6) if rows else (1, 18)
    if rows:
        m = b.activation(full, dtype="float32")
        b.op("reshape", [x, b.const(np.array(full, np.int32), "int32")], [m], new_shape=full)
        x = m
        total = b.activation((3,), dtype="float32")
        b.op("sum", [x, b.const(np.array([1], np.int32), "int32")], [total], keep_dims=False)
        cond = b.activation((3,), dtype="bool")
        b.op("greater", [total, b.const(np.zeros((1,), np.float32), "float32")], [cond])
    else:
        cond = b.activation(full, dtype="bool")
        b.op("greater", [x, b.const(np.zeros((1,), np.float32), "float32")], [cond])
    neg = b.activation(full, dtype="float32")
    b.op("mul", [x, b.const(np.full((1,), -2.0, np.float32), "float32")], [neg])
    y = b.activation(full, dtype="float32")
    b.op("select", [cond, x, neg], [y])
    return b.build([y])


@pytest.mark.parametrize("rows", [False, True])
def test_select_quantizes_as_select_v2(rows):
    graph = select_graph(rows)
    calib = np.random.default_rng(2).normal(0, 1, (32, 18)).astype(np.float32)
    rewritten_as_litert(graph, calib[:8, None])  # LiteRT's SELECT, its own broadcasting rule
    q = quantize_graph(graph, [calib]).graph
    assert "select_v2" in [op.op for op in q.operators]
    assert_bit_exact(q, n_inputs=12)


@pytest.mark.parametrize("exponent, becomes", [(2.0, "mul"), (0.5, "sqrt"), (-0.5, "rsqrt")])
def test_pow_by_a_constant_quantizes(exponent, becomes):
    b = GraphBuilder("pow")
    x = b.input((1, 8), dtype="float32")
    a = b.activation((1, 8), dtype="float32")
    b.op("abs", [x], [a])
    p = b.activation((1, 8), dtype="float32")
    b.op("add", [a, b.const(np.full((1,), 0.25, np.float32), "float32")], [p])  # positive, as sqrt wants
    y = b.activation((1, 8), dtype="float32")
    b.op("pow", [p, b.const(np.array([exponent], np.float32), "float32")], [y])
    graph = b.build([y])
    rewritten = rewritten_as_litert(graph, TEST[:6, None, :8], rtol=1e-6)  # SQRT's and POW's float32 ulps
    assert becomes in [op.op for op in rewritten.operators]
    q = quantize_graph(graph, [CALIB[:, :8]]).graph
    assert "pow" not in [op.op for op in q.operators]
    assert_bit_exact(q, n_inputs=12)


def test_pow_by_another_exponent_is_still_refused():
    b = GraphBuilder("pow3")
    x = b.input((1, 8), dtype="float32")
    y = b.activation((1, 8), dtype="float32")
    b.op("pow", [x, b.const(np.array([3.0], np.float32), "float32")], [y])
    graph = b.build([y])
    assert with_tflm_ops(graph) is graph  # x^3 has no one-op equivalent: the quantizer refuses it as before


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("threshold", [0.0, 0.7, 9.0])
def test_a_comparison_with_a_constant_shares_the_datas_parameters(activations, threshold):
    """x > 0 (torch.where's usual test): alone, the constant 0 had no range and got scale 1, on which TFLM's
    int8 comparison aborts; it now takes x's parameters, widened when the constant lies outside x's range
    (9: x reaches about 4 here), so that no value of x compares wrongly."""
    b = GraphBuilder("greater")
    x = b.input((1, 16), dtype="float32")
    cond = b.activation((1, 16), dtype="bool")
    b.op("greater_equal", [x, b.const(np.full((1,), threshold, np.float32), "float32")], [cond])
    y = b.activation((1, 16), dtype="float32")
    b.op("select_v2", [cond, x, b.const(np.zeros((1,), np.float32), "float32")], [y])
    graph = b.build([y])
    calib = np.random.default_rng(4).normal(0, 1.5, (48, 16)).astype(np.float32)
    q = quantize_graph(graph, [calib], QuantizeConfig(activations=activations)).graph
    compare = next(op for op in q.operators if op.op == "greater_equal")
    left, right = (q.tensors[t].quant for t in compare.inputs)
    assert left == right and left.s < 1
    lo = (-128 - left.zp) * left.s
    hi = (127 - left.zp) * left.s
    assert lo <= threshold <= hi
    assert_bit_exact(q, n_inputs=12)


@pytest.mark.parametrize("multiples", [(1, 3, 1), (2, 1, 2), (1, 12, 1), (1, 1, 1)])
def test_tile_quantizes_as_concatenations(multiples):
    b = GraphBuilder("tile")
    x = b.input((1, 4, 3), dtype="float32")
    y = b.activation(tuple(d * k for d, k in zip((1, 4, 3), multiples)), dtype="float32")
    b.op("tile", [x, b.const(np.array(multiples, np.int32), "int32")], [y])
    graph = b.build([y])
    rewritten_as_litert(graph, TEST[:4, :12].reshape(-1, 1, 4, 3))  # LiteRT's TILE
    q = quantize_graph(graph, [CALIB[:, :12].reshape(-1, 4, 3)]).graph
    kinds = [op.op for op in q.operators]
    assert "tile" not in kinds and all(len(op.inputs) <= 10 for op in q.operators)
    assert_bit_exact(q, n_inputs=12)


def test_int64_argmax_indices_become_int32():
    """tf.argmax's default output_type is int64, which TFLM's ARG_MAX does not write: the model's index output
    becomes int32, and its indices are the float model's wherever the top two scores are apart."""
    rng = np.random.default_rng(6)
    b = GraphBuilder("argmax64")
    x = b.input((1, 16), dtype="float32")
    h = b.activation((1, 5), dtype="float32")
    b.op("fully_connected", [x, b.const(rng.normal(0, 0.5, (5, 16)).astype(np.float32), "float32"),
                             b.const(np.zeros(5, np.float32), "float32")], [h])
    y = b.activation((1,), dtype="int64")
    b.op("arg_max", [h, b.const(np.array([1], np.int32), "int32")], [y], output_type=4)  # TensorType INT64
    graph = b.build([y])
    q = quantize_graph(graph, [CALIB]).graph
    assert q.tensors[q.outputs[0]].dtype == "int32"
    runner = FloatRunner(graph)
    qin = q.tensors[q.inputs[0]].quant
    agree = [tflm_run(write_model(q), [[np.clip(np.round(x / qin.s) + qin.zp, -128, 127).astype(np.int8)[None]]])[0][0][0]
             == runner.outputs([x[None]])[0][0] for x in TEST]
    assert np.mean(agree) > 0.9
    assert_bit_exact(q, n_inputs=12)


def test_relu_n1_to_1_quantizes_as_a_clamp():
    b = GraphBuilder("hardtanh")
    x = b.input((1, 16), dtype="float32")
    y = b.activation((1, 16), dtype="float32")
    b.op("relu_n1_to_1", [x], [y])
    graph = b.build([y])
    rewritten = rewritten_as_litert(graph, TEST[:6, None])  # LiteRT's RELU_N1_TO_1
    assert [op.op for op in rewritten.operators] == ["maximum", "minimum"]
    q = quantize_graph(graph, [CALIB]).graph
    assert "relu_n1_to_1" not in [op.op for op in q.operators]
    assert_bit_exact(q, n_inputs=12)


@pytest.mark.parametrize("activations", ["int8", "int16"])
@pytest.mark.parametrize("keep_num_dims", [True, False])
def test_a_product_of_activations_as_fully_connected_quantizes_as_batch_matmul(keep_num_dims, activations):
    """PyTorch's `q @ k.transpose(-1, -2)` on 3-D tensors: litert-torch writes a FULLY_CONNECTED whose weights
    are k, computed; refused as 'weights are computed at run time', now the BATCH_MATMUL it is."""
    rng = np.random.default_rng(8)
    b = GraphBuilder("fc_of_activations")
    x = b.input((1, 4, 4), dtype="float32")
    q, k = b.activation((1, 4, 8), dtype="float32"), b.activation((4, 8), dtype="float32")
    b.op("fully_connected", [x, b.const(rng.normal(0, 0.5, (8, 4)).astype(np.float32), "float32"),
                             b.const(np.zeros(8, np.float32), "float32")], [q], keep_num_dims=True)
    b.op("reshape", [q, b.const(np.array([4, 8], np.int32), "int32")], [k], new_shape=(4, 8))
    y = b.activation((1, 4, 4) if keep_num_dims else (4, 4), dtype="float32")
    b.op("fully_connected", [q, k, -1], [y], keep_num_dims=keep_num_dims)
    graph = b.build([y])
    rewritten = rewritten_as_litert(graph, TEST[:4].reshape(-1, 1, 4, 4), rtol=1e-5, atol=1e-6)
    assert [op.op for op in rewritten.operators][2:] == ["batch_matmul"] + ([] if keep_num_dims else ["reshape"])
    q_graph = quantize_graph(graph, [CALIB.reshape(-1, 4, 4)], QuantizeConfig(activations=activations)).graph
    assert_bit_exact(q_graph, n_inputs=12)


COMPARE = {"equal": np.equal, "not_equal": np.not_equal, "less": np.less, "less_equal": np.less_equal,
           "greater": np.greater, "greater_equal": np.greater_equal}


def logsumexp_guard(op="equal", inf=np.inf, swapped=False):
    """torch.logsumexp as litert-torch writes it: its max m, where(|m| == inf, 0, m), then x - m (kept short)."""
    b = GraphBuilder("lse_guard")
    x = b.input((1, 16), dtype="float32")
    m, size, cond, safe, y = (b.activation((1, 1), dtype="float32"), b.activation((1, 1), dtype="float32"),
                              b.activation((1, 1), dtype="bool"), b.activation((1, 1), dtype="float32"),
                              b.activation((1, 16), dtype="float32"))
    b.op("reduce_max", [x, b.const(np.array([1], np.int32), "int32")], [m], keep_dims=True)
    b.op("abs", [m], [size])
    c = b.const(np.full((), inf, np.float32), "float32")
    b.op(op, [c, size] if swapped else [size, c], [cond])
    b.op("select_v2", [cond, b.const(np.zeros((), np.float32), "float32"), m], [safe])
    b.op("sub", [x, safe], [y])
    return b.build([y])


@pytest.mark.parametrize("swapped", [False, True])
@pytest.mark.parametrize("inf", [np.inf, -np.inf])
@pytest.mark.parametrize("op", sorted(COMPARE))
def test_a_comparison_with_infinity_is_its_answer_for_finite_data(op, inf, swapped):
    rewritten = with_tflm_ops(logsumexp_guard(op, inf, swapped))
    cond = rewritten.tensors[rewritten.operators[2].inputs[0]]
    finite = np.float32(3.0)
    assert cond.data is not None and [o.op for o in rewritten.operators] == ["reduce_max", "abs", "select_v2", "sub"]
    assert np.all(cond.data == (COMPARE[op](inf, finite) if swapped else COMPARE[op](finite, inf)))


@pytest.mark.parametrize("activations", ["int8", "int16"])
def test_logsumexps_infinity_guard_quantizes(activations):
    """Refused as 'constant tensor holds NaN/Inf (the float model is broken)'."""
    graph = logsumexp_guard()
    rewritten_as_litert(graph, TEST[:6, None])
    q = quantize_graph(graph, [CALIB], QuantizeConfig(activations=activations)).graph
    assert "equal" not in [op.op for op in q.operators]
    assert_bit_exact(q, n_inputs=12)


ORDERING = {"greater": np.greater, "greater_equal": np.greater_equal, "less": np.less, "less_equal": np.less_equal}


@pytest.mark.parametrize("op,threshold,first,saturates", [
    ("greater", 20.0, False, True),  # softplus's x > 20: never true for the data
    ("less_equal", 20.0, False, True),
    ("greater_equal", -20.0, False, True),
    ("less", -20.0, False, True),
    ("less", 20.0, True, True),  # 20 < x
    ("greater_equal", 20.0, False, False),  # saturated, 20 would equal x at the top of the range
    ("greater", -20.0, False, False),
    ("greater", 20.0, True, False),  # 20 > x
])
def test_a_threshold_beyond_the_data_saturates_where_every_answer_stays(op, threshold, first, saturates):
    """PyTorch's softplus, where(x > 20, x, log1p(exp(x))): widening x's range to hold 20 cost its layer
    14 dB. A threshold past the data's range now saturates to the range's edge when the op answers alike for
    the strict side and for equality there; otherwise it still widens the range."""
    b = GraphBuilder("threshold")
    x = b.input((1, 16), dtype="float32")
    t = b.const(np.full((1,), threshold, np.float32), "float32")
    cond = b.activation((1, 16), dtype="bool")
    b.op(op, [t, x] if first else [x, t], [cond])
    y = b.activation((1, 16), dtype="float32")
    b.op("select_v2", [cond, x, b.const(np.zeros((1,), np.float32), "float32")], [y])
    graph = b.build([y])
    q = quantize_graph(graph, [CALIB], QuantizeConfig(self_check=False)).graph
    compare = next(o for o in q.operators if o.op == op)
    data = q.tensors[compare.inputs[1 if first else 0]].quant
    hi = (127 - data.zp) * data.s
    lo = (-128 - data.zp) * data.s
    assert (lo - data.s <= threshold <= hi + data.s) is not saturates, (lo, hi)  # the edge rounds
    qin = q.tensors[q.inputs[0]].quant
    xq = np.clip(np.round(TEST / qin.s) + qin.zp, -128, 127).astype(np.int8)
    yq = np.concatenate([tflm_run(write_model(q), [[row[None]]])[0][0] for row in xq])
    qout = q.tensors[q.outputs[0]].quant
    got = (yq.astype(np.float64) - qout.zp) * qout.s
    xs = (xq.astype(np.float64) - qin.zp) * qin.s
    want = np.where(ORDERING[op](threshold, xs) if first else ORDERING[op](xs, threshold), xs, 0.0)
    assert np.max(np.abs(got - want)) <= 1.01 * qout.s  # no comparison answers differently from float
    assert_bit_exact(q, n_inputs=8)
