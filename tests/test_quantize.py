"""The quantizer's arithmetic against hand-computed cases, its graph passes, and its refusals."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.ir import Quant
from tinyq.ops.base import RawOptions
from tinyq.quantize import QuantizeConfig, check_calibration, load_calibration, quantize_graph
from tinyq.quantize import qparams
from tinyq.passes.fold import fold_constants
from tinyq.quantize.mixed import LayerSensitivity, pick_int4_layers
from tinyq.quantize.observers import StatsCollector, minmax_range, mse_range, percentile_range
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.weights import output_shift, quantize_weights
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model


# --- scales and zero points -------------------------------------------------------------------

@pytest.mark.parametrize("lo, hi, scale, zp", [
    (0.0, 1.0, 1 / 255, -128),  # ReLU-like: zero at the bottom
    (2.0, 5.0, 5 / 255, -128),  # the range is widened to include 0
    (-3.0, -1.0, 3 / 255, 127),  # all negative: zero at the top
    # [-1, 1]: the scale is float32(2/255), a hair above 2/255, so 1/scale = 127.49999...: the max end
    # (error 127 + 127.5 < 128 + 127.5) gives 127 - 127.49999 = -0.49999..., which rounds to 0
    (-1.0, 1.0, 2 / 255, 0),
    (-10.0, 30.0, 40 / 255, -64),  # -128 + 10 / (40/255) = -64.25 -> -64
    (0.0, 0.0, 1.0, 0),  # an all-zero tensor
])
def test_affine_params_hand_computed(lo, hi, scale, zp):
    s, z = qparams.affine_params(lo, hi)
    assert s == np.float32(scale) and z == zp


def test_zero_is_exact_and_range_is_covered():
    rng = np.random.default_rng(1)
    for _ in range(200):
        lo, hi = sorted(rng.uniform(-50, 50, size=2))
        s, z = qparams.affine_params(lo, hi)
        assert qparams.fake_quant(0.0, s, z) == 0.0
        assert -128 <= z <= 127
        assert s * (-128 - z) <= min(lo, 0) + s and s * (127 - z) >= max(hi, 0) - s


def test_round_half_away_from_zero():
    assert list(qparams.round_half_away([0.5, 1.5, 2.5, -0.5, -2.5, 2.4999])) == [1, 2, 3, -1, -3, 2]


# --- weights and biases ---------------------------------------------------------------------

W = np.array([[0.5, -1.0, 0.25], [2.0, 0.0, -0.1]], dtype=np.float32)


def test_int8_per_channel_weights_hand_computed():
    qw = quantize_weights(W, axis=0, dtype="int8", per_channel=True)
    assert list(qw.scales) == [np.float32(1 / 127), np.float32(2 / 127)]
    # 0.5 * 127 = 63.5 -> 64; 0.25 * 127 = 31.75 -> 32; -0.1 / (2/127) = -6.35 -> -6
    assert qw.q.tolist() == [[64, -127, 32], [127, 0, -6]]


def test_int8_per_tensor_and_int4_weights_hand_computed():
    qw = quantize_weights(W, axis=0, dtype="int8", per_channel=False)
    assert list(qw.scales) == [np.float32(2 / 127)]
    assert qw.q.tolist() == [[32, -64, 16], [127, 0, -6]]  # 31.75 -> 32, -63.5 -> -64, 15.875 -> 16
    q4 = quantize_weights(W, axis=0, dtype="int4", per_channel=True)
    assert list(q4.scales) == [np.float32(1 / 7), np.float32(2 / 7)]
    # float32(1/7) is a hair above 1/7: 0.5 / scale = 3.49999... -> 3; 1.75 -> 2; -0.35 -> 0
    assert q4.q.tolist() == [[3, -7, 2], [7, 0, 0]]
    assert q4.nbytes == 3 and qw.nbytes == 6


def test_depthwise_weights_use_axis_3():
    w = np.zeros((1, 2, 2, 3), dtype=np.float32)
    w[..., 0], w[..., 1], w[..., 2] = 1.0, -0.5, 0.0
    qw = quantize_weights(w, axis=3, dtype="int8", per_channel=True)
    assert list(qw.scales) == [np.float32(1 / 127), np.float32(0.5 / 127), np.float32(1.0)]  # zero channel: 1
    assert (qw.q[..., 0] == 127).all() and (qw.q[..., 1] == -127).all() and (qw.q[..., 2] == 0).all()


def test_mse_clip_lowers_rounding_error_for_int4():
    rng = np.random.default_rng(2)
    w = rng.standard_t(3, size=(8, 64)).astype(np.float32)  # heavy tails: clipping pays
    plain = quantize_weights(w, 0, "int4", True, clip="max")
    mse = quantize_weights(w, 0, "int4", True, clip="mse")
    assert ((mse.dequantized - w) ** 2).sum() < ((plain.dequantized - w) ** 2).sum()
    assert (mse.scales <= plain.scales).all()


def test_bias_hand_computed():
    s_w = np.array([1 / 127, 2 / 127], dtype=np.float32)
    # scale = 0.5 * s_w: 0.1 / (0.5/127) = 25.4 -> 25; -0.2 / (1/127) = -25.4 -> -25
    assert qparams.quantize_bias(np.array([0.1, -0.2]), 0.5, s_w).tolist() == [25, -25]
    assert qparams.bias_scales(0.5, s_w).tolist() == [0.5 * float(s_w[0]), 0.5 * float(s_w[1])]


def test_bias_that_would_overflow_raises_the_weight_scale():
    # 1000 / (1e-6 * 1e-9) is far above 2^31; 1e-7 / (1e-6 * 1e-9) = 1e8 fits
    floor = qparams.min_weight_scales_for_bias(np.array([1000.0, 1e-7]), 1e-6, np.array([1e-9, 1e-9]))
    assert floor[0] > 1e-9 and floor[1] == np.float32(1e-9)
    assert abs(qparams.quantize_bias(np.array([1000.0]), 1e-6, floor[:1])[0]) < 2**31 - 1
    per_tensor = qparams.min_weight_scales_for_bias(np.array([1000.0, 1e-7]), 1e-6, np.array([1e-9]))
    assert per_tensor.shape == (1,) and per_tensor[0] == floor[0]


def test_bias_correction_shift_hand_computed():
    from tinyq.ir import Operator
    fc = Operator(0, "fully_connected", (0, 1, 2), (3,))
    w = np.array([[1.0, 0.004]], dtype=np.float32)
    qw = quantize_weights(w, 0, "int8", per_channel=False)  # scale 1/127: 0.004 -> 0.508 -> 1 -> 1/127
    shift = output_shift(fc, w, qw.dequantized, np.array([0.0, 10.0]))
    assert shift == pytest.approx([10 * (1 / 127 - 0.004)], rel=1e-6)
    conv = Operator(0, "conv_2d", (0, 1, 2), (3,))
    wc = np.ones((2, 3, 3, 2), dtype=np.float32)
    dq = wc + 0.01  # every weight rounded up by 0.01
    assert output_shift(conv, wc, dq, np.array([1.0, 2.0])) == pytest.approx([0.27, 0.27])  # 9 * 0.01 * 3
    dw = Operator(0, "depthwise_conv_2d", (0, 1, 2), (3,))
    wd = np.ones((1, 3, 3, 4), dtype=np.float32)  # 2 input channels, multiplier 2
    assert output_shift(dw, wd, wd + 0.01, np.array([1.0, 2.0])) == pytest.approx([0.09, 0.09, 0.18, 0.18])


def test_sqnr():
    assert qparams.sqnr_db([1.0, 1.0], [1.0, 1.0]) == float("inf")
    assert qparams.sqnr_db([10.0, 0.0], [9.0, 0.0]) == pytest.approx(20.0)


# --- observers ------------------------------------------------------------------------------

def _stats(values):
    c = StatsCollector([0], n_samples=len(values))
    for v in values:
        c.update({0: np.asarray(v, dtype=np.float32)})
    return c.finish()[0]


def test_observers_ranges():
    rng = np.random.default_rng(3)
    values = [np.maximum(rng.normal(size=(1, 100)), 0) for _ in range(20)]  # ReLU outputs
    values[7][0, 3] = 50.0  # one outlier
    stats = _stats(values)
    assert minmax_range(stats) == (0.0, 50.0)
    assert stats.channel_mean.shape == (100,)
    lo, hi = percentile_range(stats)
    assert lo == 0.0 and hi < 50.0  # the 99.99th percentile drops the lone outlier
    assert mse_range(stats) == (0.0, 50.0)  # clipping it would cost (50 - hi)^2: more than coarser steps


def test_mse_observer_takes_a_range_a_few_float32_steps_wide():
    """A LayerNorm's variance over an already normalized tensor (PyTorch's final norm after an encoder layer)
    spans 0.999988 to 0.999992: numpy's float32 histogram edges coincided there (ValueError, an internal
    error of tinyq quantize)."""
    rng = np.random.default_rng(5)
    stats = _stats([np.float32(0.99999) + rng.integers(-20, 20, (1, 16)).astype(np.float32) * np.float32(6e-8)
                    for _ in range(8)])
    assert 0 < stats.hi - stats.lo < 8192 * np.spacing(np.float32(1.0))
    lo, hi = mse_range(stats)
    assert stats.lo <= lo <= hi <= stats.hi


def test_mse_observer_clips_heavy_tails():
    rng = np.random.default_rng(4)
    stats = _stats([np.abs(rng.standard_t(2, size=(1, 1000))) for _ in range(20)])
    lo, hi = mse_range(stats)

    def error(lo, hi):
        s, z = qparams.affine_params(lo, hi)
        return np.mean((qparams.fake_quant(stats.sample, s, z) - stats.sample) ** 2)

    assert hi < stats.hi and error(lo, hi) < error(stats.lo, stats.hi)


# --- graph passes and parameter constraints --------------------------------------------------

def _float_cnn(rng):
    """conv(relu) -> maxpool -> reshape -> FC -> softmax, with the converter's dynamic-batch reshape."""
    b = GraphBuilder("cnn")
    x = b.input((1, 6, 6, 2), "float32")
    w = b.const(rng.normal(size=(4, 3, 3, 2)).astype(np.float32))
    bias = b.const(rng.normal(size=4).astype(np.float32))
    c = b.activation((1, 6, 6, 4), "float32")
    b.op("conv_2d", [x, w, bias], [c], padding="SAME", fused_activation_function="RELU")
    p = b.activation((1, 3, 3, 4), "float32")
    b.op("max_pool_2d", [c], [p], padding="VALID", stride_w=2, stride_h=2, filter_width=2, filter_height=2)
    shape = b.activation((4,), "int32")
    b.op("shape", [p], [shape], options=RawOptions("ShapeOptions", (("outType", 2),)))
    batch = b.activation((), "int32")
    one = b.const(np.array([0], dtype=np.int32))
    b.op("strided_slice", [shape, one, b.const(np.array([1], dtype=np.int32)), b.const(np.array([1], np.int32))],
         [batch], options=RawOptions("StridedSliceOptions", (("shrinkAxisMask", 1),)))
    new_shape = b.activation((2,), "int32")
    b.op("pack", [batch, b.const(np.array(36, dtype=np.int32))], [new_shape],
         options=RawOptions("PackOptions", (("axis", 0), ("valuesCount", 2))))
    f = b.activation((1, 36), "float32")
    b.op("reshape", [p, new_shape], [f])
    w2 = b.const(rng.normal(size=(5, 36)).astype(np.float32) * 0.3)
    logits = b.activation((1, 5), "float32")
    b.op("fully_connected", [f, w2, b.const(np.zeros(5, np.float32))], [logits])
    y = b.activation((1, 5), "float32")
    b.op("softmax", [logits], [y], options=RawOptions("SoftmaxOptions", (("beta", 1.0),)))
    return b.build([y])


def test_fold_dynamic_batch_reshape_into_a_constant_shape():
    g = _float_cnn(np.random.default_rng(4))
    folded = fold_constants(read_model(write_model(g)))
    assert [op.op for op in folded.operators] == ["conv_2d", "max_pool_2d", "reshape", "fully_connected", "softmax"]
    reshape = folded.operators[2]
    assert folded.tensors[reshape.inputs[1]].data.tolist() == [1, 36]
    assert len(folded.tensors) < len(g.tensors)  # the shape tensors are gone


def test_hybrid_weights_are_dequantized():
    b = GraphBuilder("hybrid")
    x = b.input((1, 3), "float32")
    w = b.const(np.array([[10, -20, 30]]), "int8", scale=[0.5], zero_point=[0])
    y = b.activation((1, 1), "float32")
    b.op("fully_connected", [x, w, -1], [y], version=3)
    g = prepare_float_graph(b.build([y]))
    t = g.tensors[g.operators[0].inputs[1]]
    assert t.dtype == "float32" and t.quant is None and t.data.tolist() == [[5.0, -10.0, 15.0]]
    assert g.operators[0].version == 1


def test_int8_graph_constraints_and_versions():
    rng = np.random.default_rng(5)
    g = _float_cnn(rng)
    calib = [rng.uniform(-1, 1, size=(16, 6, 6, 2)).astype(np.float32)]
    r = quantize_graph(g, calib, QuantizeConfig())
    q = r.graph
    ops = {op.op: op for op in q.operators}
    t = q.tensors
    conv, pool, reshape, fc, sm = (ops[n] for n in ("conv_2d", "max_pool_2d", "reshape", "fully_connected", "softmax"))
    assert t[pool.outputs[0]].quant == t[pool.inputs[0]].quant == t[reshape.outputs[0]].quant
    assert t[sm.outputs[0]].quant == Quant((1 / 256,), (-128,))
    assert t[conv.outputs[0]].quant.zp == -128  # ReLU output: the range starts at 0
    w, bias = t[conv.inputs[1]], t[conv.inputs[2]]
    assert w.dtype == "int8" and w.quant.axis == 0 and len(w.quant.scale) == 4 and set(w.quant.zero_point) == {0}
    assert np.abs(w.data).max() == 127 and w.data.min() >= -127
    assert bias.dtype == "int32" and bias.quant.scale == pytest.approx(
        [t[conv.inputs[0]].quant.s * s for s in w.quant.scale], rel=1e-7)
    assert [conv.version, pool.version, reshape.version, fc.version, sm.version] == [3, 2, 1, 4, 2]
    assert t[q.inputs[0]].dtype == "int8" and t[q.outputs[0]].dtype == "int8"


def test_concat_inputs_share_the_output_params_and_fixed_outputs():
    b = GraphBuilder("concat")
    x = b.input((1, 4), "float32")
    y = b.input((1, 4), "float32")
    s = b.activation((1, 4), "float32")
    b.op("logistic", [x], [s])
    th = b.activation((1, 4), "float32")
    b.op("tanh", [y], [th])
    out = b.activation((1, 8), "float32")
    b.op("concatenation", [x, y], [out], axis=1)
    g = b.build([out, s, th])
    rng = np.random.default_rng(6)
    stats_in = [rng.uniform(-1, 1, size=(10, 4)).astype(np.float32), rng.uniform(-5, 2, size=(10, 4)).astype(np.float32)]
    r = quantize_graph(g, stats_in, QuantizeConfig())
    t = r.graph.tensors
    assert t[x].quant == t[y].quant == t[out].quant  # union of [-1, 1] and [-5, 2]
    assert t[out].quant.s == pytest.approx((r.stats[y].hi - r.stats[y].lo) / 255, rel=0.05)
    assert t[s].quant == Quant((1 / 256,), (-128,)) and t[th].quant == Quant((1 / 128,), (0,))


def test_io_float_keeps_float_edges():
    rng = np.random.default_rng(7)
    r = quantize_graph(_float_cnn(rng), [rng.uniform(-1, 1, size=(10, 6, 6, 2)).astype(np.float32)],
                       QuantizeConfig(io="float"))
    q = r.graph
    assert q.operators[0].op == "quantize" and q.operators[-1].op == "dequantize"
    assert q.tensors[q.inputs[0]].dtype == "float32" and q.tensors[q.outputs[0]].dtype == "float32"
    assert [op.index for op in q.operators] == list(range(len(q.operators)))


def test_pick_int4_layers_least_noise_that_fits():
    layers = [LayerSensitivity(0, "conv_2d", 100, 50, 20.0), LayerSensitivity(1, "conv_2d", 1000, 500, 40.0),
              LayerSensitivity(2, "fully_connected", 600, 300, 30.0)]
    assert pick_int4_layers(layers, 0) == ()
    assert pick_int4_layers(layers, 400) == (1,)  # the quietest layer alone saves enough
    assert pick_int4_layers(layers, 600) == (1, 2)
    assert pick_int4_layers(layers, 10_000) == (0, 1, 2)


# --- errors users see -----------------------------------------------------------------------

def _mlp():
    rng = np.random.default_rng(8)
    b = GraphBuilder("mlp")
    x = b.input((1, 4), "float32", name="features")
    w = b.const(rng.normal(size=(3, 4)).astype(np.float32))
    y = b.activation((1, 3), "float32")
    b.op("fully_connected", [x, w, b.const(np.zeros(3, np.float32))], [y], fused_activation_function="RELU")
    return b.build([y])


@pytest.mark.parametrize("data, message", [
    (np.zeros((20, 5), np.float32), "has shape (20, 5); the model wants N x (4,)"),
    (np.zeros((20, 2, 2), np.float32), "reshape it, e.g. x.reshape(20, 4)"),
    (np.zeros((20, 4), np.int32), "is int32, the model takes float32"),
    (np.full((20, 4), np.nan, np.float32), "holds 80 NaN/Inf value(s)"),
    (np.zeros((3, 4), np.float32), "only 3 calibration sample(s); at least 8 are needed"),
])
def test_bad_calibration_data(data, message):
    with pytest.raises(TinyqError) as err:
        check_calibration([data], _mlp())
    assert message in str(err.value) and "\n" not in str(err.value)


def test_calibration_files(tmp_path):
    g = _mlp()
    x = np.random.default_rng(9).normal(size=(10, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert load_calibration(tmp_path / "x.npy", g).count == 10
    np.savez(tmp_path / "x.npz", features=x)
    assert load_calibration(tmp_path / "x.npz", g).count == 10
    folder = tmp_path / "samples"
    folder.mkdir()
    for i in range(9):
        np.save(folder / f"{i:02d}.npy", x[i])
    assert np.array_equal(load_calibration(folder, g).arrays[0], x[:9])
    np.savez(tmp_path / "bad.npz", a=x, b=x)
    with pytest.raises(TinyqError, match="holds arrays"):
        load_calibration(tmp_path / "bad.npz", g)


def test_unquantizable_float_op_is_one_line():
    b = GraphBuilder("cast")  # a float -> int32 CAST: nothing to quantize it to (FLOOR now stays a float island)
    x = b.input((1, 4), "float32")
    y = b.activation((1, 4), "int32")
    b.op("cast", [x], [y])
    z = b.activation((1, 4), "float32")
    b.op("relu", [x], [z])
    with pytest.raises(UnsupportedError) as err:
        quantize_graph(b.build([y, z]), [np.zeros((10, 4), np.float32)])
    assert "op cast" in str(err.value) and "cannot be quantized" in str(err.value) and "\n" not in str(err.value)
    # a float input cast to token ids (PyTorch's x.to(torch.int32) before nn.Embedding): the hint says what to
    # export instead, not to give tinyq the TFLite converter's int8 file
    assert "integer inputs" in str(err.value) and "converter" not in str(err.value)


def test_already_quantized_model_is_refused():
    b = GraphBuilder("int8")
    x = b.input((1, 4), scale=0.1, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("relu", [x], [y])
    with pytest.raises(TinyqError, match="already quantized"):
        prepare_float_graph(b.build([y]))


def test_nan_weights_are_refused():
    b = GraphBuilder("nan")
    x = b.input((1, 2), "float32")
    y = b.activation((1, 1), "float32")
    b.op("fully_connected", [x, b.const(np.array([[np.nan, 1.0]], np.float32)), -1], [y])
    with pytest.raises(TinyqError, match="NaN/Inf"):
        prepare_float_graph(b.build([y]))


def test_flash_budget_below_all_int4_is_refused():
    with pytest.raises(TinyqError, match="below the smallest mixed size"):
        quantize_graph(_mlp(), [np.ones((10, 4), np.float32)], QuantizeConfig(weights="mixed", flash_budget=1))


def test_cli_quantize_and_compare(tmp_path, capsys):
    from tinyq.cli import main
    from tinyq.quantize.pipeline import quantize_metadata

    model, out = tmp_path / "mlp.tflite", tmp_path / "mlp_int8.tflite"
    model.write_bytes(write_model(_mlp()))
    np.save(tmp_path / "calib.npy", np.random.default_rng(10).normal(size=(32, 4)).astype(np.float32))
    main(["quantize", str(model), "--calib", str(tmp_path / "calib.npy"), "-o", str(out), "--report"])
    captured = capsys.readouterr()
    assert "calibrating: 32/32 samples" in captured.err and "output SQNR" in captured.out
    written = read_model(out.read_bytes())
    assert written.tensors[written.inputs[0]].dtype == "int8"
    made = QuantizeConfig(**quantize_metadata(written))  # how it was made travels with it: the steps kept
    assert made.self_check and not made.equalize  # one FC layer: nothing to equalize
    assert f"observer {made.observer}, bias correction {'on' if made.bias_correction else 'off'}" in captured.out
    assert "self-check (" in captured.out and "kept" in captured.out
    main(["inspect", "--compare", str(model), str(out), "--calib", str(tmp_path / "calib.npy")])
    assert "per-tensor SQNR" in capsys.readouterr().out
    np.save(tmp_path / "bad.npy", np.zeros((32, 5), np.float32))
    with pytest.raises(SystemExit) as exit_info:
        main(["quantize", str(model), "--calib", str(tmp_path / "bad.npy"), "-o", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and err.startswith("tinyq: error:")


def test_equalization_keeps_the_float_function_and_balances_ranges():
    from tinyq.quantize.equalize import _channel_absmax, equalizable_pairs, equalize
    from tinyq.quantize.floatrun import FloatRunner

    rng = np.random.default_rng(12)
    b = GraphBuilder("cle")
    x = b.input((1, 5, 5, 3), "float32")
    scales = np.array([0.01, 1.0, 20.0, 0.5], dtype=np.float32)  # wildly different channel ranges
    w1 = b.const((rng.normal(size=(4, 3, 3, 3)) * scales[:, None, None, None]).astype(np.float32))
    c = b.activation((1, 5, 5, 4), "float32")
    b.op("conv_2d", [x, w1, b.const(rng.normal(size=4).astype(np.float32))], [c], padding="SAME",
         fused_activation_function="RELU")
    w2 = b.const(rng.normal(size=(1, 3, 3, 4)).astype(np.float32))
    y = b.activation((1, 5, 5, 4), "float32")
    b.op("depthwise_conv_2d", [c, w2, b.const(np.zeros(4, np.float32))], [y], padding="SAME", depth_multiplier=1)
    g = b.build([y])
    assert [(a.op, b.op) for a, b in equalizable_pairs(g)] == [("conv_2d", "depthwise_conv_2d")]
    eq = equalize(g)
    data = rng.normal(size=(1, 5, 5, 3)).astype(np.float32)
    before, after = FloatRunner(g).outputs([data])[0], FloatRunner(eq).outputs([data])[0]
    assert np.allclose(before, after, rtol=1e-4, atol=1e-4)
    r1 = _channel_absmax(eq.tensors[w1].data, 0)
    r2 = _channel_absmax(eq.tensors[w2].data, 3)
    assert np.allclose(r1, r2, rtol=1e-3)  # both layers end with range sqrt(r1 r2) per channel


def test_float_model_computing_nan_is_refused(monkeypatch):
    from tinyq.quantize import floatrun

    # LiteRT's float kernels clamp to +-FLT_MAX, so a NaN has to be injected to reach this check
    real_run = floatrun.FloatRunner.run
    monkeypatch.setattr(floatrun.FloatRunner, "run",
                        lambda self, record, tensors: {t: v * np.nan for t, v in real_run(self, record, tensors).items()})
    with pytest.raises(TinyqError, match="computes NaN/Inf in tensor"):
        quantize_graph(_mlp(), [np.ones((10, 4), np.float32)])


def test_a_nan_among_finite_values_is_refused():
    """SQRT of calibration data with negative values (ai-edge-quantizer's single_sqrt.tflite): NaN beside finite
    values slipped past the range (Python's min drops a NaN that comes second) and the self-check met NaN
    SQNRs only: an internal error, 'max() arg is an empty sequence'."""
    b = GraphBuilder("sqrt")
    x = b.input((2, 3), dtype="float32")
    y = b.activation((2, 3), dtype="float32")
    b.op("sqrt", [x], [y])
    data = np.random.default_rng(3).normal(size=(16, 2, 3)).astype(np.float32)
    data[0] = np.abs(data[0])  # the first sample's range is finite, the others' NaN came second
    with pytest.raises(TinyqError, match=r"computes NaN/Inf in tensor 1"):
        quantize_graph(b.build([y]), [data])


def test_a_bool_input_takes_bool_calibration_data():
    """SELECT's condition as a model input (ai-edge-quantizer's single_select.tflite): bool calibration data
    was refused as 'is bool, the model takes bool', with a hint to pass floats."""
    b = GraphBuilder("select")
    cond = b.input((2, 3), dtype="bool")
    x = b.input((2, 3), dtype="float32")
    y = b.activation((2, 3), dtype="float32")
    b.op("select", [cond, x, b.const(np.zeros((2, 3), np.float32), "float32")], [y])
    graph = b.build([y])
    rng = np.random.default_rng(4)
    masks, data = rng.random((16, 2, 3)) < 0.5, rng.normal(size=(16, 2, 3)).astype(np.float32)
    assert_bit_exact(quantize_graph(graph, [masks, data]).graph, n_inputs=8)
    with pytest.raises(TinyqError, match=r"is int64, the model takes bool \(pass True/False values"):
        quantize_graph(graph, [masks.astype(np.int64), data])


def test_the_default_flash_budget_is_never_below_all_int4():
    """Unseen Keras models (a bilinear upsampler, a 1-D transposed conv) with --weights mixed and no budget:
    70% of the int8 bytes was below what every layer at int4 needs (its biases are most of it), and the
    refusal named a --budget-flash the user never gave. Here 12 B of int8 weights and 12 B of bias."""
    data = np.random.default_rng(10).normal(size=(16, 4)).astype(np.float32)
    result = quantize_graph(_mlp(), [data], QuantizeConfig(weights="mixed"))
    assert result.mixed.budget == result.mixed.planned_bytes == 18  # 6 B of int4 weights + the bias
    weights = [t.dtype for t in result.graph.tensors if t.data is not None and t.dtype in ("int4", "int8")]
    assert weights == ["int4"]
    assert_bit_exact(result.graph, n_inputs=10)
