"""Small models with several subgraphs (WHILE, IF, CALL_ONCE, resource variables), built with
GraphBuilder for tests/test_control_flow.py and tests/test_variables.py."""

from __future__ import annotations

import numpy as np

from tinyq.tflite.builder import GraphBuilder

Q = dict(scale=0.1, zero_point=3)  # the loop variable's quantization


def add_counting_loop(b: GraphBuilder, n: int, x: int, step_values=None, name: str = "loop") -> tuple[int, int]:
    """WHILE i < n: i += 1, x += step (int8 ADD of a constant). Returns (i, x) after the loop."""
    i0 = b.const(np.array(0, np.int32), name=f"{name}_i0")
    outs = [b.activation((), dtype="int32"), b.activation((), dtype="int32"), b.activation((1, 8), **Q)]
    cond = b.subgraph(f"{name}_cond")
    ci, cn, _ = cond.input((), dtype="int32"), cond.input((), dtype="int32"), cond.input((1, 8), **Q)
    go = cond.activation((), dtype="bool")
    cond.op("less", [ci, cn], [go])
    cond.set_outputs([go])
    body = b.subgraph(f"{name}_body")
    bi, bn, bx = body.input((), dtype="int32"), body.input((), dtype="int32"), body.input((1, 8), **Q)
    one = body.const(np.array(1, np.int32))
    bi2 = body.activation((), dtype="int32")
    body.op("add", [bi, one], [bi2])
    step = np.arange(8, dtype=np.int8).reshape(1, 8) * 5 - 20 if step_values is None else step_values
    bx2 = body.activation((1, 8), **Q)
    body.op("add", [bx, body.const(step, dtype="int8", scale=0.05, zero_point=-4)], [bx2])
    body.set_outputs([bi2, bn, bx2])
    b.op("while", [i0, n, x], outs, cond_subgraph_index=cond.index, body_subgraph_index=body.index)
    return outs[0], outs[2]


def counting_loop_graph():
    """n (0..3 from verify's index inputs: zero iterations too) times x += step, then RELU."""
    b = GraphBuilder("loop")
    n = b.input((), dtype="int32", name="n")
    x = b.input((1, 8), **Q, name="x")
    i, y = add_counting_loop(b, n, x)
    z = b.activation((1, 8), scale=0.2, zero_point=-1)
    b.op("relu", [y], [z])
    return b.build(outputs=[z, i])


def add_branch(b: GraphBuilder, flag: int, x: int, name: str = "branch") -> tuple[int, int]:
    """IF flag: (x + c, x) else: (relu(x) * c2, a constant). Returns the IF's two outputs."""
    outs = [b.activation((1, 8), scale=0.15, zero_point=-2), b.activation((1, 8), **Q)]
    then = b.subgraph(f"{name}_then")
    tx = then.input((1, 8), **Q)
    t_sum = then.activation((1, 8), scale=0.15, zero_point=-2)
    then.op("add", [tx, then.const(np.linspace(-60, 60, 8).astype(np.int8).reshape(1, 8), dtype="int8",
                                   scale=0.1, zero_point=0)], [t_sum])
    then.set_outputs([t_sum, tx])  # the second output is the branch's input, passed through
    other = b.subgraph(f"{name}_else")
    ex = other.input((1, 8), **Q)
    relu = other.activation((1, 8), **Q)
    other.op("relu", [ex], [relu])
    e_mul = other.activation((1, 8), scale=0.15, zero_point=-2)
    other.op("mul", [relu, other.const(np.full((1, 8), 90, np.int8), dtype="int8", scale=0.02, zero_point=-10)],
             [e_mul])
    kept = other.const(np.arange(8, dtype=np.int8).reshape(1, 8) - 4, dtype="int8", **Q)
    other.set_outputs([e_mul, kept])  # a constant output: TFLM copies it from the flatbuffer
    b.op("if", [flag, x], outs, then_subgraph_index=then.index, else_subgraph_index=other.index)
    return outs[0], outs[1]


def branch_graph():
    b = GraphBuilder("branch")
    flag = b.input((1,), dtype="bool", name="flag")
    x = b.input((1, 8), **Q, name="x")
    y0, y1 = add_branch(b, flag, x)
    return b.build(outputs=[y0, y1])


def nested_graph():
    """A WHILE whose body runs an IF and another WHILE: subgraph functions calling subgraph functions."""
    b = GraphBuilder("nested")
    n = b.input((), dtype="int32", name="n")
    x = b.input((1, 8), **Q, name="x")
    i0 = b.const(np.array(0, np.int32))
    outs = [b.activation((), dtype="int32"), b.activation((), dtype="int32"), b.activation((1, 8), **Q)]
    cond = b.subgraph("outer_cond")
    ci, cn, _ = cond.input((), dtype="int32"), cond.input((), dtype="int32"), cond.input((1, 8), **Q)
    go = cond.activation((), dtype="bool")
    cond.op("less", [ci, cn], [go])
    cond.set_outputs([go])
    body = b.subgraph("outer_body")
    bi, bn, bx = body.input((), dtype="int32"), body.input((), dtype="int32"), body.input((1, 8), **Q)
    one = body.const(np.array(1, np.int32))
    bi2 = body.activation((), dtype="int32")
    body.op("add", [bi, one], [bi2])
    flag = body.activation((), dtype="bool")  # the first two iterations take the then branch
    body.op("less", [bi, body.const(np.array(2, np.int32))], [flag])
    y0, y1 = add_branch(body, flag, bx, name="inner_branch")
    back = body.activation((1, 8), **Q)
    body.op("add", [y0, y1], [back])
    _, looped = add_counting_loop(body, bi2, back, name="inner_loop")  # i + 1 inner iterations
    body.set_outputs([bi2, bn, looped])
    b.op("while", [i0, n, x], outs, cond_subgraph_index=cond.index, body_subgraph_index=body.index)
    return b.build(outputs=[outs[2], outs[0]])
