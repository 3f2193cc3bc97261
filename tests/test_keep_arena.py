"""The fast backends at the reference kernels' memory (tinyq/plan/keep_arena.py, the default).

Over every model of the TFLM corpus and MLPerf Tiny, on each code path a backend has: the
arena with the backend's kernels is at most the reference kernels' arena wherever binding keeps
the arena (the pipeline's default; `--arena fast` does not); the optimized kernels that stay are
most of them; the ops moved say why in `passed_over`; on Helium a moved tinyq convolution keeps
a vector kernel; a model with ops moved runs bit-exact on the host and under QEMU.
"""

from __future__ import annotations

import shutil

import pytest

from conftest import MLPERF, SHARED
from tinyq import driver
from tinyq.verify import summarize, verify_host
from tinyq.backends import get_backend
from tinyq.bind import bind
from tinyq.ops.base import Target
from tinyq.plan.keep_arena import arena_bytes

CORPUS = SHARED / "models" / "tflm-corpus"
PATHS = {"cmsis-nn": ("scalar", "dsp", "mve"), "esp-nn": ("scalar", "esp32s3")}
CONFIGS = [(backend, isa) for backend, paths in PATHS.items() for isa in paths]
GUARD_KERNELS = ("tq_mve_conv_inplace_s8", "tq_mve_conv_single_s8")  # Helium convolutions with the reference's memory


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
        reference = arena_bytes(bind(lowered, get_backend("reference"), target))
        guarded = bind(lowered, get_backend(backend), target, keep_arena=True)
        assert arena_bytes(guarded) <= reference, f"{path.name}: {arena_bytes(guarded)} B > reference {reference} B"
        if arena_bytes(fast) > reference:
            larger_unguarded.append(path.name)
            moved = [b for b, f in zip(guarded.ops, fast.ops) if b.kernel is not f.kernel]
            assert moved and all(any("kept off" in why for _, why in b.passed_over) for b in moved), path.name
        else:  # nothing to give back: binding changes nothing
            assert [b.function for b in guarded.ops] == [b.function for b in fast.ops], path.name
        kept += sum(b.optimized for b in guarded.ops)
        optimized += sum(b.optimized for b in fast.ops)
    assert bound_some >= 10, f"only {bound_some} models bind a {backend} kernel on {isa}"
    assert kept >= optimized // 2, f"{kept} of {optimized} optimized kernels kept"


def test_moved_helium_convolutions_keep_a_vector_kernel():
    """On Helium, a tq_mve_conv_s8 whose scratch (im2col rows, the held pixel) would raise the peak
    runs tq_mve_conv_inplace_s8 (no im2col rows) or tq_mve_conv_single_s8 (no scratch; both with the
    reference's in-place rule), never the slow reference kernel, wherever its windows can be read in place."""
    from tinyq.backends.tq_mve_single.conv_2d import single_reason

    target, moved = Target(isa="mve"), 0
    for path in _models():
        lowered = _lowered(path)
        if lowered is None:
            continue
        fast = bind(lowered, get_backend("cmsis-nn"), target)
        guarded = bind(lowered, get_backend("cmsis-nn"), target, keep_arena=True)
        for f, g in zip(fast.ops, guarded.ops):
            if f.lowered.kernel == "conv_2d" and f.function == "tq_mve_conv_s8" and g.kernel is not f.kernel \
                    and single_reason(f.lowered, target) is None:
                moved += 1
                assert g.function in GUARD_KERNELS, (path.name, g.function)
    assert moved, "no model moved a convolution: the guard is not exercised"


def test_the_pipeline_keeps_the_reference_arena_unless_told():
    """driver.bind guards by default; arena="fast" gives every op its fastest kernel; anything else is
    refused in one line."""
    from tinyq.boards import get_board
    from tinyq.errors import TinyqError

    path = MLPERF / "ic_resnet8_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent (tests that use ../shared models skip without it)")
    board = get_board("qemu-m55")
    lowered = _lowered(path)
    guarded, fast = driver.bind(lowered, board, "cmsis-nn"), driver.bind(lowered, board, "cmsis-nn", arena="fast")
    reference = arena_bytes(driver.bind(lowered, board, "reference"))
    assert arena_bytes(guarded) <= reference < arena_bytes(fast)
    assert [b.function for b in fast.ops] == [b.function for b in bind(lowered, get_backend("cmsis-nn"),
                                                                        guarded.target).ops]
    with pytest.raises(TinyqError, match="unknown arena choice"):
        driver.bind(lowered, board, "cmsis-nn", arena="small")


def test_a_model_with_ops_moved_runs_bit_exact():
    """ResNet-8 with CMSIS-NN's plain C kernels: the convolutions at the peak (arm_convolve_s8's im2col
    columns would raise the arena) run the reference kernel, the rest CMSIS-NN, bit-exact on the host."""
    from tinyq.boards import get_board

    path = MLPERF / "ic_resnet8_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent (tests that use ../shared models skip without it)")
    compiled = driver.compile_file(path, get_board("host"), backend="cmsis-nn")
    guarded = compiled.bound
    moved = [b for b in guarded.ops if not b.optimized and b.passed_over and "kept off" in b.passed_over[-1][1]]
    assert moved and sum(b.optimized for b in guarded.ops) > len(moved)
    reference = bind(guarded.lowered, get_backend("reference"), guarded.target)
    assert compiled.plan.arena_bytes <= arena_bytes(reference)
    result = verify_host(compiled, get_board("host"), n_inputs=3)
    assert result.ok, summarize(result, compiled.graph)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                    reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_helium_model_at_the_reference_arena_runs_bit_exact_under_qemu(tmp_path):
    """ResNet-8 on the Cortex-M55 with its default backend: the convolutions at the peak run without im2col
    rows (overwriting their input at the reference's shift), bit-exact."""
    from tinyq.boards import get_board
    from tinyq.verify import verify_qemu

    path = MLPERF / "ic_resnet8_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} is absent (tests that use ../shared models skip without it)")
    board = get_board("qemu-m55")
    compiled = driver.compile_file(path, board)
    single = {p for p, b in enumerate(compiled.bound.ops) if b.function in GUARD_KERNELS}
    assert single and single & {a.position for a in compiled.plan.aliases if a.kind == "in-place"}
    assert compiled.plan.arena_bytes <= arena_bytes(bind(compiled.lowered, get_backend("reference"),
                                                         compiled.bound.target))
    report = verify_qemu(compiled, board, n_inputs=3, work_dir=tmp_path)
    assert report.result.ok, summarize(report.result, compiled.graph)
