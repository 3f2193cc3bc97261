"""The fast backends at the reference kernels' memory (tinyq/plan/keep_arena.py).

Over every model of the TFLM corpus and MLPerf Tiny, on each code path a backend has: the
arena plus the kernels' stack buffers with the backend's kernels is at most the reference
kernels' arena wherever binding keeps the arena; the optimized kernels that stay are
most of them; the ops moved say why in `passed_over`; a model with ops moved runs bit-exact.
"""

from __future__ import annotations

import pytest

from conftest import MLPERF, SHARED
from tinyq import driver
from tinyq.driver import Compiled
from tinyq.verify import summarize, verify_host
from tinyq.backends import get_backend
from tinyq.bind import bind
from tinyq.ops.base import Target
from tinyq.plan.keep_arena import footprint, kernel_stack

CORPUS = SHARED / "models" / "tflm-corpus"
PATHS = {"cmsis-nn": ("scalar", "dsp", "mve"), "esp-nn": ("scalar", "esp32s3")}
CONFIGS = [(backend, isa) for backend, paths in PATHS.items() for isa in paths]


def _models():
    if not CORPUS.is_dir() or not MLPERF.is_dir():
        pytest.skip(f"{CORPUS} or {MLPERF} is absent (tests that use ../shared models skip without it)")
    return sorted(CORPUS.glob("*.tflite")) + sorted(MLPERF.glob("*.tflite"))


def _lowered(path):
    from tinyq.errors import UnsupportedError

    try:
        _, graph = driver.read(path)
        return driver.lower(driver.fold(graph))
    except UnsupportedError:
        return None  # a model tinyq refuses (the Ethos-U custom op) binds nothing


@pytest.mark.parametrize("backend,isa", CONFIGS)
def test_every_model_keeps_the_reference_memory(backend, isa):
    target, bound_some, larger_unguarded, kept, optimized = Target(isa=isa), 0, [], 0, 0
    for path in _models():
        lowered = _lowered(path)
        if lowered is None:
            continue
        fast = bind(lowered, get_backend(backend), target)
        if not any(b.optimized for b in fast.ops):
            continue
        bound_some += 1
        reference = footprint(bind(lowered, get_backend("reference"), target))
        guarded = bind(lowered, get_backend(backend), target, keep_arena=True)
        assert footprint(guarded) <= reference, f"{path.name}: {footprint(guarded)} B > reference {reference} B"
        if footprint(fast) > reference:
            larger_unguarded.append(path.name)
            moved = [b for b, f in zip(guarded.ops, fast.ops) if b.kernel is not f.kernel]
            assert moved and all("kept off" in b.passed_over[-1][1] for b in moved), path.name
        else:  # nothing to give back: binding changes nothing
            assert [b.function for b in guarded.ops] == [b.function for b in fast.ops], path.name
        kept += sum(b.optimized for b in guarded.ops)
        optimized += sum(b.optimized for b in fast.ops)
    assert bound_some >= 10, f"only {bound_some} models bind a {backend} kernel on {isa}"
    assert kept >= optimized // 2, f"{kept} of {optimized} optimized kernels kept"


def test_stack_buffers_count():
    """tq_mve_conv_s8's on-stack im2col rows, and its held pixel where the plan overlaps its output
    with its input, are part of the memory compared and reported."""
    path = MLPERF / "kws_dscnn_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent (tests that use ../shared models skip without it)")
    fast = bind(_lowered(path), get_backend("cmsis-nn"), Target(isa="mve"))
    plan = driver.plan(fast)
    in_place = {a.position for a in plan.aliases if a.kind == "in-place"}
    held = [p for p, b in enumerate(fast.ops) if b.function == "tq_mve_conv_s8" and p in in_place]
    assert held, "no tq_mve_conv_s8 writes over its input in KWS's plan"
    p = held[0]
    assert fast.ops[p].stack_of(fast.target, True) >= fast.ops[p].stack_of(fast.target, False) + \
        fast.ops[p].lowered.params.out_d
    stack, _ = kernel_stack(fast, plan)
    assert stack >= fast.ops[p].stack_of(fast.target, True) > 0
    assert footprint(fast) == plan.arena_bytes + stack
    from tinyq.boards import get_board
    from tinyq.plan.flash import plan_flash
    from tinyq.plan.report import as_text, plan_report

    report = plan_report(path.name, fast, plan, plan_flash(fast, get_board("qemu-m55")))
    assert (report.kernel_stack_bytes, fast.ops[report.kernel_stack_op].function) == (stack, "tq_mve_conv_s8")
    assert f"kernel stack {stack:,} B beside the arena" in as_text(report)


def test_a_model_with_ops_moved_runs_bit_exact():
    """ResNet-8 with CMSIS-NN's plain C kernels: the convolutions at the peak (arm_convolve_s8's im2col
    columns would raise the arena) run the reference kernel, the rest CMSIS-NN, bit-exact on the host."""
    from tinyq.boards import get_board

    path = MLPERF / "ic_resnet8_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent (tests that use ../shared models skip without it)")
    compiled, graph = _guarded(path, get_board("host"))
    guarded = compiled.bound
    moved = [b for b in guarded.ops if not b.optimized and b.passed_over and "kept off" in b.passed_over[-1][1]]
    assert moved and sum(b.optimized for b in guarded.ops) > len(moved)
    reference = bind(guarded.lowered, get_backend("reference"), guarded.target)
    assert footprint(guarded) <= footprint(reference)
    result = verify_host(compiled, get_board("host"), n_inputs=3)
    assert result.ok, summarize(result, graph)


def _guarded(path, board):
    """`path` compiled for `board` with cmsis-nn bound to keep the reference arena."""
    from tinyq.backends import target_of

    data, graph = driver.read(path)
    bound = bind(driver.lower(driver.fold(graph)), get_backend("cmsis-nn"), target_of(board), keep_arena=True)
    memory = driver.plan(bound)
    return Compiled(model=data, graph=bound.graph, bound=bound, plan=memory,
                    source=driver.generate(bound, memory, path.stem)), graph
