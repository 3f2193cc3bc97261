"""Weights that several ops read with other scales (an unrolled RNN's steps: one weight tensor, each
step's own input scale) stay one array in flash on every backend: a kernel that packs the weights
with the op's requantization into records of its own (tinyq's Helium kernels) would put one copy of
them per op, so those ops run a kernel that reads the shared array (tinyq/bind.py shared_weights)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TESTED_ARENA, assert_bit_exact
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_graph
from tinyq.plan.flash import plan_flash
from tinyq.tflite.builder import GraphBuilder
from tinyq.verify import summarize, verify_qemu

pytestmark = pytest.mark.skipif(not libraries.available("cmsis-nn"),
                                reason="set TINYQ_CMSIS_NN_DIR to a CMSIS-NN checkout to test its backend")

STEPS, DEPTH, UNITS = 4, 48, 64


def steps_graph(same_scales: bool):
    """STEPS fully connected layers over one int8 weight tensor, each on its own input; with
    `same_scales` every step's input, bias and output quantization are equal too."""
    rng = np.random.default_rng(11)
    b = GraphBuilder("shared_fc")
    scales = rng.uniform(0.002, 0.02, size=UNITS)
    w = b.const(rng.integers(-127, 128, size=(UNITS, DEPTH)), "int8", scale=scales, zero_point=0, axis=0)
    outs = []
    for step in range(STEPS):
        s_in = 0.05 if same_scales else 0.02 + 0.03 * step
        x = b.input((1, DEPTH), scale=s_in, zero_point=-3 if same_scales else step - 2)
        bias = b.const(np.arange(UNITS) * 7 - 200, "int32", scale=s_in * scales, zero_point=0)
        y = b.activation((1, UNITS), scale=0.4 if same_scales else 0.3 + 0.1 * step, zero_point=5)
        b.op("fully_connected", [x, w, bias], [y], fused_activation_function="NONE")
        outs.append(y)
    return b.build(outs)


def _compiled(graph):
    return compile_graph(graph, get_board("qemu-m55"), backend="cmsis-nn", arena=TESTED_ARENA)


def _weight_copies(compiled) -> int:
    """Flash arrays large enough to hold the weights (a packed record holds them and more)."""
    return sum(a.bytes >= UNITS * DEPTH for a in plan_flash(compiled.bound).arrays)


def test_shared_weights_with_other_scales_stay_one_copy_on_helium():
    compiled = _compiled(steps_graph(same_scales=False))
    for op in compiled.bound.ops:
        assert op.function != "tq_mve_conv_s8"
        assert any("pack its own copy of the weights" in why for _, why in op.passed_over)
    assert _weight_copies(compiled) == 1  # and each step's small per-channel arrays


def test_identical_steps_keep_the_packed_kernel():
    """Steps that also requantize alike pack identical records: one copy, the fast kernel stays."""
    compiled = _compiled(steps_graph(same_scales=True))
    assert all(op.function == "tq_mve_conv_s8" for op in compiled.bound.ops)
    assert _weight_copies(compiled) == 1


def test_shared_weights_bit_exact_on_qemu_m55():
    graph = steps_graph(same_scales=False)
    assert_bit_exact(graph, n_inputs=4, backend="cmsis-nn")
    board = get_board("qemu-m55")
    report = verify_qemu(_compiled(graph), board, n_inputs=4)
    assert report.result.ok, summarize(report.result, graph)
