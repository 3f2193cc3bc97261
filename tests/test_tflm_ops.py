"""tinyq lowers every op TFLM registers, and an op it cannot lower is refused with whether TFLM runs it."""

import pytest

from tinyq import ops
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflm_ops import BUILTINS, CUSTOMS, NPU_ONLY, tflm_runs

# TFLM's kernels that tinyq has no lowering for, and why
NOT_LOWERED = {
    "custom:TFLM_DECODE": "TFLM's compressed-tensor decoder: tinyq reads uncompressed models",
    "custom:ethos-u": "an Ethos-U NPU command stream: it runs on the NPU only",
}


def test_every_op_tflm_registers_has_a_lowering():
    lowered = {s.name for s in ops.all_specs() if s.lower is not None}
    wanted = {b.lower() for b in BUILTINS} | {f"custom:{c}" for c in CUSTOMS | NPU_ONLY}
    assert sorted(wanted - lowered - set(NOT_LOWERED)) == []
    assert len(BUILTINS) > 90 and tflm_runs("conv_2d") and tflm_runs("custom:CIRCULAR_BUFFER")
    assert not tflm_runs("tile") and not tflm_runs("select") and not tflm_runs("custom:Foo")


def _one_op(name):
    b = GraphBuilder("one")
    x = b.input((2, 3), scale=0.1, zero_point=0)
    y = b.activation((2, 3), scale=0.1, zero_point=0)
    b.op(name, [x], [y])
    return b.build([y])


@pytest.mark.parametrize("op,words", [
    ("tile", "op tile is not supported: TFLM has no kernel for it either"),
    ("custom:TFLM_DECODE", "is not supported yet, although TFLM runs it"),
    ("custom:ethos-u", "is an Ethos-U NPU command stream .Vela's output.: TFLM hands it to the NPU"),
    # Coral's *_edgetpu.tflite: the hint was to re-express the op with TFLM's ops, where the model before the
    # compiler is what to give
    ("custom:edgetpu-custom-op", "is an Edge TPU program .edgetpu_compiler's output.: only the Edge TPU runs it"),
])
def test_an_op_tinyq_cannot_lower_says_whether_tflm_runs_it(op, words):
    with pytest.raises(UnsupportedError, match=words) as refused:
        compile_graph(_one_op(op), get_board("host"))
    text = str(refused.value)
    assert ("docs/ops.md" in text or "before Vela" in text or "before edgetpu_compiler" in text) and "\n" not in text
