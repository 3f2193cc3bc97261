"""Malformed float models through tinyq quantize: one TinyqError line each, never a traceback or a dead process.

One small model per cause the fuzzer (tinyq bench fuzz) found: shapes the file declares that its ops do not
compute (TFLM then read out of bounds: SIGSEGV, SIGABRT, or a numpy broadcast error comparing outputs),
weights of the wrong rank and biases of the wrong length (equalization's IndexError/ValueError), values
near float32's limit (the observer's histogram overflowed; TFLM aborted on the ADD scales they gave), a
softmax beta of 0 (TFLM aborts). TFLM itself runs in a child process: a crash there is one error line too.
"""

import os

import numpy as np
import pytest

from tinyq.errors import TinyqError, UnsupportedError
from tinyq.golden import tflm_available
from tinyq.quantize import QuantizeConfig, quantize_graph
from tinyq.quantize.isolated import in_child, tflm_run
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model

needs_tflm = pytest.mark.skipif(not tflm_available(), reason="tflite-micro is not installed")
RNG = np.random.default_rng(11)


def _mlp(hidden_shape=(1, 16), w1_shape=(16, 8), b1_shape=(16,), w1_scale=1.0, beta=1.0, hidden_dtype="float32"):
    """input [1, 8] -> FC (ReLU) -> FC [1, 4] -> softmax, with one part made wrong; read back from its file
    (the reader's own checks pass it)."""
    b = GraphBuilder("mlp")
    x = b.input((1, 8), "float32")
    h, z, y = b.activation(hidden_shape, hidden_dtype), b.activation((1, 4), "float32"), b.activation((1, 4), "float32")
    b.op("fully_connected", [x, b.const((RNG.normal(size=w1_shape) * w1_scale).astype(np.float32)),
                             b.const(RNG.normal(size=b1_shape).astype(np.float32))], [h],
         fused_activation_function="RELU")
    b.op("fully_connected", [h, b.const(RNG.normal(size=(4, 16)).astype(np.float32)),
                             b.const(np.zeros(4, np.float32))], [z], fused_activation_function="NONE")
    b.op("softmax", [z], [y], beta=beta)
    return read_model(write_model(b.build([y])), where="mlp.tflite")


def _quantize(graph, **config):
    calib = RNG.normal(size=(8, 8)).astype(np.float32)
    return quantize_graph(graph, [calib], QuantizeConfig(**config), where="mlp.tflite")


def _refusal(graph, **config) -> str:
    with pytest.raises(TinyqError) as info:
        _quantize(graph, **config)
    text = str(info.value)
    assert "\n" not in text and len(text) <= 400
    return text


def test_the_well_formed_model_quantizes():
    """The baseline the others break: every check below passes a good model."""
    result = _quantize(_mlp(), self_check=False)
    assert result.graph.tensors[result.graph.outputs[0]].dtype == "int8"


def test_an_output_shape_its_op_does_not_compute_is_refused():
    """FC [1, 8] x [16, 8] computes [1, 16]: a file declaring [1, 32768] made TFLM write past its arena."""
    text = _refusal(_mlp(hidden_shape=(1, 32768)))
    assert "op 0 (fully_connected)" in text and "declared [1, 32768]" in text and "computes [1, 16]" in text


def test_an_output_type_its_op_does_not_compute_is_refused():
    """ADD of two float32 tensors declared int32: LiteRT quietly computes float32; the quantizer looked the
    output up among the float activations (KeyError)."""
    b = GraphBuilder("add")
    x, y, z = b.input((1, 4), "float32"), b.activation((1, 4), "int32"), b.activation((1, 4), "float32")
    b.op("add", [x, b.const(np.ones((1, 4), np.float32))], [y], fused_activation_function="NONE")
    b.op("add", [x, b.const(np.ones((1, 4), np.float32))], [z], fused_activation_function="NONE")
    text = _refusal(read_model(write_model(b.build([y, z])), where="add.tflite"))
    assert "op 0 (add): output 1 (t1) is declared int32 but the op computes float32" in text


def test_a_tensor_of_a_type_the_quantizer_does_not_compute_is_refused():
    """A string tensor crashed LiteRT (SIGSEGV) in the user's process; bfloat16 had no numpy type."""
    text = _refusal(_mlp(hidden_dtype="string"))
    assert "op 0 (fully_connected): tensor 1 (t1) is string" in text


def test_weights_of_the_wrong_rank_are_refused():
    text = _refusal(_mlp(w1_shape=(16,), b1_shape=(16,)))
    assert "op 0 (fully_connected)" in text and "have shape [16]" in text and "2-D weights" in text


@pytest.mark.parametrize("shape", [(32,), (16, 1)])
def test_a_bias_of_the_wrong_length_or_rank_is_refused(shape):
    """[32] for 16 channels broke equalization (ValueError), [16, 1] the bias rewrite (a [16, 16] broadcast)."""
    text = _refusal(_mlp(b1_shape=shape))
    assert "bias" in text and f"shape {list(shape)} for 16 output channels" in text


@pytest.mark.parametrize("scale", [1e23, 1e37])
def test_weights_near_the_float32_limit_are_refused(scale):
    """|w| ~1e23: TFLM aborted on the ADD scales; ~1e38: the range's width overflowed float32 in the observer."""
    text = _refusal(_mlp(w1_scale=scale))
    assert "op 0 (fully_connected)" in text and "beyond the 2^60" in text


def test_activations_beyond_the_limit_are_refused():
    """Weights within the limit can still compute values beyond it from the calibration data."""
    graph = _mlp(w1_scale=1e16)
    calib = (RNG.normal(size=(8, 8)) * 1e10).astype(np.float32)
    with pytest.raises(TinyqError, match=r"computes .* in tensor \d+ .* beyond the 2\^60"):
        quantize_graph(graph, [calib], QuantizeConfig(self_check=False))


def test_softmax_beta_zero_is_refused():
    with pytest.raises(UnsupportedError, match=r"op 2 \(softmax\): beta is 0 \(TFLM's int8 softmax needs beta > 0"):
        _quantize(_mlp(beta=0.0))


# --- TFLM in a child process ---

def _abort() -> None:
    os.write(2, b"native code says goodbye\n")
    os.abort()


def _refuse() -> None:
    os.write(2, b"tensorflow/lite/micro/kernels/x.cc:1 something != other\n")
    raise TinyqError("TFLM could not load the model: failed to allocate", hint="h")


def test_a_child_that_aborts_is_one_error_line_and_this_process_lives():
    with pytest.raises(TinyqError) as info:
        in_child(_abort, where="m.tflite")
    assert str(info.value) == ("m.tflite: TFLM crashed (SIGABRT) while running the quantized model: native code says "
                               "goodbye (the model's shapes or values are probably inconsistent: tinyq inspect "
                               "MODEL shows its ops)")


def test_the_crashing_engine_is_named():
    with pytest.raises(TinyqError, match=r"^LiteRT crashed \(SIGABRT\) while running the float model: native"):
        in_child(_abort, engine="LiteRT", doing="running the float model")


def test_a_refusal_in_the_child_keeps_its_class_and_hint_and_gains_tflm_log():
    with pytest.raises(TinyqError) as info:
        in_child(_refuse)
    assert info.value.hint == "h"
    assert "failed to allocate (tensorflow/lite/micro/kernels/x.cc:1 something != other)" in str(info.value)


def test_a_bug_in_the_child_is_raised_again_with_the_childs_traceback():
    with pytest.raises(ZeroDivisionError) as info:
        in_child(lambda: 1 // 0)
    assert "ZeroDivisionError" in str(info.value.__cause__) and "lambda" in str(info.value.__cause__)


def test_the_childs_result_comes_back_from_another_process():
    assert in_child(lambda a, b: {"sum": np.arange(a) + b}, 3, 1)["sum"].tolist() == [1, 2, 3]
    assert in_child(os.getpid) != os.getpid()


def test_without_fork_the_call_runs_in_process(monkeypatch):
    """macOS and Windows (LiteRT's float runs there, TFLM does not): no child, the same results and errors."""
    import tinyq.quantize.isolated as isolated

    monkeypatch.setattr(isolated, "FORKS", False)
    assert in_child(os.getpid) == os.getpid()
    with pytest.raises(TinyqError, match="failed to allocate"):
        in_child(_refuse)


@needs_tflm
def test_a_model_tflm_aborts_on_names_the_op_tinyq_refuses():
    """A softmax whose input scale times beta is at most 2^-26 aborts TFLM's Prepare: the crash is reported
    with what tinyq's own check of that op says."""
    b = GraphBuilder("soft")
    x, y = b.input((1, 4), "int8", scale=1e-12, zero_point=0), b.activation((1, 4), "int8", 1 / 256, -128)
    b.op("softmax", [x], [y], beta=1.0)
    graph = b.build([y])
    with pytest.raises(TinyqError) as info:
        tflm_run(write_model(graph), [[np.zeros((1, 4), np.int8)]], graph)
    assert "TFLM crashed (SIGABRT)" in str(info.value) and "its op 0 (softmax): beta 1 times input scale" in \
        str(info.value)


@needs_tflm
def test_a_model_tflm_will_not_load_names_the_op_tinyq_refuses(monkeypatch):
    """ai-edge-torch unrolls a PyTorch LSTM of 12 steps into one 12-input CONCATENATION; LiteRT calibrates
    it, TFLM then refuses to load the quantized candidate (kMaxInputNum is 10): the refusal names the op
    and what to do, not the crash hint blaming the float model's shapes. (The quantizer now splits such a
    CONCATENATION, tests/test_quantize_wide_concat.py; without the split, it stands for any op TFLM will not
    load.)"""
    monkeypatch.setattr("tinyq.quantize.prepare.split_wide_concatenations", lambda graph: graph)
    b = GraphBuilder("concat12")
    x = b.input((1, 4), "float32")
    steps = []
    for _ in range(12):
        steps.append(b.activation((1, 2), "float32"))
        b.op("fully_connected", [x, b.const(RNG.normal(size=(2, 4)).astype(np.float32)),
                                 b.const(np.zeros(2, np.float32))], [steps[-1]], fused_activation_function="NONE")
    y = b.activation((1, 24), "float32")
    b.op("concatenation", steps, [y], axis=1)
    graph = read_model(write_model(b.build([y])), where="lstm.tflite")
    with pytest.raises(TinyqError) as info:
        quantize_graph(graph, [RNG.normal(size=(8, 4)).astype(np.float32)], where="lstm.tflite")
    text = str(info.value)
    assert "\n" not in text and "(concatenation): 12 inputs; TFLM concatenates 1 to 10" in text
    assert "split it into CONCATENATIONs of at most 10" in text and "inconsistent" not in text


@needs_tflm
def test_a_sub_far_narrower_than_its_inputs_gets_an_output_scale_tflm_takes():
    """ai-edge-torch's LayerNorm ends in 0 - mean * rsqrt(var): over an already normalized tensor the mean is
    about 1e-8, while the constant 0 has scale 1. TFLM's ADD/SUB needs 2 * max(input scales) < 2^20 * output
    scale or its Prepare aborts (every candidate crashed): the output range is widened to the smallest scale
    it takes, and the model, whose tiny term is below the next ADD's step anyway, stays close to float."""
    from conftest import assert_bit_exact

    b = GraphBuilder("layernorm_tail")
    x = b.input((1, 16), "float32")
    t, n, y = (b.activation((1, 16), "float32") for _ in range(3))
    b.op("fully_connected", [x, b.const((RNG.normal(size=(16, 16)) * 1e-9).astype(np.float32)),
                             b.const(np.zeros(16, np.float32))], [t], fused_activation_function="NONE")
    b.op("sub", [b.const(np.zeros((), np.float32)), t], [n], fused_activation_function="NONE")
    b.op("add", [x, n], [y], fused_activation_function="NONE")
    result = quantize_graph(b.build([y]), [RNG.normal(size=(32, 16)).astype(np.float32)])
    q = result.graph
    sub = next(op for op in q.operators if op.op == "sub")
    scales = [q.tensors[i].quant.s for i in (*sub.inputs, sub.outputs[0])]
    assert 2 * max(scales[:2]) < 2.0**20 * scales[2]
    assert "widened for TFLM's ADD/SUB" in result.activations[n].reason
    assert result.check.best.output_sqnr_db > 35
    assert_bit_exact(q, n_inputs=8)


@needs_tflm
def test_a_dead_logits_layer_gets_a_softmax_input_scale_tflm_takes():
    """Logits within 1e-11 of 0 would get a scale of ~3e-14, below the 2^-26 / beta TFLM's softmax needs
    (it aborted): the range is widened to the smallest scale it takes, and every candidate runs."""
    b = GraphBuilder("dead")
    x = b.input((1, 8), "float32")
    h, y = b.activation((1, 4), "float32"), b.activation((1, 4), "float32")
    b.op("fully_connected", [x, b.const((RNG.normal(size=(4, 8)) * 1e-12).astype(np.float32)),
                             b.const(np.zeros(4, np.float32))], [h], fused_activation_function="NONE")
    b.op("softmax", [h], [y], beta=1.0)
    result = quantize_graph(b.build([y]), [RNG.normal(size=(16, 8)).astype(np.float32)])
    logits = result.activations[h]
    assert "widened for TFLM's softmax" in logits.reason and logits.quant.s * 2.0**26 > 1.0
    assert result.check.best.output_sqnr_db > 40  # the softmax outputs 1/4 everywhere, as the float model
