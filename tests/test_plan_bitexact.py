"""Every memory saving, run: generated C with the planned (aliased, reordered) arena is compiled,
run on the host and compared byte for byte with TFLM, layer by layer."""

import dataclasses

import pytest

from conftest import assert_bit_exact, shared_file
from test_plan_graphs import fc, hoisted_rnn, q, random_dag, seeded, two_branches, window_chain
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.backends import layer
from tinyq.plan import memory
from tinyq.plan.verify import verify_tensors
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model_file
from tinyq.verify import verify_host


@pytest.mark.parametrize("seed", range(6))
def test_window_chains_in_place(seed):
    compiled = assert_bit_exact(window_chain(seed), n_inputs=4, layers=True, seed=seed)
    assert any(a.kind == "in-place" for a in compiled.plan.aliases)


def elementwise_chain():
    """fc -> relu -> add(., fc) -> mul(., .) -> leaky_relu -> fc -> softmax: each can overwrite its input."""
    rng = seeded("elementwise")
    b = GraphBuilder("elementwise")
    x = b.input((1, 40), **q(rng))
    h = fc(b, rng, x, 40, 96)
    r = b.activation((1, 96), **q(rng))
    b.op("relu", [h], [r])
    g = fc(b, rng, r, 96, 96)
    s = b.activation((1, 96), **q(rng))
    b.op("add", [r, g], [s])
    m = b.activation((1, 96), **q(rng))
    b.op("mul", [s, s], [m])
    lr = b.activation((1, 96), **q(rng))
    b.op("leaky_relu", [m], [lr], alpha=0.2)
    logits = fc(b, rng, lr, 96, 10)
    y = b.activation((1, 10), scale=1 / 256, zero_point=-128)
    b.op("softmax", [logits], [y], beta=1.0)
    return b.build([y])


def test_elementwise_chain_in_place():
    compiled = assert_bit_exact(elementwise_chain(), n_inputs=10, layers=True)
    kinds = {compiled.lowered.ops[a.position].kernel for a in compiled.plan.aliases if a.kind == "in-place"}
    assert {"relu", "add", "mul", "leaky_relu"} <= kinds  # softmax (10 B) needs no overlap to meet the bound


def test_reordered_branches():
    compiled = assert_bit_exact(two_branches(), n_inputs=10, layers=True)
    assert compiled.plan.order == (0, 2, 1, 3)
    text = compiled.source.files[f"{compiled.source.name}_model.c"]
    calls = [text.index(f"&tq_op{p},") for p in (0, 2, 1, 3)]
    assert calls == sorted(calls)  # the C runs the ops in the plan's order


def test_hoisted_projections_reordered():
    compiled = assert_bit_exact(hoisted_rnn(), n_inputs=10, layers=True)
    assert compiled.plan.order  # not the file's order


@pytest.mark.parametrize("seed", range(4))
def test_random_dags(seed):
    assert_bit_exact(random_dag(seed), n_inputs=4, layers=True, seed=seed)


def test_a_too_small_shift_is_caught(monkeypatch):
    """The tests can see an aliasing error: planned with 64 B less shift than the depthwise rule
    asks for, the plan fails the tensor-level proof, and its code differs from TFLM."""
    rng = seeded("too-small")
    b = GraphBuilder("dw")
    x = b.input((1, 6, 5, 64), **q(rng))
    wt = b.const(rng.integers(-127, 128, size=(1, 3, 3, 64)), "int8", scale=rng.uniform(0.002, 0.02, 64),
                 zero_point=0, axis=3)
    y = b.activation((1, 6, 5, 64), **q(rng))
    b.op("depthwise_conv_2d", [x, wt], [y], padding="SAME", depth_multiplier=1)
    graph = b.build([y])
    board = get_board("host")
    good = compile_graph(graph, board)
    reference = layer("reference")[1]
    kernel = reference["depthwise_conv_2d"]
    rule = kernel.inplace
    with monkeypatch.context() as patch:
        patch.setitem(reference, "depthwise_conv_2d", dataclasses.replace(
            kernel, inplace=dataclasses.replace(rule, shift=lambda k, g, i: rule.shift(k, g, i) - 64)))
        patch.setattr(memory, "verify_tensors", lambda *args: None)
        broken = compile_graph(graph, board)
    assert broken.plan.aliases[0].shift == good.plan.aliases[0].shift - 64 == 6 * 64 - 64
    with pytest.raises(AssertionError, match="the kernel needs 384"):
        verify_tensors(broken.lowered, broken.plan, [b.inplace for b in good.bound.ops])
    assert not verify_host(broken, board, n_inputs=3).ok
    assert verify_host(good, board, n_inputs=3).ok


@pytest.mark.parametrize("model", ["kws_dscnn_int8", "ic_resnet8_int8"])
def test_mlperf_models_with_aliasing(model):
    graph = read_model_file(shared_file("models", "mlperf-tiny", f"{model}.tflite"))
    compiled = assert_bit_exact(graph, n_inputs=5, layers=True)
    assert compiled.plan.arena_bytes < compiled.plan.baseline_lower_bound_bytes
    assert sum(a.kind == "in-place" for a in compiled.plan.aliases) >= 9
