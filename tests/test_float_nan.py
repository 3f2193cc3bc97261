"""Where float32 results cannot be bit-exact, and how verify says so.

TFLM's float arithmetic makes a NaN from an invalid operation (0 / 0, inf - inf, 0 * inf) with the
CPU's default NaN: x86 (the golden model) sets its sign bit, Arm clears it. tinyq's C library
functions return x86's bits on every target, but a plain C division on Arm gives Arm's NaN. verify
does not hide this: the comparison fails and names the values that differ only as NaNs of other bits
(and, for numbers, their distance in ULPs)."""

import numpy as np

from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.ir import Tensor
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify.compare import _compare, compare_outputs, summarize
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
