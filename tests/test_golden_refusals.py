"""TFLM (the golden model) refusing a model is one line that says why, not an internal error: a model with an
op TFLM has no kernel for names that op (TFLM's exception says only "failed to allocate tensors"), and an op
whose Eval rejects its operands (a converter's int8 LOG) is a TinyqError, not a RuntimeError traceback from
`tinyq eval`. Both cases came from unseen Keras models (Dense(activation="gelu"), a log-magnitude front end)."""

import os
import sys

import numpy as np
import pytest

from conftest import assert_bit_exact

from tinyq.errors import TinyqError
from tinyq.ops.gelu import GeluOptions
from tinyq.golden import tflm_run
from tinyq.tflm_log import TflmLog
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def _unary(name, dtype, options=None):
    b = GraphBuilder(name)
    q = dict(scale=0.05, zero_point=0) if dtype != "float32" else {}
    x = b.input((1, 8), dtype, **q)
    y = b.activation((1, 8), dtype, **q)
    b.op(name, [x], [y], options=options)
    return write_model(b.build([y]))


def test_an_op_tflm_has_no_kernel_for_is_named(capfd):
    model = _unary("gelu", "int8", GeluOptions(approximate=False))
    with pytest.raises(TinyqError, match="TFLM cannot run the model: it has no kernel for GELU"):
        tflm_run(model, [[np.zeros((1, 8), np.int8)]])
    assert capfd.readouterr().err == ""  # TFLM's own log lines are held, not left above the refusal


def test_an_op_whose_eval_fails_is_a_tinyq_error_quoting_tflm(capfd):
    model = _unary("log", "int8")  # TFLM's LOG is float32 only: its Eval fails on int8
    with pytest.raises(TinyqError, match=r"TFLM failed to run the model: Node LOG \(number 0\) failed to invoke"):
        tflm_run(model, [[np.ones((1, 8), np.int8)]])
    assert capfd.readouterr().err == ""


def test_a_model_tflm_runs_is_unchanged(capfd):
    out = tflm_run(_unary("log", "float32"), [[np.full((1, 8), np.e, np.float32)]])
    np.testing.assert_allclose(out[0][0], np.ones((1, 8)), rtol=1e-6)
    print("after", file=sys.stderr)  # fd 2 is the terminal's again
    assert capfd.readouterr().err == "after\n"


def test_a_prepare_failure_quotes_the_node_and_kernel():
    """The reason TFLM gives when a kernel's Prepare refuses (float16 weights are named by tinyq before this)."""
    log = TflmLog()
    with log:
        os.write(2, b"tensorflow/lite/micro/kernels/dequantize_common.cc:42 input->type == kTfLiteInt8 was not true.\n"
                    b"Node DEQUANTIZE (number 0) failed to prepare with status 1\n")
    assert log.reason() == ("Node DEQUANTIZE (number 0) failed to prepare: dequantize_common.cc:42 "
                            "input->type == kTfLiteInt8 was not true.")
    with log:
        pass
    assert log.reason() is None


def _float16_weights_model():
    """FULLY_CONNECTED whose weights are float16 behind a DEQUANTIZE (the converter's float16 quantization)."""
    rng = np.random.default_rng(2)
    b = GraphBuilder("fp16")
    x = b.input((1, 6), "float32")
    w16 = b.const(rng.normal(0, 0.5, (4, 6)).astype(np.float16), "float16")
    w = b.activation((4, 6), "float32")
    b.op("dequantize", [w16], [w])
    y = b.activation((1, 4), "float32")
    b.op("fully_connected", [x, w, -1], [y])
    return b.build([y])


def test_float16_weights_are_named_and_quantize(capfd):
    from tinyq.quantize import quantize_graph
    from tinyq.tflite.reader import read_model

    graph = _float16_weights_model()
    model = write_model(graph)
    with pytest.raises(TinyqError, match="its weights are float16"):
        tflm_run(model, [[np.zeros((1, 6), np.float32)]])
    assert capfd.readouterr().err == ""
    read = read_model(model)  # the reader takes float16 constants (it refused them)
    assert any(t.dtype == "float16" for t in read.tensors)
    calib = [np.random.default_rng(0).normal(0, 1, (32, 6)).astype(np.float32)]
    q = quantize_graph(read, calib).graph
    assert [op.op for op in q.operators] == ["fully_connected"]
    assert_bit_exact(q, n_inputs=8)


def test_an_unknown_batch_the_file_computes_shapes_from_is_named():
    """Keras's default export (no batch_size) gives an RNN's zero state as FILL(SHAPE(x)): TFLM cannot prepare
    FILL with dims computed at run time; the refusal says why and what to do."""
    from dataclasses import replace

    b = GraphBuilder("unknown_batch")
    x = b.input((1, 6), "float32")
    dims, zeros, y = b.activation((2,), "int32"), b.activation((1, 6), "float32"), b.activation((1, 6), "float32")
    b.op("shape", [x], [dims])
    b.op("fill", [dims, b.const(np.float32(0.0), "float32")], [zeros])
    b.op("add", [x, zeros], [y])
    graph = b.build([y])
    tensors = list(graph.tensors)
    tensors[x] = replace(tensors[x], shape_signature=(-1, 6))
    with pytest.raises(TinyqError, match="unknown batch size") as error:
        tflm_run(write_model(replace(graph, tensors=tuple(tensors))), [[np.zeros((1, 6), np.float32)]])
    assert "batch_size=1" in error.value.hint


def test_in_the_quantizers_child_the_refusal_quotes_tflm_once(capfd):
    """The quantizer runs TFLM in a forked child whose fd 2 is a log file the parent reads (a crash's reason
    must stay there): the refusal still quotes the node, once."""
    from tinyq.quantize import isolated

    with pytest.raises(TinyqError) as error:
        isolated.tflm_run(_unary("log", "int8"), [[np.ones((1, 8), np.int8)]])
    assert str(error.value).count("Node LOG (number 0) failed to invoke") == 1
    assert capfd.readouterr().err == ""


def test_a_model_larger_than_the_golden_arena_gets_a_larger_one(capfd):
    """TFLM's arena is a host buffer of a fixed size; a model that needs more (LiteRT's torchaudio conformer:
    38 MB of activations over the 32 MB default) was refused as 'Failed to resize buffer'."""
    b = GraphBuilder("big")
    x = b.input((1, 64, 64, 16), "float32")
    y = b.activation((1, 64, 64, 16), "float32")
    b.op("relu", [x], [y])
    data = np.linspace(-1, 1, 64 * 64 * 16, dtype=np.float32).reshape(1, 64, 64, 16)
    (out,), = tflm_run(write_model(b.build([y])), [[data]], arena_size=64 * 1024)  # the model needs 512 KB
    np.testing.assert_array_equal(out, np.maximum(data, 0))
    assert capfd.readouterr().err == ""
