"""`tinyq quantize` on float UNIDIRECTIONAL_SEQUENCE_LSTM models: TFLM's 8x8->16 LSTM (and 16x8 with
--activations int16). Each model is quantized on random calibration data, then run bit-exact against TFLM,
compared with the float model (LiteRT), and its state tensors checked: hidden state at the output's type
and parameters, an int16 cell state at the smallest power-of-two scale covering every step's cell.

The SQNR floor is 25 dB at the LSTM's output: 8-bit weights and activations over a few recurrent steps
leave it 32-40 dB above the float model here, while the same model with a narrower cell scale (the cell
saturating) or its hidden state's parameters not its output's falls below it
(test_a_wrong_cell_scale_or_hidden_state_fails_the_floor)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets, shared_file
from test_float_lstm import float_lstm
from tinyq.errors import TinyqError, UnsupportedError
from tinyq.golden import tflm_run
from tinyq.ir import NO_TENSOR, Quant
from tinyq.ops.lstm import float_run
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.quantize.data import sample_shape
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.qparams import sqnr_db
from tinyq.quantize.report import dequantize, quantize_inputs, sqnr_report
from tinyq.quantize.rules import RULES
from tinyq.quantize.selfcheck import macs_per_sample
from tinyq.quantize.summary import summary_text, weight_bytes
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model_file
from tinyq.tflite.writer import write_model

LSTM = "unidirectional_sequence_lstm"
MIN_SQNR_DB = 25.0
CHECKED = 12  # records run bit-exact and scored against the float model

CASES = {
    "batch_major": dict(),
    "batches_2": dict(batches=2, steps=4),
    "time_major": dict(time_major=True, batches=2, steps=3),
    "time_major_1": dict(time_major=True, steps=5),
    "cell_clip": dict(cell_clip=0.75, scale=1.5),
    "wide": dict(n_input=12, n_hidden=9, steps=6),
    "long": dict(n_input=3, n_hidden=6, steps=16, scale=0.8),
    "streaming": dict(steps=1, n_input=6, n_hidden=5),  # one frame per invoke: the state carries the sequence
}


def _second_lstm(b: GraphBuilder, rng, x: int, shape_in: tuple, n_hidden: int) -> int:
    """Another float LSTM (batch-major) reading `x`: Keras's stacked LSTM layers."""
    inputs = [NO_TENSOR] * 24
    inputs[0] = x
    def weights(cols: int) -> int:
        return b.const((rng.standard_normal((n_hidden, cols)) * 0.5).astype(np.float32), "float32")

    for w_in, w_rec in ((1, 5), (2, 6), (3, 7), (4, 8)):
        inputs[w_in], inputs[w_rec] = weights(shape_in[2]), weights(n_hidden)
    for position in (12, 13, 14, 15):
        inputs[position] = b.const((rng.standard_normal(n_hidden) * 0.2).astype(np.float32), "float32")
    inputs[18] = b.variable((shape_in[0], n_hidden), dtype="float32")
    inputs[19] = b.variable((shape_in[0], n_hidden), dtype="float32")
    y = b.activation(shape_in[:2] + (n_hidden,), dtype="float32")
    b.op(LSTM, inputs, [y], fused_activation_function="TANH", cell_clip=0.0, time_major=False)
    return y


def _model(name: str):
    rng = np.random.default_rng(sorted(CASES).index(name) if name in CASES else 99)
    b = GraphBuilder(f"lstm_{name}")
    if name == "mnist_like":  # LSTM -> reshape -> FC -> softmax, as Keras exports the TFLM mnist_lstm model
        y = float_lstm(b, rng, batches=1, steps=6, n_input=7, n_hidden=5, scale=0.7)
        flat = b.activation((1, 30), "float32")
        b.op("reshape", [y, b.const(np.array([1, 30], np.int32), "int32")], [flat])
        logits = b.activation((1, 4), "float32")
        b.op("fully_connected", [flat, b.const(rng.normal(0, 0.5, (4, 30)).astype(np.float32), "float32"),
                                 b.const(rng.normal(0, 0.1, 4).astype(np.float32), "float32")], [logits])
        y = b.activation((1, 4), "float32")
        b.op("softmax", [logits], [y], beta=1.0)
    elif name == "stacked":  # LSTM -> LSTM, each with its own state and cell scale
        y = _second_lstm(b, rng, float_lstm(b, rng, batches=2, steps=5, n_input=4, n_hidden=6), (2, 5, 6), 3)
    else:
        y = float_lstm(b, rng, **CASES[name])
    graph = b.build([y])
    x = graph.tensors[graph.inputs[0]]
    calib = [rng.normal(0, 1, (48,) + sample_shape(x)).astype(np.float32)]
    return graph, calib


def _records(graph, calib, count=CHECKED):
    x = graph.tensors[graph.inputs[0]]
    return [[calib[0][k][None] if x.shape[0] == 1 else calib[0][k]] for k in range(count)]


def _lstm(graph):
    return next(op for op in graph.operators if op.op == LSTM)


def _output_sqnr(name: str, result, qgraph=None) -> float:
    """The LSTM model's output SQNR against its float model over the first calibration samples."""
    graph, calib = _model(name)
    return sqnr_report(result.float_graph, qgraph or result.graph, _records(graph, calib)).output_sqnr_db[0]


def quantized(name: str, **config):
    graph, calib = _model(name)
    return quantize_graph(graph, calib, QuantizeConfig(**config))


@pytest.mark.parametrize("name", sorted(CASES) + ["mnist_like", "stacked"])
def test_float_lstm_quantizes_bit_exact_and_close_to_float(name):
    result = quantized(name)
    q = result.graph
    for op in (o for o in q.operators if o.op == LSTM):
        assert op.version == 1
        assert q.tensors[op.inputs[0]].dtype == "int8" and q.tensors[op.outputs[0]].dtype == "int8"
        assert q.tensors[op.inputs[18]].quant == q.tensors[op.outputs[0]].quant
    assert_bit_exact(q, n_inputs=CHECKED)
    sqnr = _output_sqnr(name, result)
    assert sqnr >= MIN_SQNR_DB, f"{name}: output SQNR {sqnr:.1f} dB"


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_tensors_and_weights_are_tflms(name):
    """Hidden state: a variable at the output's type and parameters; cell: an int16 variable, zero point 0,
    the smallest power-of-two scale covering every step's cell of every calibration sample; weights int8
    per tensor, zero point 0; biases int32 at input scale x their input weights' scale."""
    result = quantized(name)
    q, f = result.graph, result.float_graph
    op = _lstm(q)
    hidden, cell, out = (q.tensors[t] for t in (op.inputs[18], op.inputs[19], op.outputs[0]))
    assert hidden.is_variable and cell.is_variable and hidden.data is None and cell.data is None
    assert (hidden.dtype, hidden.quant) == (out.dtype, out.quant)
    assert cell.dtype == "int16" and cell.quant.zp == 0
    power = np.log2(cell.quant.s * 32768)
    assert power == round(power)
    stats = result.stats[op.inputs[19]]
    seen = max(abs(stats.lo), abs(stats.hi))
    assert cell.quant.s * 16384 < seen <= cell.quant.s * 32768
    # every step's cell of every sample was observed, not only the state LiteRT shows after the last step
    assert stats.sample.size == 48 * np.prod(cell.shape) * _steps(f)
    x_scale = q.tensors[op.inputs[0]].quant.s
    for w_pos, b_pos in ((1, 12), (2, 13), (3, 14), (4, 15)):
        w, b = q.tensors[op.inputs[w_pos]], q.tensors[op.inputs[b_pos]]
        assert w.dtype == "int8" and len(w.quant.scale) == 1 and w.quant.zp == 0 and np.abs(w.data).max() == 127
        assert b.dtype == "int32" and b.quant.s == pytest.approx(x_scale * w.quant.s, rel=1e-6)
    for w_pos in (5, 6, 7, 8):
        w = q.tensors[op.inputs[w_pos]]
        assert w.dtype == "int8" and len(w.quant.scale) == 1 and w.quant.zp == 0


def test_a_streaming_lstm_calibrates_the_state_it_carries():
    """One frame per invoke: the cell grows over the frames, as LiteRT, TFLM and the generated code carry it
    from one invoke to the next. The observed range is the carried cell's (LiteRT's float LSTM run over the
    calibration frames in order), wider than one frame from a reset state would show; the scale covers it."""
    result = quantized("streaming")
    f = result.float_graph
    op = _lstm(f)
    _, calib = _model("streaming")
    state, carried, reset = None, 0.0, 0.0
    for x in calib[0]:
        _, cells, state = float_run(f, op, x[None], state)
        carried = max(carried, float(np.abs(cells).max()))
        reset = max(reset, float(np.abs(float_run(f, op, x[None])[1]).max()))
    stats = result.stats[op.inputs[19]]
    assert max(abs(stats.lo), abs(stats.hi)) == pytest.approx(carried, rel=1e-4)
    assert carried > 1.5 * reset
    assert carried <= result.graph.tensors[op.inputs[19]].quant.s * 32768


def _steps(graph) -> int:
    op = _lstm(graph)
    x = graph.tensors[op.inputs[0]]
    return x.shape[0] if op.options.time_major else x.shape[1]


def _with_quant(graph, tensor: int, quant: Quant):
    tensors = list(graph.tensors)
    tensors[tensor] = replace(tensors[tensor], quant=quant)
    return replace(graph, tensors=tuple(tensors))


@pytest.mark.parametrize("name, narrower", [("cell_clip", 2), ("batch_major", 4), ("batches_2", 4), ("long", 4)])
def test_a_wrong_cell_scale_or_hidden_state_fails_the_floor(name, narrower):
    """The floor tells a right model from a wrong one: a narrower cell scale saturates the cell (half of it
    where the cell fills its range, as the clipped one does; a quarter where the largest cell is just past
    the power of two below, which half the scale clips only a little), and hidden state parameters other
    than the output's misread the recurrent input."""
    result = quantized(name)
    q = result.graph
    op = _lstm(q)
    cell = q.tensors[op.inputs[19]]
    assert _output_sqnr(name, result) >= MIN_SQNR_DB
    narrow = _with_quant(q, cell.index, Quant(scale=(cell.quant.s / narrower,), zero_point=(0,)))
    assert _output_sqnr(name, result, narrow) < MIN_SQNR_DB
    hidden = q.tensors[op.inputs[18]]
    off = _with_quant(q, hidden.index, Quant(scale=(hidden.quant.s * 3,), zero_point=(hidden.quant.zp,)))
    assert _output_sqnr(name, result, off) < MIN_SQNR_DB


def test_int16_activations_run_tflms_16x8_lstm():
    """--activations int16: int16 input, hidden state and output, int8 weights, int64 biases, version 5."""
    for name in ("batches_2", "time_major", "mnist_like"):
        result = quantized(name, activations="int16")
        q = result.graph
        op = _lstm(q)
        assert op.version == 5, name
        assert {q.tensors[t].dtype for t in (op.inputs[0], op.inputs[18], op.outputs[0])} == {"int16"}, name
        assert q.tensors[op.inputs[12]].dtype == "int64" and q.tensors[op.inputs[1]].dtype == "int8", name
        assert q.tensors[op.inputs[18]].quant == q.tensors[op.outputs[0]].quant, name
        assert_bit_exact(q, n_inputs=CHECKED)
        sqnr = _output_sqnr(name, result)
        assert sqnr >= MIN_SQNR_DB, f"{name}: int16 output SQNR {sqnr:.1f} dB"


def test_quantized_lstm_on_targets():
    """The quantized LSTM (int8 with the FC and softmax after it; 16x8) bit-exact on the host and under QEMU,
    with the reference kernels and CMSIS-NN's (its LSTM where it applies)."""
    assert_bit_exact_on_targets(quantized("mnist_like").graph, n_inputs=8, backends=("reference", "cmsis-nn"))
    assert_bit_exact_on_targets(quantized("time_major", activations="int16").graph, n_inputs=8,
                                backends=("reference", "cmsis-nn"))


def test_auto_activations_measure_a_stateful_model_run_for_run():
    """--activations auto rounds one layer at a time and compares with the float model run over the same
    records in the same order: the LSTM's state must advance once per record in both (the reference once ran
    once per measure point, so every layer, even a softmax output rounded at 1/256, measured 3 dB)."""
    result = quantized("mnist_like", activations="auto")
    rows = [r for r in result.widths.rows if r.sqnr_db is not None]
    assert rows and all(r.sqnr_db > MIN_SQNR_DB for r in rows), [(r.name, r.sqnr_db) for r in rows]
    assert_bit_exact(result.graph, n_inputs=CHECKED)


@pytest.mark.parametrize("weights", ["int4", "mixed"])
def test_int4_weights_leave_the_lstm_int8(weights):
    """TFLM's LSTM takes int8 weights only: --weights int4/mixed make the FC after it int4, not the LSTM."""
    result = quantized("mnist_like", weights=weights, rounding="gptq")
    q = result.graph
    op = _lstm(q)
    assert all(q.tensors[op.inputs[p]].dtype == "int8" for p in range(1, 9))
    assert op.index not in result.weight_dtypes and op.index not in result.weights
    assert_bit_exact(q, n_inputs=CHECKED)


def test_summary_weight_bytes_and_macs_count_the_lstm():
    """What `tinyq quantize` prints of the LSTM, its weights and biases in the weight bytes, and its gate
    products in the MACs that size the self-check (steps x 4 gates x units x (inputs + units), plus the FC)."""
    result = quantized("mnist_like")
    q = result.graph
    op = _lstm(q)
    text = summary_text(result, "out.tflite", 0)
    assert f"op {op.index} ({LSTM}): int8 weights per tensor" in text
    assert f"int16 cell state at 2^{round(np.log2(q.tensors[op.inputs[19]].quant.s))}" in text
    lstm_bytes = 4 * 5 * (7 + 5) + 4 * 5 * 4  # int8 matrices, int32 biases
    fc_bytes = 4 * 30 + 4 * 4
    assert weight_bytes(q) == lstm_bytes + fc_bytes
    assert macs_per_sample(result.float_graph) == 6 * 4 * 5 * (7 + 5) + 4 * 30


def _variant(**change):
    """A float LSTM with TFLM's unsupported variants: `add` {position: shape} adds constant tensors,
    `drop` positions removes them, `activation` sets the cell gate's."""
    rng = np.random.default_rng(5)
    b = GraphBuilder("lstm_variant")
    y = float_lstm(b, rng)
    graph = b.build([y])
    op = graph.operators[0]
    inputs = list(op.inputs)
    tensors = list(graph.tensors)
    for position, shape in change.get("add", {}).items():
        tensors.append(replace(tensors[op.inputs[1]], index=len(tensors), name=f"extra{position}", shape=shape,
                               data=np.full(shape, 0.1, np.float32)))
        inputs[position] = len(tensors) - 1
    for position in change.get("drop", ()):
        inputs[position] = NO_TENSOR
    options = replace(op.options, fused_activation_function=change.get("activation", "TANH"),
                      diagonal_recurrent_tensors=change.get("diagonal", False))
    op = replace(op, inputs=tuple(inputs), options=options)
    return replace(graph, tensors=tuple(tensors), operators=(op,))


@pytest.mark.parametrize("change, said", [
    (dict(add={9: (4,), 10: (4,), 11: (4,)}), "peephole"),
    (dict(add={16: (3, 4)}), "projection"),
    (dict(add={20: (4,), 21: (4,), 22: (4,), 23: (4,)}), "layer normalization"),
    (dict(drop=(1, 5, 12)), "CIFG"),
    (dict(activation="RELU"), "cell gate activation RELU"),
    (dict(diagonal=True), "diagonal recurrent weights"),
])
def test_lstm_variants_tflm_cannot_run_are_refused_in_one_line(change, said):
    graph = _variant(**change)
    with pytest.raises(UnsupportedError) as error:
        quantize_graph(graph, [np.zeros((4, 3, 5), np.float32)])
    assert said in str(error.value) and "\n" not in str(error.value)


def test_calibration_refuses_a_float_model_that_disagrees_with_litert(monkeypatch):
    """The cell statistics come from tinyq's float LSTM only while it reproduces LiteRT's output: one with
    two gates swapped is caught."""
    rule = RULES[LSTM]
    real = rule.recurrent.float_run

    def swapped(graph, op, x, state=None):
        inputs = list(op.inputs)
        inputs[2], inputs[4] = inputs[4], inputs[2]  # forget and output gate input weights
        return real(graph, replace(op, inputs=tuple(inputs)), x, state)

    monkeypatch.setitem(RULES, LSTM, replace(rule, recurrent=replace(rule.recurrent, float_run=swapped)))
    graph, calib = _model("batch_major")
    with pytest.raises(TinyqError, match="differs from LiteRT"):
        quantize_graph(graph, calib)


def mnist_inputs():
    """The digits of ../shared/quant (8x8, sklearn) drawn at MNIST's layout: 20x20 digits centred in 28x28."""
    folder = shared_file("quant", "data", "digits")
    samples = []
    for name in ("x_calib.npy", "x_test.npy"):
        small = np.load(folder / name).reshape(-1, 8, 8)
        grid = (np.arange(20) + 0.5) * 8 / 20 - 0.5  # bilinear, pixel centres
        lo = np.clip(np.floor(grid).astype(int), 0, 7)
        hi = np.clip(lo + 1, 0, 7)
        t = np.clip(grid - lo, 0, 1)
        rows = small[:, lo, :] * (1 - t)[None, :, None] + small[:, hi, :] * t[None, :, None]
        big = rows[:, :, lo] * (1 - t)[None, None, :] + rows[:, :, hi] * t[None, None, :]
        samples.append(np.pad(big, ((0, 0), (4, 4), (4, 4))).astype(np.float32))
    return samples


def output_sqnr(float_graph, qgraph, sequences) -> float:
    """Output SQNR of an integer file (run in TFLM) against the float model (LiteRT) over `sequences` of
    records: each from a reset state (a new interpreter), the state carried from record to record within it."""
    floats, ints = [], []
    for records in sequences:
        runner = FloatRunner(float_graph)
        floats += [runner.outputs(record)[0] for record in records]
        runs = tflm_run(write_model(qgraph), [quantize_inputs(qgraph, record) for record in records])
        ints += [dequantize(qgraph.tensors[qgraph.outputs[0]], outputs[0]) for outputs in runs]
    return sqnr_db(np.concatenate([np.ravel(f) for f in floats]), np.concatenate([np.ravel(q) for q in ints]))


def _same_lstm_scales(ours, theirs):
    ours_op, theirs_op = _lstm(ours), _lstm(theirs)
    for g, op in ((ours, ours_op), (theirs, theirs_op)):  # both: the hidden state at the output's parameters
        assert g.tensors[op.inputs[18]].quant == g.tensors[op.outputs[0]].quant
        assert g.tensors[op.inputs[19]].dtype == "int16" and g.tensors[op.inputs[19]].quant.zp == 0
    for p in range(1, 9):  # both take max |w| / 127 per matrix
        assert ours.tensors[ours_op.inputs[p]].quant.s == pytest.approx(theirs.tensors[theirs_op.inputs[p]].quant.s,
                                                                         rel=1e-6)


def test_tflm_mnist_lstm_against_the_converters_int8_file(capsys):
    """tinyq's int8 mnist_lstm next to the TFLite converter's int8 file of the same float model: output SQNR
    against the float model on the same inputs (printed, not pinned), tinyq's bit-exact in TFLM, and the
    same per-tensor weight scales. The converter calibrated on MNIST, tinyq here on ../shared's digits."""
    float_path = shared_file("models", "tflm-corpus", "examples_mnist_lstm_trained_lstm.tflite")
    theirs = read_model_file(shared_file("models", "tflm-corpus", "examples_mnist_lstm_trained_lstm_int8.tflite"))
    calib, test = mnist_inputs()
    ours = quantize_graph(read_model_file(float_path), [calib]).graph
    assert_bit_exact(ours, n_inputs=8)
    sequences = [[[x[None]]] for x in test[:100]]  # one image per sequence
    float_graph = read_model_file(float_path)
    figures = {name: output_sqnr(float_graph, g, sequences) for name, g in (("tinyq", ours), ("converter", theirs))}
    with capsys.disabled():
        print("\nmnist_lstm output SQNR vs float, 100 digits: " +
              ", ".join(f"{name} {db:.1f} dB" for name, db in figures.items()))
    _same_lstm_scales(ours, theirs)
    assert all(np.isfinite(db) for db in figures.values())


STREAMING = Path(__file__).parent / "data" / "streaming"


def test_converter_made_streaming_lstm_against_the_converters_int8_file(capsys):
    """A tf-keras streaming LSTM (one frame per invoke, tests/data/streaming/make_streaming_kws_float.py):
    tinyq quantizes the converter's float file on the frames the converter calibrated its int8 file on, in
    order (the state carried). Both files' output SQNR against the float model over the keyword utterances
    streamed frame by frame (printed, not pinned); tinyq's file bit-exact in TFLM over a stream of frames;
    the converter's per-tensor weight scales, and its cell scale: both cover the carried cell."""
    float_graph = read_model_file(STREAMING / "streaming_kws_lstm_float.tflite")
    theirs = read_model_file(STREAMING / "streaming_kws_lstm_float_int8.tflite")
    ours = quantize_graph(float_graph, [np.load(STREAMING / "kws_calib_frames.npy")]).graph
    assert_bit_exact(ours, n_inputs=24)
    utterances = np.load(STREAMING / "keywords.npy")
    sequences = [[[frame[None, None]] for frame in utterance] for utterance in utterances]
    figures = {name: output_sqnr(float_graph, g, sequences) for name, g in (("tinyq", ours), ("converter", theirs))}
    with capsys.disabled():
        print("\nstreaming kws LSTM output SQNR vs float, 4 utterances x 24 frames: " +
              ", ".join(f"{name} {db:.1f} dB" for name, db in figures.items()))
    _same_lstm_scales(ours, theirs)
    assert ours.tensors[_lstm(ours).inputs[19]].quant == theirs.tensors[_lstm(theirs).inputs[19]].quant
    assert all(np.isfinite(db) for db in figures.values())
