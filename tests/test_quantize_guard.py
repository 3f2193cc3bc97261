"""The quantizer guards itself: near-dead channels, the self-check against plain min/max, layer warnings.

The model is a float MobileNetV1 (tinyq.bench.float_mobilenet) with near-dead channels (weights ~1e-30
beside a bias, as L2 decay leaves them); before the equalization fix, tinyq's default settings collapsed
it to ~14 dB output SQNR where plain per-channel min/max reaches ~50 dB.
"""

from dataclasses import replace

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.bench.float_mobilenet import image_inputs, mobilenet_v1_float
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.quantize.equalize import _channel_absmax, equalizable_pairs, equalize
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.report import layer_warnings, sqnr_report
from tinyq.quantize.selfcheck import TIE_DB, Candidate, candidate_configs, float_reference, pick, point_sqnrs
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

SIZE = 32  # 96 in the benchmark; the channels and near-dead pattern do not depend on it
PLAIN = QuantizeConfig(self_check=False, observer="minmax", bias_correction=False, equalize=False)


@pytest.fixture(scope="module")
def near_dead():
    graph = mobilenet_v1_float(size=SIZE)
    images = image_inputs(96, SIZE)
    calib, test = images[:64], images[64:]
    prepared = prepare_float_graph(graph)
    return dict(graph=graph, calib=calib, on_calib=float_reference(prepared, [[x[None]] for x in calib]),
                on_test=float_reference(prepared, [[x[None]] for x in test]),
                result=quantize_graph(graph, [calib]), plain=quantize_graph(graph, [calib], PLAIN))


def test_the_model_has_near_dead_channels_and_equalizable_pairs(near_dead):
    g = prepare_float_graph(near_dead["graph"])
    assert len(equalizable_pairs(g)) == 26  # every conv -> depthwise and depthwise -> conv of the 13 blocks
    tiny = [op.index for op in g.operators if op.op in ("conv_2d", "depthwise_conv_2d")
            if (_channel_absmax(g.tensors[op.inputs[1]].data, 3 if op.op == "depthwise_conv_2d" else 0) < 1e-25).any()]
    assert len(tiny) == 26


def test_never_below_plain_minmax_on_its_own_data(near_dead):
    ours, plain = (point_sqnrs(near_dead[k].graph, near_dead["on_calib"]) for k in ("result", "plain"))
    assert ours[0] >= plain[0] - TIE_DB, f"output SQNR {ours[0]:.2f} dB < plain min/max {plain[0]:.2f} dB"
    check = near_dead["result"].check
    assert check.candidates[-1].steps == () and len(check.candidates) == 8
    assert check.samples == len(near_dead["calib"])  # a small model: every calibration sample
    assert check.best.output_sqnr_db == pytest.approx(ours[0])  # what the check measured is what it returned


def test_held_out_images_stay_near_plain_minmax(near_dead):
    """On images the quantizer never saw: output within 1 dB of plain min/max or better, logits too."""
    ours, plain = (point_sqnrs(near_dead[k].graph, near_dead["on_test"]) for k in ("result", "plain"))
    assert ours[0] >= plain[0] - 1.0 and ours[1] >= plain[1] - 1.0, (ours, plain)


def test_equalization_no_longer_collapses_near_dead_channels(near_dead):
    """The default steps without the self-check (equalization on): the old equalization scaled near-dead
    channels' constant outputs up by ~1e12, sent ranges to ~1e11 and the output SQNR to ~14 dB."""
    result = quantize_graph(near_dead["graph"], [near_dead["calib"]], QuantizeConfig(self_check=False))
    assert result.config.equalize
    ours, plain = (point_sqnrs(r.graph, near_dead["on_test"]) for r in (result, near_dead["plain"]))
    assert ours[0] >= plain[0] - 6.0, f"output SQNR {ours[0]:.1f} dB, plain min/max {plain[0]:.1f} dB"
    for t, st in result.stats.items():
        assert st.hi <= 10 * max(near_dead["plain"].stats[t].hi, 1.0), f"tensor {t}: range {st.hi:.3g}"


def test_equalization_leaves_near_dead_channels_and_bounds_scales():
    from tinyq.quantize.floatrun import FloatRunner

    rng = np.random.default_rng(3)
    b = GraphBuilder("chain")
    x = b.input((1, 6, 6, 4), "float32")
    w1 = rng.normal(size=(4, 1, 1, 4)) * np.array([1e-30, 1e3, 1e3, 1e3])[:, None, None, None]
    w2 = rng.normal(size=(1, 3, 3, 4)) * np.array([1.0, 1e-4, 1e-2, 1e-2])  # channel 1 wants a scale of ~3e3
    ys = [b.activation((1, 6, 6, 4), "float32") for _ in range(3)]
    b.op("conv_2d", [x, b.const(w1.astype(np.float32)), b.const(np.array([0.5, 0, 0, 0], np.float32))], [ys[0]],
         padding="SAME", fused_activation_function="RELU")
    b.op("depthwise_conv_2d", [ys[0], b.const(w2.astype(np.float32)), b.const(np.zeros(4, np.float32))], [ys[1]],
         padding="SAME", depth_multiplier=1, fused_activation_function="RELU")
    b.op("conv_2d", [ys[1], b.const(rng.normal(size=(4, 1, 1, 4)).astype(np.float32)),
                     b.const(np.zeros(4, np.float32))], [ys[2]], padding="SAME")
    g = b.build([ys[2]])
    eq = equalize(g)
    old, new = (np.asarray(gr.tensors[gr.operators[0].inputs[1]].data) for gr in (g, eq))
    assert new[0].tobytes() == old[0].tobytes()  # the near-dead channel: weights and bias untouched
    assert eq.tensors[eq.operators[0].inputs[2]].data[0] == np.float32(0.5)
    total = _channel_absmax(old, 0)[1:] / _channel_absmax(new, 0)[1:]  # each live channel's scale, all passes
    assert total.max() <= 1e3 * 1.001 and total.max() >= 1e3 * 0.999  # channel 1 sits at the bound
    assert total.min() >= 1e-3 * 0.999
    data = rng.normal(size=(1, 6, 6, 4)).astype(np.float32)
    before, after = FloatRunner(g).outputs([data])[0], FloatRunner(eq).outputs([data])[0]
    assert np.allclose(before, after, rtol=1e-4, atol=1e-4 * np.abs(before).max())


def test_quantized_near_dead_model_is_bit_exact_through_the_cli(near_dead, tmp_path, capsys):
    from tinyq.cli import main

    model, out, calib = tmp_path / "mobilenet.tflite", tmp_path / "mobilenet_int8.tflite", tmp_path / "calib.npy"
    model.write_bytes(write_model(near_dead["graph"]))
    np.save(calib, near_dead["calib"])
    main(["quantize", str(model), "--calib", str(calib), "-o", str(out), "--report", "--report-samples", "8"])
    text = capsys.readouterr().out
    assert "self-check (8 candidates" in text and "kept:" in text and "warning" not in text
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", str(out), "--inputs", "5"])
    assert exit_info.value.code == 0 and "bit-exact with TFLM" in capsys.readouterr().out
    assert_bit_exact(near_dead["result"].graph, n_inputs=5)


# --- the choice ---------------------------------------------------------------------------------

def test_pick_keeps_the_best_candidate_not_below_plain():
    config = QuantizeConfig()
    cands = [Candidate(("equalization",), config, (43.9, 60.0), 1),  # best score, output below plain
             Candidate(("bias correction",), config, (45.0, 50.0), 1),
             Candidate(("clipping search",), config, (46.0, 40.0), 1),
             Candidate((), config, (44.0, 30.0), 1)]
    assert pick(cands) == 1
    assert pick(cands[2:]) == 0
    assert pick([Candidate((), config, (44.0,), 1)]) == 0
    tied = [Candidate(("equalization",), config, (44.0 - TIE_DB / 2, 60.0), 1), cands[-1]]
    assert pick(tied) == 0  # below plain by less than the check resolves: a tie, the better logits win


def test_the_reason_names_the_mean_it_ranked_by():
    """Two outputs at 2.5 and 37.9 dB rank by their mean, 20.2 dB: the line said 'highest output SQNR (20.2 dB)'
    beside an output SQNR of 2.5 dB (bench graphs seed 7121)."""
    from tinyq.quantize.selfcheck import SelfCheck

    config = QuantizeConfig()
    two = [Candidate(("bias correction",), config, (2.5, 37.9), 2), Candidate((), config, (2.5, 37.0), 2)]
    assert "highest mean SQNR over the outputs (20.2 dB)" in SelfCheck(tuple(two), 0, 32, 0.1).why()
    one = [Candidate(("bias correction",), config, (30.0,), 1), Candidate((), config, (29.0,), 1)]
    assert "highest output SQNR (30.0 dB)" in SelfCheck(tuple(one), 0, 32, 0.1).why()


def test_candidates_follow_the_allowed_steps():
    assert len(candidate_configs(QuantizeConfig())) == 8
    assert [s for s, _ in candidate_configs(QuantizeConfig(), equalizable=False)] == [
        ("bias correction", "clipping search"), ("bias correction",), ("clipping search",), ()]
    only = candidate_configs(QuantizeConfig(equalize=False, observer="minmax"))
    assert [s for s, _ in only] == [("bias correction",), ()]
    assert only[1][1] == replace(QuantizeConfig(), equalize=False, observer="minmax", bias_correction=False,
                                 int4_clip="max")
    assert candidate_configs(QuantizeConfig(self_check=False)) == [
        (("equalization", "bias correction", "clipping search"), QuantizeConfig(self_check=False))]


# --- layer warnings -----------------------------------------------------------------------------

def test_warning_names_a_layer_whose_scale_was_broken(near_dead):
    result = near_dead["plain"]
    records = [[x[None]] for x in near_dead["calib"][:8]]
    assert not layer_warnings(sqnr_report(result.float_graph, result.graph, records), result.float_graph)
    bad = 9  # a depthwise layer in the middle: its output step made 200x coarser
    t = result.graph.operators[bad].outputs[0]
    tensors = list(result.graph.tensors)
    q = tensors[t].quant
    tensors[t] = replace(tensors[t], quant=replace(q, scale=(q.scale[0] * 200,)))
    broken = replace(result.graph, tensors=tuple(tensors))
    warned = layer_warnings(sqnr_report(result.float_graph, broken, records), result.float_graph)
    assert [w.op_index for w in warned] == [bad]
    assert f"op {bad} (depthwise_conv_2d)" in warned[0].describe()


def _constant_channel_model():
    """conv A: channel 0 has weights 1e-30 and bias 1e4 (a constant 1e4 that sets A's range, so A's other
    channels round to zero); conv B weighs that channel by 1e-4: B's output collapses, A's does not."""
    rng = np.random.default_rng(5)
    b = GraphBuilder("constant_channel")
    x = b.input((1, 8, 8, 3), "float32")
    wa = rng.normal(size=(8, 3, 3, 3))
    wa[0] = 1e-30
    ba = np.zeros(8)
    ba[0] = 1e4
    wb = rng.normal(size=(8, 1, 1, 8)) * 0.5
    wb[:, :, :, 0] = 1e-4
    a, bo, c = (b.activation(s, "float32") for s in ((1, 8, 8, 8), (1, 8, 8, 8), (1, 8, 8, 4)))
    b.op("conv_2d", [x, b.const(wa.astype(np.float32)), b.const(ba.astype(np.float32))], [a], padding="SAME",
         fused_activation_function="RELU")
    b.op("conv_2d", [a, b.const(wb.astype(np.float32)), b.const(np.zeros(8, np.float32))], [bo], padding="SAME",
         fused_activation_function="RELU")
    b.op("conv_2d", [bo, b.const(rng.normal(size=(4, 1, 1, 8)).astype(np.float32)),
                     b.const(np.zeros(4, np.float32))], [c], padding="SAME")
    return b.build([c])


@pytest.mark.parametrize("self_check", [True, False])
def test_quantize_warns_about_the_collapsing_layer(self_check):
    data = np.random.default_rng(6).uniform(-1, 1, (16, 8, 8, 3)).astype(np.float32)
    result = quantize_graph(_constant_channel_model(), [data], QuantizeConfig(self_check=self_check))
    assert [w.op_index for w in result.warnings] == [1]
    from tinyq.quantize.summary import summary_text
    assert "warning: op 1 (conv_2d)" in summary_text(result, "out.tflite", 0)


def _centred_twice_model():
    """x -> FC -> h - mean(h) -> again minus its mean (as PyTorch's LayerNorm after a LayerNorm): the second
    mean is float32 rounding, 1e-8 of the values around it."""
    rng = np.random.default_rng(8)
    b = GraphBuilder("centred_twice")
    x = b.input((1, 16), "float32")
    h = b.activation((1, 16), "float32")
    b.op("fully_connected", [x, b.const(rng.normal(0, 0.5, (16, 16)).astype(np.float32)),
                             b.const(np.zeros(16, np.float32))], [h])
    c = h
    for _ in range(2):
        m, centred = b.activation((1, 1), "float32"), b.activation((1, 16), "float32")
        b.op("mean", [c, b.const(np.array([1], np.int32))], [m], keep_dims=True)
        b.op("sub", [c, m], [centred])
        c = centred
    out = b.activation((1, 4), "float32")
    b.op("fully_connected", [c, b.const(rng.normal(0, 0.5, (4, 16)).astype(np.float32)),
                             b.const(np.zeros(4, np.float32))], [out])
    return b.build([out])


def test_no_warning_for_a_tensor_that_is_float_rounding():
    """PyTorch's transformer (ai-edge-torch), --activations int16 and int8: the last LayerNorm's mean of an
    already normalized tensor (+-6e-8 of values +-3.5) was flagged at -17 dB as a failing layer."""
    graph = _centred_twice_model()
    data = np.random.default_rng(9).normal(0, 1, (32, 16)).astype(np.float32)
    result = quantize_graph(graph, [data], QuantizeConfig(self_check=False))
    records = [[x[None]] for x in data[:8]]
    report = sqnr_report(result.float_graph, result.graph, records)
    noise = next(r for r in report.rows if r.op_index == 3)  # the second mean
    assert max(map(abs, noise.float_range)) < 1e-5 and noise.sqnr_db < 10  # rounding: nothing to measure
    assert not layer_warnings(report, result.float_graph)
    assert not result.warnings
