"""Where float32 results cannot be bit-exact, and how verify says so.

TFLM's float arithmetic makes a NaN from an invalid operation (0 / 0, inf - inf, 0 * inf) with the
CPU's default NaN: x86 (the golden model) sets its sign bit, Arm clears it. tinyq's C library
functions return x86's bits on every target, but a plain C division on Arm gives Arm's NaN. verify
does not hide this: the comparison fails and names the values that differ only as NaNs of other bits
(and, for numbers, their distance in ULPs). A NaN already in the model (a weight) is passed on with its
own bits by both sides, and must be bit-exact."""

import numpy as np

from conftest import assert_bit_exact_on_targets
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.golden import tflm_run
from tinyq.ir import Tensor
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model
from tinyq.verify.compare import _compare, compare_outputs, summarize
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import HostRunner, QemuRunner


def _tensor():
    return Tensor(index=7, name="t", dtype="float32", shape=(5,))


def test_float_mismatches_are_described_in_ulps_and_nan_bits():
    ours = np.array([1.0, 2.0, -0.0, 3.0, 0.5], np.float32)
    one_ulp = ours.copy()
    one_ulp[1] = np.nextafter(np.float32(2.0), np.float32(3.0))
    m = _compare(0, _tensor(), ours.tobytes(), one_ulp, None)
    assert (m.bytes_differing, m.max_ulp, m.nan_only) == (1, 1, False)
    nan = ours.copy()
    nan[4] = np.float32("nan")
    other_nan = nan.copy().view(np.uint32)
    other_nan[4] ^= 0x80000000  # the other sign
    m = _compare(0, _tensor(), nan.tobytes(), other_nan.view(np.float32), None)
    assert m.nan_only and m.bytes_differing == 1
    signed_zero = ours.copy()
    signed_zero[2] = 0.0
    m = _compare(0, _tensor(), ours.tobytes(), signed_zero, None)
    assert (m.max_ulp, m.max_abs_diff, m.nan_only) == (0, 0.0, False)
    m = _compare(0, _tensor(), nan.tobytes(), ours, None)
    assert (m.nan_vs_number, m.max_abs_diff, m.nan_only) == (1, 0.0, False)  # JSON-safe: no NaN in the figures


def test_default_nan_sign_differs_on_arm_and_verify_says_so():
    b = GraphBuilder("nan")
    x = b.input((4,), dtype="float32")
    y = b.input((4,), dtype="float32")
    q = b.activation((4,), dtype="float32")
    b.op("div", [x, y], [q], fused_activation_function="NONE")
    graph = b.build([q])
    inputs = [[np.array([0.0, 1.0, -0.0, 6.0], np.float32), np.array([0.0, 2.0, 0.0, 3.0], np.float32)]]
    for name, exact in (("host", True), ("qemu-m55", False)):
        board = get_board(name)
        compiled = compile_graph(graph, board)
        runner = HostRunner(board) if board.runner == "host" else QemuRunner(board)
        result = compare_outputs(compiled.model, compiled.graph, inputs, runner.run(compiled, inputs).outputs)
        if exact:
            assert result.ok
        else:
            (m,) = result.mismatches
            assert m.nan_only and m.bytes_differing == 2  # 0/0 and -0/0: NaN on both sides, other sign
            assert "NaN against NaN of other bits" in summarize(result, graph)


# NaN weights of every kind: TFLM's float kernels pass a NaN operand's sign and payload through (a signaling
# NaN comes out quiet, payload kept), so the generated constants must hold each NaN's own bits, not math.h's NAN
NAN_WEIGHTS = (0xFFFF88BD, 0x7FC00000, 0xFFC00000, 0x7FC00001, 0x7F800001, 0xFFBFFFFF)


def test_nan_weights_keep_their_bits_through_fully_connected():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((len(NAN_WEIGHTS) + 1, 8)).astype(np.float32)
    for row, bits in enumerate(NAN_WEIGHTS):  # one NaN per output: which of two NaNs wins is the CPU's choice
        w.view(np.uint32)[row, row] = bits
    b = GraphBuilder("nan_weights")
    x = b.input((1, 8), dtype="float32")
    y = b.activation((1, len(w)), dtype="float32")
    b.op("fully_connected", [x, b.const(w), -1], [y], fused_activation_function="NONE")
    graph = b.build([y])
    assert_bit_exact_on_targets(graph, n_inputs=4)  # Arm's FPU and soft float pass a NaN operand on too
    (golden,), = tflm_run(write_model(graph), make_inputs(graph, 1))
    assert golden.reshape(-1).view(np.uint32)[:-1].tolist() == [bits | 0x400000 for bits in NAN_WEIGHTS]
