"""`tinyq quantize --activations int16 | auto`: TFLite's 16x8 scheme, int8 and int16 layers joined by QUANTIZE
ops under an SRAM budget, every model bit-exact with TFLM; against the TFLite converter's 16x8 mode when a
Python with tensorflow is given ($TINYQ_CONVERTER_PYTHON, as `tinyq bench quantize` takes it)."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact, shared_file
from tinyq.errors import TinyqError
from tinyq.passes.fold import fold_constants
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.quantize.activations import arena_bytes
from tinyq.quantize.actparams import INT16_FIXED_OUTPUT, INT16_HEADROOM
from tinyq.quantize.prepare import prepare_float_graph
from tinyq.quantize.report import sqnr_report
from tinyq.quantize.selfcheck import TIE_DB, float_reference, point_sqnrs
from tinyq.quantize.summary import weight_bytes
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model, read_model_file
from tinyq.tflite.writer import write_model

INT16 = QuantizeConfig(activations="int16")
PLAIN16 = QuantizeConfig(activations="int16", self_check=False, observer="minmax", bias_correction=False,
                         equalize=False)
CONVERTER_SCRIPT = Path(__file__).resolve().parent.parent / "tinyq" / "bench" / "tflite_converter.py"


def digits(case: str):
    data = shared_file("quant", "data", "digits")
    graph = read_model_file(shared_file("quant", "models", case, "float32.tflite"))
    shape = graph.tensors[graph.inputs[0]].shape
    calib = np.load(data / "x_calib.npy").reshape((-1,) + shape[1:])
    test = np.load(data / "x_test.npy")
    return graph, calib, [[x.reshape(shape)] for x in test]


def funnel(seed: int = 0):
    """A small CNN regressor (no softmax: its output SQNR does not hang on near-ties): large early feature maps
    set the arena, small late layers carry much of the int8 noise."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("funnel")
    x = b.input((1, 24, 24, 3), "float32")

    def act(shape):
        return b.activation(shape, "float32")

    def const(*shape, scale=0.3):
        return b.const((rng.normal(size=shape) * scale).astype(np.float32))

    c1, c2, c3 = act((1, 24, 24, 16)), act((1, 12, 12, 16)), act((1, 6, 6, 24))
    b.op("conv_2d", [x, const(16, 3, 3, 3), const(16, scale=0.1)], [c1], padding="SAME",
         fused_activation_function="RELU")
    b.op("depthwise_conv_2d", [c1, const(1, 3, 3, 16), const(16, scale=0.1)], [c2], padding="SAME", stride_w=2,
         stride_h=2, depth_multiplier=1, fused_activation_function="RELU")
    b.op("conv_2d", [c2, const(24, 3, 3, 16, scale=0.15), const(24, scale=0.1)], [c3], padding="SAME", stride_w=2,
         stride_h=2, fused_activation_function="RELU")
    pooled, flat, hidden, y = act((1, 1, 1, 24)), act((1, 24)), act((1, 32)), act((1, 4))
    b.op("mean", [c3, b.const(np.array([1, 2], np.int32))], [pooled], keep_dims=True)
    b.op("reshape", [pooled, b.const(np.array([1, 24], np.int32))], [flat])
    b.op("fully_connected", [flat, const(32, 24), const(32, scale=0.1)], [hidden], fused_activation_function="RELU")
    b.op("fully_connected", [hidden, const(4, 32), const(4, scale=0.1)], [y])
    data = rng.uniform(-1, 1, size=(96, 24, 24, 3)).astype(np.float32)
    return b.build([y]), data[:64], [[x[None]] for x in data[64:]]


def arena(graph) -> int:
    return arena_bytes(fold_constants(graph))


def activation_dtypes(graph) -> set[str]:
    return {graph.tensors[t].dtype for op in graph.operators for t in op.outputs}


# --- 16x8 -------------------------------------------------------------------------------------------

def test_int16_is_tflites_16x8_scheme_and_bit_exact():
    """Every activation int16 with zero point 0 and scale 2 max|x| / 32767 over calibration (the converter's
    max|x| / 32767 with one bit of headroom: INT16_HEADROOM; softmax at 2^-15),
    int8 per-channel weights, int64 biases with quantized_bias_type INT64 where the options have it, the int8
    op versions (what the converter's 16x8 mode writes), int16 in and out; bit-exact layer by layer."""
    graph, calib, _ = digits("cnn_digits")
    result = quantize_graph(graph, [calib], PLAIN16)
    g = result.graph
    assert activation_dtypes(g) == {"int16"} and {g.tensors[t].dtype for t in g.inputs + g.outputs} == {"int16"}
    for op in g.operators:
        y = g.tensors[op.outputs[0]]
        assert y.quant.zero_point == (0,), op
        if op.op == "softmax":
            assert y.quant.scale == (2.0 ** -15,)
        elif op.op in ("conv_2d", "depthwise_conv_2d", "fully_connected"):
            st = result.stats[op.outputs[0]]
            assert y.quant.s == np.float32(INT16_HEADROOM * max(abs(st.lo), abs(st.hi)) / 32767)
            w, b = g.tensors[op.inputs[1]], g.tensors[op.inputs[2]]
            assert w.dtype == "int8" and w.quant.per_channel and b.dtype == "int64"
            assert getattr(op.options, "quantized_bias_type", "INT64") == "INT64"
    int8 = quantize_graph(graph, [calib], QuantizeConfig(self_check=False))
    assert [op.version for op in g.operators] == [op.version for op in int8.graph.operators]
    assert weight_bytes(g) > weight_bytes(int8.graph)  # int64 biases
    assert_bit_exact(g, n_inputs=10, layers=True)


@pytest.mark.parametrize("case", ["mlp_digits", "cnn_digits"])
def test_int16_beats_int8_and_is_bit_exact(case):
    graph, calib, records = digits(case)
    ref = float_reference(prepare_float_graph(graph), records)
    int16 = quantize_graph(graph, [calib], INT16)
    int8 = quantize_graph(graph, [calib])
    ours, theirs = point_sqnrs(int16.graph, ref), point_sqnrs(int8.graph, ref)
    assert ours[0] > theirs[0] + 5 and ours[1] > theirs[1] + 2, (ours, theirs)  # output, logits
    assert int16.widths.measured[0][0] == "all int8" and int16.widths.arena == arena(int16.graph)
    assert arena(int16.graph) == 2 * arena(int8.graph)
    assert_bit_exact(int16.graph, n_inputs=10)


def test_int16_add_mul_with_a_constant_load_in_litert_and_are_bit_exact():
    """ADD with a constant operand (stored int16 at its own scale) and MUL, 16x8: pot_scale_int16 false as the
    converter writes it (LiteRT's int16 ADD would otherwise require power-of-two scales)."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(2)
    b = GraphBuilder("add_mul")
    x = b.input((1, 8, 8, 3), "float32")
    c, s, m = (b.activation((1, 8, 8, 8), "float32") for _ in range(3))
    b.op("conv_2d", [x, b.const((rng.normal(size=(8, 3, 3, 3)) * 0.3).astype(np.float32)),
                     b.const(np.zeros(8, np.float32))], [c], padding="SAME")
    b.op("add", [c, b.const(np.linspace(-1, 2, 8).astype(np.float32))], [s])
    b.op("mul", [s, c], [m])
    data = rng.uniform(-1, 1, size=(32, 8, 8, 3)).astype(np.float32)
    g = quantize_graph(b.build([m]), [data], INT16).graph
    add = next(op for op in g.operators if op.op == "add")
    assert add.options.pot_scale_int16 is False and g.tensors[add.inputs[1]].dtype == "int16"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_content=write_model(g))
    interpreter.allocate_tensors()
    interpreter.invoke()
    assert_bit_exact(g, n_inputs=10, layers=True)


def test_int16_near_dead_channels_keep_their_bias():
    """A MobileNet whose near-dead channels (weights ~1e-30 beside a bias) output their bias: with the weight
    scales such tiny weights give, the requantization multiplier falls below 2^-31, which TFLite flushes to 0,
    and those channels output 0 (the 16x8 model once collapsed to ~5 dB at its first depthwise layer); the
    weight scale floor keeps it at 2^-31. Every layer at least as close to float as in int8; bit-exact."""
    from tinyq.bench.float_mobilenet import image_inputs, mobilenet_v1_float

    graph = mobilenet_v1_float(size=32)
    images = image_inputs(72, 32)
    records = [[x[None]] for x in images[64:]]
    plain = dict(self_check=False, observer="minmax", bias_correction=False, equalize=False)
    int16 = quantize_graph(graph, [images[:64]], QuantizeConfig(activations="int16", **plain))
    int8 = quantize_graph(graph, [images[:64]], QuantizeConfig(**plain))
    ours, theirs = (sqnr_report(r.float_graph, r.graph, records).rows for r in (int16, int8))
    layers = [(a.op, a.sqnr_db, b.sqnr_db) for a, b in zip(ours, theirs) if a.op in ("conv_2d", "depthwise_conv_2d")]
    assert len(layers) == 27 and all(a >= b - 0.5 for _, a, b in layers), layers
    assert_bit_exact(int16.graph, n_inputs=3)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["ad_fc_autoencoder", "kws_dscnn", "ic_resnet8"])
def test_mlperf_int16_and_auto_are_bit_exact(case):
    """The MLPerf Tiny float models (KWS's hybrid convolution made float), calibrated on uniform inputs over
    the MLPerf int8 model's input range: 16x8 and auto models bit-exact with TFLM, auto within its budget."""
    from tinyq import qmath

    graph = read_model_file(shared_file("models", "mlperf-tiny", f"{case}_float32.tflite"))
    ref = read_model_file(shared_file("models", "mlperf-tiny", f"{case}_int8.tflite"))
    q = ref.tensors[ref.inputs[0]].quant
    shape = graph.tensors[graph.inputs[0]].shape
    calib = np.random.default_rng(0).uniform(*qmath.real_range(q.s, q.zp), size=(32,) + shape[1:])
    for mode in ("int16", "auto"):
        result = quantize_graph(graph, [calib.astype(np.float32)], QuantizeConfig(activations=mode, self_check=False))
        assert "int16" in activation_dtypes(result.graph)
        if mode == "auto":
            assert arena(result.graph) == result.widths.arena <= result.widths.budget
        assert_bit_exact(result.graph, n_inputs=3)


def _converter_16x8(float_graph, calib) -> bytes:
    python = os.environ.get("TINYQ_CONVERTER_PYTHON")
    if not python:
        pytest.skip("TINYQ_CONVERTER_PYTHON (a Python with tensorflow) is not set: the converter cannot run")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "float.tflite").write_bytes(write_model(float_graph))
        np.savez(folder / "calib.npz", input_0=calib)
        subprocess.run([python, str(CONVERTER_SCRIPT), str(folder / "float.tflite"), str(folder / "calib.npz"),
                        str(folder / "out.tflite"), "int16"], check=True, capture_output=True)
        return (folder / "out.tflite").read_bytes()


@pytest.mark.parametrize("case", ["mlp_digits", "cnn_digits"])
def test_int16_against_the_converters_16x8_mode(case):
    """Plain min/max is the converter's 16x8 model to the value of every weight and the scale of every tensor,
    but for the one bit of headroom of tinyq's int16 activations (INT16_HEADROOM, so their biases' scales too;
    fixed outputs alike);
    tinyq's default (the self-check over its optional steps) is at least as close to float at the output on
    the inputs it was calibrated and checked on, and at the logits on held-out data to 0.5 dB."""
    graph, calib, records = digits(case)
    prepared = prepare_float_graph(graph)
    theirs = fold_constants(read_model(_converter_16x8(prepared, calib)))
    plain = quantize_graph(graph, [calib], PLAIN16).graph
    assert [op.op for op in plain.operators] == [op.op for op in theirs.operators]
    for a, b in zip(plain.operators, theirs.operators):
        for i, j in zip(a.inputs + a.outputs, b.inputs + b.outputs):
            ta, tb = plain.tensors[i], theirs.tensors[j]
            assert ta.dtype == tb.dtype and (ta.quant is None) == (tb.quant is None)
            if ta.quant is not None:
                fixed = a.op in INT16_FIXED_OUTPUT and i in a.outputs
                # an int64 bias's scale is its int16 input's times the weights'
                headroom = INT16_HEADROOM if (ta.dtype == "int16" and not fixed) or ta.dtype == "int64" else 1
                assert ta.quant.scale == tuple(np.float32(headroom * s) for s in tb.quant.scale), (a.op, i)
                assert ta.quant.zero_point == tb.quant.zero_point
            if ta.is_const and ta.dtype == "int8":
                assert np.array_equal(ta.data, tb.data)
    result = quantize_graph(graph, [calib], INT16)
    checked = float_reference(prepared, [[x[None]] for x in calib[:result.check.samples]])
    assert point_sqnrs(result.graph, checked)[0] >= point_sqnrs(theirs, checked)[0] - TIE_DB
    held_out = float_reference(prepared, records)
    assert point_sqnrs(result.graph, held_out)[1] >= point_sqnrs(theirs, held_out)[1] - 0.5


def test_a_layer_without_an_int16_kernel_stays_int8_with_the_reason():
    """HARD_SWISH has no int16 kernel in TFLM (nor tinyq): it runs int8 between QUANTIZE ops, the others int16;
    with --io int8 the edges are int8 too, with --io float QUANTIZE/DEQUANTIZE of int16."""
    rng = np.random.default_rng(1)
    b = GraphBuilder("hard_swish")
    x = b.input((1, 8, 8, 3), "float32")
    c1, h, c2 = b.activation((1, 8, 8, 8), "float32"), b.activation((1, 8, 8, 8), "float32"), \
        b.activation((1, 8, 8, 4), "float32")
    b.op("conv_2d", [x, b.const(rng.normal(size=(8, 3, 3, 3)).astype(np.float32) * 0.3),
                     b.const(np.zeros(8, np.float32))], [c1], padding="SAME")
    b.op("hard_swish", [c1], [h])
    b.op("conv_2d", [h, b.const(rng.normal(size=(4, 1, 1, 8)).astype(np.float32) * 0.3),
                     b.const(np.zeros(4, np.float32))], [c2], padding="SAME")
    graph = b.build([c2])
    data = rng.uniform(-1, 1, size=(32, 8, 8, 3)).astype(np.float32)
    edges = {"int": ("int16", "int16"), "int8": ("int8", "int8"), "float": ("float32", "float32")}
    for io, (dtype_in, dtype_out) in edges.items():
        result = quantize_graph(graph, [data], QuantizeConfig(activations="int16", io=io))
        g = result.graph
        row = next(r for r in result.widths.rows if "hard_swish" in r.name)
        assert row.dtype == "int8" and "no int16 hard_swish here" in row.why
        assert [r.dtype for r in result.widths.rows if r is not row] == ["int16"] * 3
        kinds = [(op.op, g.tensors[op.inputs[0]].dtype, g.tensors[op.outputs[0]].dtype) for op in g.operators]
        assert ("quantize", "int16", "int8") in kinds and ("hard_swish", "int8", "int8") in kinds
        assert ("quantize", "int8", "int16") in kinds
        assert (g.tensors[g.inputs[0]].dtype, g.tensors[g.outputs[0]].dtype) == (dtype_in, dtype_out)
        assert_bit_exact(g, n_inputs=5, layers=io == "int")


# --- auto ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def funnel_models():
    graph, calib, test = funnel()
    models = {name: quantize_graph(graph, [calib], QuantizeConfig(activations=name))
              for name in ("int8", "int16", "auto")}
    return graph, calib, test, models


def test_auto_between_int8_and_int16_in_accuracy_and_arena(funnel_models):
    """On held-out inputs: output SQNR int8 < auto < int16, arena int8 <= auto <= budget < int16 (the default
    budget: halfway), both widths in the model, each arena what tinyq's planner gives the written model."""
    graph, _, test, models = funnel_models
    ref = float_reference(prepare_float_graph(graph), test)
    sqnr = {name: point_sqnrs(r.graph, ref)[0] for name, r in models.items()}
    assert sqnr["int8"] + 2 < sqnr["auto"] < sqnr["int16"], sqnr
    plan = models["auto"].widths
    sizes = {name: arena(r.graph) for name, r in models.items()}
    assert sizes["int8"] <= sizes["auto"] == plan.arena <= plan.budget < sizes["int16"], (sizes, plan.budget)
    assert plan.budget == (plan.int8_arena + plan.int16_arena) // 2
    assert (plan.int8_arena, plan.int16_arena) == (sizes["int8"], sizes["int16"])
    assert activation_dtypes(models["auto"].graph) == {"int8", "int16"}
    int16_rows = [r for r in plan.rows if r.dtype == "int16"]
    assert 0 < len(int16_rows) < len(plan.rows) and all(r.sqnr_db is not None for r in plan.rows)
    text = plan.describe()
    assert "activations auto" in text and "arena" in text and "int16" in text and "all int8" in text
    for result in models.values():
        assert_bit_exact(result.graph, n_inputs=5)


@pytest.mark.parametrize("where", ["int8 arena", "just below int16", "int16 arena"])
def test_auto_respects_the_budget(funnel_models, where):
    graph, calib, _, models = funnel_models
    low, high = models["auto"].widths.int8_arena, models["auto"].widths.int16_arena
    budget = {"int8 arena": low, "just below int16": high - 1, "int16 arena": high}[where]
    result = quantize_graph(graph, [calib], QuantizeConfig(activations="auto", sram_budget=budget))
    assert arena(result.graph) <= budget == result.widths.budget
    measured = dict(result.widths.measured)
    assert measured["auto"] >= measured["all int8"] - TIE_DB
    if where == "int16 arena":  # everything that removes noise fits: as good as all-int16
        assert measured["auto"] >= measured["all int16"] - 1.0


def test_budget_below_the_int8_arena_is_refused():
    graph, calib, _ = funnel()
    with pytest.raises(TinyqError) as err:
        quantize_graph(graph, [calib], QuantizeConfig(activations="auto", sram_budget=100, self_check=False))
    assert "below the all-int8 arena" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(TinyqError, match="only applies to --activations auto"):
        quantize_graph(graph, [calib], QuantizeConfig(sram_budget=10_000))


def test_mixed_weights_and_auto_activations():
    """Both dimensions at once: int4 weights where flash asks for them (those layers keep int8 activations:
    TFLM has no 16x4 kernels), int16 activations where the SRAM budget allows; bit-exact."""
    graph, calib, records = digits("mlp_digits")
    result = quantize_graph(graph, [calib], QuantizeConfig(weights="mixed", activations="auto"))
    g = result.graph
    int4_ops = set(result.mixed.int4_ops)
    assert int4_ops
    for op in g.operators:
        if op.op == "fully_connected":
            w, x = g.tensors[op.inputs[1]], g.tensors[op.inputs[0]]
            assert not (w.dtype == "int4" and x.dtype == "int16")
    assert "int16" in activation_dtypes(g) and arena(g) <= result.widths.budget
    assert_bit_exact(g, n_inputs=10)


def test_cli_auto_writes_a_verified_model(tmp_path, capsys):
    from tinyq.cli import main

    graph, calib, _ = funnel()
    model, out, data = tmp_path / "funnel.tflite", tmp_path / "funnel_a16.tflite", tmp_path / "calib.npy"
    model.write_bytes(write_model(graph))
    np.save(data, calib)
    quantized = quantize_graph(graph, [calib], QuantizeConfig(activations="auto", self_check=False))
    budget = quantized.widths.int8_arena + 1024
    main(["quantize", str(model), "--calib", str(data), "-o", str(out), "--activations", "auto",
          "--budget-sram", str(budget), "--no-self-check", "--report", "--report-samples", "8"])
    text = capsys.readouterr().out
    assert "activations auto" in text and f"of budget {budget:,} B" in text and "per-tensor SQNR" in text
    assert "int16" in text and "int8" in text
    written = read_model(out.read_bytes())
    assert arena(written) <= budget
    with pytest.raises(SystemExit) as exit_info:
        main(["verify", str(out), "--inputs", "5"])
    assert exit_info.value.code == 0 and "bit-exact with TFLM" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["quantize", str(model), "--calib", str(data), "-o", str(tmp_path / "x.tflite"), "--activations",
              "auto", "--budget-sram", "64"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.splitlines()[-1].startswith("tinyq: error:") and "below the all-int8 arena" in err
    assert not (tmp_path / "x.tflite").exists()


def test_int16_layers_ignore_the_observer_as_help_says():
    """`--observer` picks int8 ranges; int16 ones are TFLite's symmetric min/max with headroom whatever it says."""
    graph, calib, _ = funnel(3)
    models = [quantize_graph(graph, [calib], QuantizeConfig(activations="int16", observer=o, self_check=False,
                                                            bias_correction=False)).graph
              for o in ("minmax", "mse", "percentile")]
    params = [{t.name: t.quant for t in m.tensors if t.dtype == "int16"} for m in models]
    assert params[0] and params[0] == params[1] == params[2]
    help_text = subprocess.run([sys.executable, "-m", "tinyq", "quantize", "--help"], capture_output=True,
                               text=True).stdout
    assert "int16 layers" in " ".join(help_text.split())
