"""The data-movement ops on every target (host, Cortex-M55 with Helium and ARMv6-M under QEMU) with
the reference kernels and CMSIS-NN's, in one merged graph; and CMSIS-NN's arm_pad_s8 for PAD."""

import numpy as np
import pytest

from conftest import assert_bit_exact, assert_bit_exact_on_targets, bound_ops
from test_pad import add_pad, seeded
from test_reverse_mirror_broadcast import add_broadcast, add_mirror_pad, add_reverse
from test_slice import add_slice, strided_case
from test_split_pack import add_pack, add_split
from test_transpose import add_transpose
from tinyq.build import libraries
from tinyq.tflite.builder import GraphBuilder

BACKENDS = ("reference", "cmsis-nn") if libraries.available("cmsis-nn") else ("reference",)


def pad_graph(rng, cases, value="zero_point"):
    b = GraphBuilder("pad_cmsis")
    outs = []
    for shape, pads in cases:
        x = b.input(shape, scale=float(rng.uniform(0.01, 0.2)), zero_point=int(rng.integers(-128, 128)))
        outs.append(add_pad(b, rng, x, shape, np.asarray(pads), value=value))
    return b.build(outs)


PAD_CASES = [((5,), [[2, 1]]), ((3, 4), [[0, 2], [1, 0]]), ((2, 3, 4), [[1, 1], [0, 0], [2, 3]]),
             ((1, 5, 6, 3), [[0, 0], [1, 2], [2, 1], [0, 0]]), ((2, 3, 2, 5), [[1, 0], [0, 1], [1, 1], [3, 2]]),
             ((1, 2, 3, 2, 3), [[0, 0], [1, 0], [0, 1], [2, 2], [1, 0]])]


@pytest.mark.parametrize("value", ["zero_point", "const", "runtime"])
def test_cmsis_nn_pad_bit_exact_on_host(value):
    graph = pad_graph(seeded("pad_cmsis", value), PAD_CASES, value)
    assert_bit_exact(graph, n_inputs=6, backend="cmsis-nn")
    assert all(op.function == "arm_pad_s8" for op in bound_ops(graph, "cmsis-nn"))


def test_cmsis_nn_pad_falls_back_on_five_dimensions():
    (op,) = bound_ops(pad_graph(seeded("pad5"), [((2, 1, 2, 1, 2), [[1, 0], [0, 0], [0, 1], [0, 0], [1, 1]])]),
                      "cmsis-nn")
    assert op.layer == "reference" and "arm_pad_s8 pads four" in op.passed_over[-1][1]


def merged_graph():
    """Each data-movement op once or twice, independent, so one build covers them all."""
    rng = seeded("data_movement")
    b = GraphBuilder("data_movement")
    outs = [add_transpose(b, rng, (3, 5), (1, 0)), add_transpose(b, rng, (2, 3, 4, 5), (0, 1, 3, 2)),
            add_transpose(b, rng, (2, 3, 4, 5), (3, 1, 0, 2)), add_transpose(b, rng, (2, 3, 2, 2, 3), (4, 2, 0, 3, 1)),
            add_transpose(b, rng, (1, 2, 11, 37), (0, 1, 3, 2)),  # Helium's row gather: a full and a partial block
            add_slice(b, rng, (3, 4, 5), (1, 0, 2), (2, -1, 2)),
            strided_case(b, rng, (4, 5, 6), [3, 0, 1], [0, 5, 6], [-1, 2, 2], shrink_axis_mask=0)[0],
            add_reverse(b, rng, (3, 4, 5), [1, 2]), add_mirror_pad(b, rng, (3, 4), [[2, 1], [1, 3]], "REFLECT"),
            add_mirror_pad(b, rng, (3, 4), [[3, 1], [0, 2]], "SYMMETRIC"),
            add_broadcast(b, rng, (3, 1, 2), (2, 3, 4, 2))]
    q = dict(scale=0.05, zero_point=-9)
    x = b.input((2, 6, 5), **q)
    outs += add_split(b, rng, x, (2, 6, 5), 1, (2, 4))
    outs += add_split(b, rng, b.input((4, 6), **q), (4, 6), 0, (), "unpack")
    outs.append(add_pack(b, [b.input((3, 4), **q) for _ in range(3)], 1))
    y = b.input((1, 7, 9, 16), **q)
    outs.append(add_pad(b, rng, y, (1, 7, 9, 16), np.array([[0, 0], [1, 1], [2, 1], [0, 0]])))
    return b.build(outs)


@pytest.mark.slow
def test_on_every_target():
    assert_bit_exact_on_targets(merged_graph(), n_inputs=6, backends=BACKENDS)


@pytest.mark.slow
@pytest.mark.skipif(not libraries.available("cmsis-nn"), reason="CMSIS-NN is not available")
def test_helium_transpose_gather_limit(monkeypatch):
    """8 rows of 9362 bytes: lane 7's offset is 65534, the last that fits the gather's uint16 lanes,
    and the library is right; at 9400 columns (tinyq's limit lifted) the offset wraps and it is wrong,
    which is why tinyq runs those in the reference kernel."""
    from tinyq.backends.cmsis_nn import transpose
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph
    from tinyq.verify import summarize, verify_qemu

    board = get_board("qemu-m55")
    monkeypatch.setattr(transpose, "MVE_GATHER_SPAN", 1 << 30)
    for cols, right in ((9362, True), (9400, False)):
        b = GraphBuilder(f"wide{cols}")
        graph = b.build([add_transpose(b, seeded("wide"), (1, 1, 8, cols), (0, 1, 3, 2))])
        compiled = compile_graph(graph, board, backend="cmsis-nn")
        assert compiled.bound.ops[0].function == "arm_transpose_s8"
        report = verify_qemu(compiled, board, n_inputs=5)  # random data from the 4th record on
        assert report.result.ok == right, summarize(report.result, graph)
