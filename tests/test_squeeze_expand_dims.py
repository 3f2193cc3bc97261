"""SQUEEZE and EXPAND_DIMS are views, but TFLM's Prepare checks their dimensions and EXPAND_DIMS' Eval copies
float32, int16 and int8 only: every variant TFLM refuses, tinyq refuses in one line (it generated code for
LiteRT's simple_squeeze.tflite, whose squeeze_dims name a dimension its scalar input lacks), and the
variants TFLM runs stay bit-exact."""

import numpy as np
import pytest

from conftest import assert_bit_exact
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import UnsupportedError
from tinyq.golden import tflm_run
from tinyq.ir import DTYPES
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def _graph(op, dtype, in_shape, out_shape, axis=None, **options):
    b = GraphBuilder(op)
    q = dict(scale=0.1, zero_point=0) if dtype in ("int8", "int16") else {}
    x = b.input(in_shape, dtype, **q)
    y = b.activation(out_shape, dtype, **q)
    axis_operand = [b.const(np.array(axis, np.int32), "int32")] if axis is not None else []
    b.op(op, [x, *axis_operand], [y], **options)
    return b.build([y])


REFUSED = {
    "squeeze a dimension not of size 1": (("squeeze", "float32", (1, 3), (3,)), dict(squeeze_dims=(1,)),
                                          "not of size 1"),
    "squeeze a dimension past the rank": (("squeeze", "float32", (), ()), dict(squeeze_dims=(1,)), "not of size 1"),
    "squeeze all into a smaller output": (("squeeze", "float32", (1, 3, 1), (1, 3)), dict(squeeze_dims=()),
                                          "cannot hold"),
    "expand_dims int32": (("expand_dims", "int32", (3,), (1, 3), 0), {}, "copies float32, int16, int8 only"),
    "expand_dims bool": (("expand_dims", "bool", (3,), (1, 3), 0), {}, "copies float32, int16, int8 only"),
    "expand_dims at another axis": (("expand_dims", "float32", (3,), (3, 1), 0), {}, "with a 1 inserted"),
    "expand_dims past the rank": (("expand_dims", "float32", (3,), (1, 3), 3), {}, "with a 1 inserted"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_tflm_refuses_is_refused(case):
    args, options, message = REFUSED[case]
    graph = _graph(*args, **options)
    with pytest.raises(UnsupportedError, match=message):
        compile_graph(graph, get_board("host"))
    x = graph.tensors[graph.inputs[0]]
    with pytest.raises(TinyqError, match="TFLM (could not load|failed to run)"):
        tflm_run(write_model(graph), [[np.zeros(x.shape, DTYPES[x.dtype][0])]])


@pytest.mark.parametrize("args, options", [
    (("squeeze", "int32", (1, 3, 1), (3,)), dict(squeeze_dims=())),
    (("squeeze", "int8", (2, 1, 3), (2, 3)), dict(squeeze_dims=(-2,))),
    (("expand_dims", "int16", (2, 3), (2, 3, 1), -1), {}),
    (("expand_dims", "float32", (3,), (1, 3), [0]), {}),
])
def test_what_tflm_runs_is_bit_exact(args, options):
    assert_bit_exact(_graph(*args, **options), n_inputs=3)
