"""GPTQ weight rounding (tinyq/quantize/rounding.py) and the mixed-precision knapsack (mixed.py).

The patches GPTQ weighs are checked against LiteRT's own conv / depthwise / FC outputs; GPTQ against
nearest rounding on inputs it did not see; the held-back check against its promise (no layer worse than
nearest); int4 models with depthwise layers through TFLM and tinyq's C, byte for byte; the knapsack
against every subset."""

import zlib
from itertools import product

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import assert_bit_exact
from tinyq.cli import cli
from tinyq.quantize import QuantizeConfig, check_calibration, quantize_graph
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.mixed import LayerSensitivity, eligible_ops, pick_int4_layers
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.qparams import symmetric_scales, quantize_symmetric
from tinyq.quantize.rounding import (SEARCH_RATIOS, _Moments, _search_scales, as_rows, collect, factor, gptq, patches,
                                     refine, row_errors)
from tinyq.quantize.weights import QuantizedWeights, bias_tensor, weight_ops, weight_tensor
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def seeded(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(("rounding",) + key).encode()))


def small_cnn(rng, activation="NONE"):
    """conv (stride 2, SAME) -> depthwise (multiplier 2, dilation 2, VALID) -> conv 1x1 -> FC: every layout
    GPTQ reshapes, with correlated channels (a smooth input) so the Hessians are far from diagonal."""
    b = GraphBuilder("small_cnn")
    x = b.input((1, 12, 12, 3), "float32")

    def const(*shape, scale=0.4):
        return b.const((rng.normal(size=shape) * scale).astype(np.float32))

    c1 = b.activation((1, 6, 6, 8), "float32")
    b.op("conv_2d", [x, const(8, 3, 3, 3), const(8, scale=0.1)], [c1], padding="SAME", stride_h=2, stride_w=2,
         fused_activation_function=activation)
    d1 = b.activation((1, 2, 2, 16), "float32")
    b.op("depthwise_conv_2d", [c1, const(1, 3, 3, 16), const(16, scale=0.1)], [d1], padding="VALID",
         depth_multiplier=2, dilation_h_factor=2, dilation_w_factor=2, fused_activation_function=activation)
    c2 = b.activation((1, 2, 2, 24), "float32")
    b.op("conv_2d", [d1, const(24, 1, 1, 16), const(24, scale=0.1)], [c2], padding="SAME",
         fused_activation_function=activation)
    flat = b.activation((1, 96), "float32")
    b.op("reshape", [c2, b.const(np.array([1, 96], dtype=np.int32))], [flat])
    y = b.activation((1, 10), "float32")
    b.op("fully_connected", [flat, const(10, 96, scale=0.2), const(10, scale=0.1)], [y])
    return b.build([y])


def smooth_images(rng, n, shape=(12, 12, 3)):
    """Images whose neighbouring pixels and channels move together (as real ones do)."""
    base = rng.normal(size=(n, shape[0] // 3, shape[1] // 3, 1))
    up = np.repeat(np.repeat(base, 3, axis=1), 3, axis=2)
    return (up + 0.3 * rng.normal(size=(n, *shape))).astype(np.float32)


def test_patches_reproduce_each_layer_of_litert():
    rng = seeded("patches")
    graph = prepare_float_graph(small_cnn(rng))
    runner = FloatRunner(graph)
    x = smooth_images(rng, 1)
    ops = weight_ops(graph)
    values = runner.run([x], {t for op in ops for t in (op.inputs[0], op.outputs[0])})
    assert [op.op for op in ops] == ["conv_2d", "depthwise_conv_2d", "conv_2d", "fully_connected"]
    for op in ops:
        w = np.asarray(weight_tensor(graph, op).data, dtype=np.float64)
        p = patches(op, w.shape, values[op.inputs[0]], graph.tensors[op.outputs[0]].shape)
        rows = as_rows(op, w)
        if op.op == "depthwise_conv_2d":  # output channel o reads input channel o // 2
            y = np.stack([p[:, :, o // 2] @ rows[o] for o in range(rows.shape[0])], axis=1)
        else:
            y = p @ rows.T
        y = y + np.asarray(bias_tensor(graph, op).data)
        np.testing.assert_allclose(y.reshape(-1), values[op.outputs[0]].reshape(-1), rtol=1e-4, atol=1e-4)


def _correlated(rng, n, k, rank):
    return rng.normal(size=(n, rank)) @ rng.normal(size=(rank, k)) + 0.1 * rng.normal(size=(n, k))


@pytest.mark.parametrize("qmax", [7, 127])
def test_gptq_lowers_the_output_error_on_unseen_inputs(qmax):
    rng = seeded("gptq", qmax)
    k, rows = 48, 16
    w = rng.normal(size=(rows, k))
    mix = rng.normal(size=(8, k))
    fit = rng.normal(size=(4000, 8)) @ mix + 0.1 * rng.normal(size=(4000, k))
    test = rng.normal(size=(4000, 8)) @ mix + 0.1 * rng.normal(size=(4000, k))
    scales = symmetric_scales(w, 0, qmax, True).astype(np.float64)
    nearest = quantize_symmetric(w, scales, 0, qmax).astype(np.float64)
    tuned = gptq(w, factor((fit.T @ fit / len(fit))[None]), None, scales, qmax).astype(np.float64)
    assert np.abs(tuned).max() <= qmax
    h_test = (test.T @ test / len(test))[None]
    before = row_errors((nearest - w / scales[:, None]) * scales[:, None], h_test, None).sum()
    after = row_errors((tuned - w / scales[:, None]) * scales[:, None], h_test, None).sum()
    assert after < 0.5 * before  # more than 3 dB less output noise on inputs GPTQ did not see


def test_gptq_with_uncorrelated_inputs_rounds_to_nearest():
    """With H diagonal no column's error can be cancelled by another's: GPTQ is plain rounding."""
    rng = seeded("diagonal")
    w = rng.normal(size=(6, 20))
    scales = symmetric_scales(w, 0, 7, True).astype(np.float64)
    h = np.diag(rng.uniform(0.5, 2.0, size=20))[None]
    np.testing.assert_array_equal(gptq(w, factor(h), None, scales, 7), quantize_symmetric(w, scales, 0, 7))


def test_per_group_hessians_match_one_at_a_time():
    """Depthwise rows use their input channel's H: the batched run equals each row alone."""
    rng = seeded("groups")
    h = np.stack([np.cov(_correlated(rng, 200, 9, 3).T) for _ in range(3)])
    w = rng.normal(size=(6, 9))
    group = np.arange(6) // 2
    scales = np.full(6, np.abs(w).max() / 7)
    batched = gptq(w, factor(h), group, scales, 7)
    for r in range(6):
        np.testing.assert_array_equal(batched[r], gptq(w[r:r + 1], factor(h[group[r]][None]), None, scales[r:r + 1], 7)[0])


def _hessian(rng, k, rank=4, n=600):
    x = _correlated(rng, n, k, rank)
    return (x.T @ x / n)[None]


def test_refine_lowers_gptqs_output_error_and_stays_on_the_grid():
    """Coordinate descent after GPTQ: each row's d^T H d is never above GPTQ's, and lower on some rows."""
    rng = seeded("refine")
    h = _hessian(rng, 24)
    w = rng.normal(size=(12, 24))
    scales = symmetric_scales(w, 0, 7, True).astype(np.float64)
    q = gptq(w, factor(h), None, scales, 7).astype(np.float64)
    better = refine(q, w, scales, h, None, 7)
    assert np.abs(better).max() <= 7 and np.array_equal(better, np.rint(better))
    before = row_errors(q * scales[:, None] - w, h, None)
    after = row_errors(better * scales[:, None] - w, h, None)
    assert np.all(after <= before + 1e-12) and np.any(after < before - 1e-12)


def test_refine_per_group_matches_one_row_at_a_time():
    rng = seeded("refine groups")
    h = np.concatenate([_hessian(rng, 9, 3) for _ in range(3)])
    w = rng.normal(size=(6, 9))
    group = np.arange(6) // 2
    scales = np.abs(w).max(axis=1) / 7
    q = gptq(w, factor(h), group, scales, 7)
    batched = refine(q, w, scales, h, group, 7)
    for r in range(6):
        np.testing.assert_array_equal(batched[r], refine(q[r:r + 1], w[r:r + 1], scales[r:r + 1], h[group[r]][None],
                                                         None, 7)[0])


@pytest.mark.parametrize("shared", [False, True])
def test_scale_search_lowers_the_fit_error_above_the_bias_floor(shared):
    """Per channel (or one scale for the tensor) the search never does worse on the fit H than the scales it was
    given, keeps every scale at or above the bias's floor, stores float32 scales, and stays on the int4 grid."""
    rng = seeded("search", shared)
    h = _hessian(rng, 32)
    w = rng.normal(size=(10, 32)) * rng.uniform(0.2, 3.0, size=(10, 1))
    w[:, 0] *= 4  # an outlier per row: clipping it pays on the output
    given = np.full(10, np.abs(w).max() / 7) if shared else np.abs(w).max(axis=1) / 7
    floor = np.full(10, 0.0) if not shared else np.zeros(1)
    floor[0] = given[0] * 1.2  # a bias that needs a larger scale than max|w| / 7 on one channel
    given = np.maximum(given, floor.max() if shared else floor).astype(np.float32).astype(np.float64)
    floor = floor.astype(np.float32)  # as the bias's floor and the scales are stored
    f = factor(h)
    tuned = gptq(w, f, None, given, 7).astype(np.float64)
    q, s = _search_scales(w, f, h, None, given, floor, 7, tuned, shared)
    assert np.abs(q).max() <= 7 and np.all(s >= floor - 1e-12) and np.array_equal(s, s.astype(np.float32))
    assert np.all(row_errors(q * s[:, None] - w, h, None) <= row_errors(tuned * given[:, None] - w, h, None) + 1e-12) \
        if not shared else row_errors(q * s[:, None] - w, h, None).sum() <= row_errors(tuned * given[:, None] - w, h,
                                                                                         None).sum()
    assert (np.unique(s).size == 1) if shared else np.unique(s).size > 1
    assert len(SEARCH_RATIOS) > 1


def test_moments_centre_on_request():
    rng = seeded("moments")
    x = rng.normal(loc=3.0, size=(500, 4))
    m = _Moments(np.zeros((1, 4, 4)), np.zeros((1, 4)))
    m.add(x[:200])
    m.add(x[200:])
    np.testing.assert_allclose(m.hessian(False)[0], x.T @ x / 500)
    np.testing.assert_allclose(m.hessian(True)[0], np.cov(x.T, bias=True), atol=1e-12)


@pytest.mark.parametrize("centred", [False, True])
def test_no_layer_worse_than_nearest_on_held_back_samples(centred):
    rng = seeded("held back", centred)
    graph = prepare_float_graph(small_cnn(rng, "RELU"))
    calib = check_calibration([smooth_images(rng, 40)], graph)
    rounder = collect(graph, calib, weight_ops(graph), ("int4", "int8"))
    kept = 0
    for op in weight_ops(graph):
        w = np.asarray(weight_tensor(graph, op).data, dtype=np.float32)
        axis = 3 if op.op == "depthwise_conv_2d" else 0
        for dtype, qmax in (("int4", 7), ("int8", 127)):
            scales = symmetric_scales(w, axis, qmax, True)
            qw = QuantizedWeights(quantize_symmetric(w, scales, axis, qmax), scales, axis, dtype)
            out = rounder.round(op, w, qw, centred)
            outcome = rounder.outcome(op.index, out.q)
            assert outcome is not None and outcome.error <= outcome.nearest_error
            assert np.array_equal(out.scales, qw.scales) and np.abs(out.q).max() <= qmax
            changed = np.any(as_rows(op, out.q) != as_rows(op, qw.q), axis=1).sum()
            assert changed <= outcome.accepted  # rows not accepted keep their nearest integers
            kept += outcome.accepted
            floor = np.full(qw.scales.shape, qw.scales.min() * 0.9, dtype=np.float32)
            searched = rounder.round(op, w, qw, centred, floor=floor, search=True)
            found = rounder.outcome(op.index, searched.q)
            assert found is not None and found.error <= outcome.error  # the search only replaces a lower error
            assert searched.scales.dtype == np.float32 and np.all(searched.scales >= floor)
            moved = (searched.scales != qw.scales).reshape(-1)  # one scale per output channel (row), or one
            assert (moved.sum() <= found.accepted) if moved.size > 1 else True  # a rejected row keeps its scale
    assert kept > 0  # GPTQ did win somewhere on these correlated inputs


def int4_graph(rng):
    graph = small_cnn(rng, "RELU")
    return graph, smooth_images(rng, 48)


def test_int4_with_gptq_and_depthwise_layers_is_bit_exact_and_closer_to_float():
    rng = seeded("end to end")
    graph, data = int4_graph(rng)
    gptq_result = quantize_graph(graph, [data[:40]], QuantizeConfig(weights="int4"))
    nearest = quantize_graph(graph, [data[:40]], QuantizeConfig(weights="int4", rounding="nearest"))
    depthwise = [op for op in weight_ops(gptq_result.float_graph) if op.op == "depthwise_conv_2d"]
    assert depthwise and all(gptq_result.graph.tensors[weight_tensor(gptq_result.graph, op).index].dtype == "int4"
                             for op in depthwise)
    assert gptq_result.rounding and not nearest.rounding
    assert_bit_exact(gptq_result.graph, n_inputs=8)


def test_mixed_can_choose_depthwise_layers():
    rng = seeded("mixed")
    graph, _ = int4_graph(rng)
    assert "depthwise_conv_2d" in {op.op for op in eligible_ops(prepare_float_graph(graph))}


def _brute_force(layers, must_save):
    best = None
    for mask in product((0, 1), repeat=len(layers)):
        chosen = [layer for layer, m in zip(layers, mask) if m]
        if sum(layer.saving for layer in chosen) >= must_save:
            noise = sum(layer.noise for layer in chosen)
            best = noise if best is None else min(best, noise)
    return best


def test_knapsack_is_exact():
    rng = seeded("knapsack")
    for _ in range(200):
        n = int(rng.integers(1, 9))
        layers = [LayerSensitivity(i, "conv_2d", int(a + b), int(b), float(rng.uniform(10, 50)))
                  for i, (a, b) in enumerate(zip(rng.integers(0, 3000, n), rng.integers(0, 3000, n)))]
        total = sum(layer.saving for layer in layers)
        must = int(rng.integers(1, total + 1)) if total else 1
        chosen = pick_int4_layers(layers, must)
        picked = [layer for layer in layers if layer.op in chosen]
        if total < must:
            assert len(picked) == n
            continue
        assert sum(layer.saving for layer in picked) >= must
        assert sum(layer.noise for layer in picked) == pytest.approx(_brute_force(layers, must), rel=1e-9)


def test_knapsack_in_coarse_steps_still_fits(monkeypatch):
    from tinyq.quantize import mixed

    monkeypatch.setattr(mixed, "KNAPSACK_STEPS", 8)
    rng = seeded("coarse")
    for _ in range(100):
        layers = [LayerSensitivity(i, "conv_2d", int(s) * 2, int(s), float(rng.uniform(10, 50)))
                  for i, s in enumerate(rng.integers(1, 5000, 6))]
        must = int(rng.integers(1, sum(layer.saving for layer in layers)))
        chosen = pick_int4_layers(layers, must)
        assert sum(layer.saving for layer in layers if layer.op in chosen) >= must


def test_cli_rounding_and_budget_flash(tmp_path):
    rng = seeded("cli")
    graph, data = int4_graph(rng)
    model, calib = tmp_path / "float.tflite", tmp_path / "calib.npy"
    model.write_bytes(write_model(graph))
    np.save(calib, data[:32])
    runner = CliRunner()
    done = runner.invoke(cli, ["quantize", str(model), "--calib", str(calib), "-o", str(tmp_path / "q.tflite"),
                               "--weights", "mixed", "--budget-flash", "1500", "--no-self-check"])
    assert done.exit_code == 0, done.output
    assert "of budget 1,500 B" in done.output and "int4 weights in" in done.output
    assert "output channels in" in done.output  # what GPTQ kept, in the summary
    done = runner.invoke(cli, ["quantize", str(model), "--calib", str(calib), "-o", str(tmp_path / "r.tflite"),
                               "--rounding", "best"])
    assert done.exit_code == 2 and "best" in done.output and not (tmp_path / "r.tflite").exists()


def test_past_the_work_budget_layers_keep_nearest_rounding():
    rng = seeded("budget")
    graph = prepare_float_graph(small_cnn(rng, "RELU"))
    calib = check_calibration([smooth_images(rng, 16)], graph)
    said = []
    rounder = collect(graph, calib, weight_ops(graph), ("int4",), progress=said.append, budget=0.0)
    op = weight_ops(graph)[0]
    w = np.asarray(weight_tensor(graph, op).data, dtype=np.float32)
    scales = symmetric_scales(w, 0, 7, True)
    qw = QuantizedWeights(quantize_symmetric(w, scales, 0, 7), scales, 0, "int4")
    assert rounder.round(op, w, qw, False) is qw
    assert any("budget" in line for line in said)


def test_mixed_weights_and_activations_under_both_budgets():
    """--weights mixed --activations auto: int4 layers chosen within the flash budget, int16 activations within the
    SRAM budget (an int4 layer keeps int8 activations: TFLM has no 16x4 kernels), bit-exact with TFLM."""
    from tinyq.quantize.summary import weight_bytes

    rng = seeded("two budgets")
    graph, data = int4_graph(rng)
    int8 = quantize_graph(graph, [data[:40]], QuantizeConfig(self_check=False))
    flash = int(0.75 * weight_bytes(int8.graph))
    probe = quantize_graph(graph, [data[:40]], QuantizeConfig(weights="mixed", flash_budget=flash, activations="auto",
                                                              self_check=False))
    sram = probe.widths.int8_arena + (probe.widths.int16_arena - probe.widths.int8_arena) // 2
    result = quantize_graph(graph, [data[:40]], QuantizeConfig(weights="mixed", flash_budget=flash,
                                                               activations="auto", sram_budget=sram))
    assert weight_bytes(result.graph) <= flash and result.mixed.int4_ops
    assert result.widths.arena <= sram
    for op in result.mixed.int4_ops:  # the quantized graph keeps the float graph's tensor indices
        x = result.float_graph.operators[op].inputs[0]
        assert result.graph.tensors[x].dtype == "int8"
    assert_bit_exact(result.graph, n_inputs=8)


@pytest.mark.parametrize("case", ["cnn_digits", "mlp_digits"])
def test_gptq_int4_closer_to_float_than_nearest_on_real_digits(case):
    """Real (digits) data, held-out test set: GPTQ's int4 model is closer to float than nearest rounding's."""
    from conftest import shared_file
    from tinyq.quantize.selfcheck import float_reference, point_sqnrs
    from tinyq.tflite.reader import read_model_file

    data = shared_file("quant", "data", "digits")
    graph = read_model_file(shared_file("quant", "models", case, "float32.tflite"))
    shape = graph.tensors[graph.inputs[0]].shape
    calib = np.load(data / "x_calib.npy").reshape((-1,) + shape[1:])
    test = [[x.reshape(shape)] for x in np.load(data / "x_test.npy")[:200]]
    ref = float_reference(prepare_float_graph(graph), test)
    tuned = quantize_graph(graph, [calib], QuantizeConfig(weights="int4"))
    nearest = quantize_graph(graph, [calib], QuantizeConfig(weights="int4", rounding="nearest"))
    assert tuned.rounding and sum(r.accepted for r in tuned.rounding) > 0
    assert point_sqnrs(tuned.graph, ref)[0] > point_sqnrs(nearest.graph, ref)[0]
