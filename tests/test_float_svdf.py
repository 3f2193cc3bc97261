"""float32 SVDF against TFLM's EvalFloatSvdfReference: ranks, batches, memory sizes, every fused activation
(ActivationValFloat: RELU through glibc's fmaxf/fminf, TANH, SIGN_BIT), the state carried across a
sequence of invocations; on the host and under QEMU (hard and soft float)."""

import numpy as np

from float_cases import QEMU_BOARDS, assert_float_exact
from tinyq.tflite.builder import GraphBuilder


def add_svdf(b, rng, batches=1, input_size=6, units=3, rank=2, memory=4, activation="NONE"):
    filters = units * rank
    x = b.input((batches, input_size), dtype="float32")
    wf = b.const((rng.standard_normal((filters, input_size)) * 0.5).astype(np.float32), "float32")
    wt = b.const((rng.standard_normal((filters, memory)) * 0.5).astype(np.float32), "float32")
    bias = b.const((rng.standard_normal(units) * 0.3).astype(np.float32), "float32")
    state = b.variable((batches, memory * filters), dtype="float32")
    y = b.activation((batches, units), dtype="float32", name=f"svdf{activation}{batches}{rank}{memory}")
    b.op("svdf", [x, wf, wt, bias, state], [y], rank=rank, fused_activation_function=activation)
    return y


CASES = [dict(), dict(batches=2, rank=1, activation="RELU"), dict(units=4, rank=3, memory=7, activation="RELU6"),
         dict(batches=3, activation="RELU_N1_TO_1"), dict(activation="TANH"), dict(activation="SIGN_BIT"),
         dict(input_size=20, memory=10)]


def svdf_graph(name="float_svdf", cases=CASES):
    rng = np.random.default_rng(21)
    b = GraphBuilder(name)
    return b.build([add_svdf(b, rng, **case) for case in cases])


def test_float_svdf_over_a_sequence():
    assert_float_exact(svdf_graph(), n_inputs=14)


def test_float_svdf_special_values():
    assert_float_exact(svdf_graph("float_svdf_special"), n_inputs=8, special=True, seed=3, nan_bits_may_differ=True)


def test_float_svdf_on_targets():
    assert_float_exact(svdf_graph("float_svdf_targets"), n_inputs=5, boards=("host", *QEMU_BOARDS))
