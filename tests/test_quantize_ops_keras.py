"""Real Keras exports of the ops `tinyq quantize` used to refuse (tests/data/quantize_ops/make_keras_models.py):
tinyq's int8 model has the converter's ops and operator versions, runs bit-exact with TFLM, and stays close
to the float model (>= 25 dB at the output: a chain of five to eight random-weight int8 layers; the
self-check's own figure on these models is 29-41 dB)."""

from pathlib import Path

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.quantize import quantize_graph
from tinyq.quantize.data import sample_shape
from tinyq.quantize.report import sqnr_report
from tinyq.tflite.reader import read_model_file

DATA = Path(__file__).parent / "data" / "quantize_ops"
MIN_SQNR_DB = 25.0
# tinyq writes FULLY_CONNECTED without a bias as version 6; the converter keeps Keras's empty bias slot (-1)
# and writes 4. Both run alike in TFLM; this test is about the ops below.
COMPARED = {"prelu", "space_to_batch_nd", "batch_to_space_nd", "resize_bilinear", "maximum", "minimum",
            "conv_2d", "mul", "pad", "mean", "relu", "reshape", "expand_dims"}


@pytest.mark.parametrize("name", ["image", "sequence"])
def test_keras_model_quantizes_as_the_converter_does(name):
    graph = read_model_file(DATA / f"{name}_float.tflite")
    converted = read_model_file(DATA / f"{name}_int8.tflite")
    shape = sample_shape(graph.tensors[graph.inputs[0]])
    calib = np.random.default_rng(0).normal(0, 1, (64,) + shape).astype(np.float32)
    result = quantize_graph(graph, [calib])
    q = result.graph
    assert [op.op for op in q.operators] == [op.op for op in converted.operators]
    assert [(op.op, op.version) for op in q.operators if op.op in COMPARED] == \
        [(op.op, op.version) for op in converted.operators if op.op in COMPARED]
    assert_bit_exact(q, n_inputs=12)
    records = [[x[None]] for x in calib[:16]]
    sqnr = sqnr_report(result.float_graph, q, records).output_sqnr_db[0]
    assert sqnr >= MIN_SQNR_DB, f"{name}: output SQNR {sqnr:.1f} dB"
