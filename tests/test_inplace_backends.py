"""The optimized backends' in-place rules, each run with the planner using it.

Every kernel a backend calls declares how its output may overlap the input it reads, keyed on
the library function that runs and its code path (tinyq/backends/cmsis_nn/inplace.py,
esp_nn/inplace.py, tq_mve/*). Chains of ops of one size (tests/inplace_chains.py) make the
smallest arena overlap at every op, so each test checks that every op's alias is in the plan,
names the function it ran, and compares the outputs and every layer with TFLM: on the host
(pure C) and under QEMU on the Helium (Cortex-M55), DSP (Cortex-M4) and ARMv6-M code paths.
"""

from __future__ import annotations

import dataclasses

import pytest

import inplace_chains as chains
from backend_models import merge
from conftest import assert_bit_exact
from test_backend_cmsis_nn import _checking_scratch, _qemu_board
from tinyq.backends import BACKENDS, Backend, layer
from tinyq.backends.cmsis_nn import inplace as cmsis
from tinyq.backends.tq_mve.conv_2d import HELD, HOLD, PAIRS
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.driver import compile_graph
from tinyq.ops.inplace import CHANNEL_WINDOW, ELEMENTWISE, ROWWISE, WINDOW
from tinyq.verify import summarize

needs_cmsis = pytest.mark.skipif(not libraries.available("cmsis-nn"),
                                 reason="set TINYQ_CMSIS_NN_DIR to a checkout of the pinned CMSIS-NN")
needs_esp = pytest.mark.skipif(not libraries.available("esp-nn"),
                               reason="set TINYQ_ESP_NN_DIR to a checkout of the pinned ESP-NN")

# The CMSIS-NN layer without tinyq's own Helium kernels in front: what Helium runs from the library
LIBRARY_ONLY = Backend("cmsis-nn-library", ("cmsis_nn",), library="cmsis-nn", doc="tests: CMSIS-NN alone")


@pytest.fixture
def library_only(monkeypatch):
    monkeypatch.setitem(BACKENDS, LIBRARY_ONLY.name, LIBRARY_ONLY)
    return LIBRARY_ONLY.name


def in_place_everywhere(compiled) -> list[str]:
    """Assert that every op with code overwrites its input in the plan; the functions they ran."""
    used = {a.position for a in compiled.plan.aliases if a.kind == "in-place"}
    functions = []
    for position, op in enumerate(compiled.bound.ops):
        if op.lowered.alias_of is not None:
            continue
        name = op.function or op.lowered.kernel
        assert op.inplace is not None, f"op {position} ({name}) has no in-place rule"
        assert position in used, f"op {position} ({name}) does not overwrite its input in the plan"
        functions.append(name)
    return functions


# --- which rule each function gets, on each code path ----------------------------------------------

EXPECTED = {  # (function, code path) -> rule
    ("arm_convolve_s8", "scalar"): cmsis.IM2COL, ("arm_convolve_s8", "dsp"): cmsis.IM2COL,
    ("arm_convolve_s8", "mve"): cmsis.IM2COL,
    ("arm_convolve_1x1_s8", "scalar"): cmsis.ROW_GEMM, ("arm_convolve_1x1_s8", "dsp"): cmsis.ROW_GEMM,
    ("arm_convolve_1x1_s8", "mve"): cmsis.GEMM4, ("arm_convolve_1x1_s8_fast", "mve"): cmsis.GEMM4,
    ("arm_convolve_1_x_n_s8", "scalar"): cmsis.IM2COL, ("arm_convolve_1_x_n_s8", "dsp"): cmsis.IM2COL,
    ("arm_convolve_1_x_n_s8", "mve"): cmsis.GEMM4,
    ("arm_depthwise_conv_3x3_s8", "scalar"): CHANNEL_WINDOW, ("arm_depthwise_conv_3x3_s8", "dsp"): CHANNEL_WINDOW,
    ("arm_depthwise_conv_s8_opt", "scalar"): CHANNEL_WINDOW, ("arm_depthwise_conv_s8_opt", "dsp"): cmsis.IM2COL,
    ("arm_depthwise_conv_s8_opt", "mve"): cmsis.IM2COL,
    ("arm_depthwise_conv_s8", "scalar"): CHANNEL_WINDOW, ("arm_depthwise_conv_s8", "dsp"): CHANNEL_WINDOW,
    ("arm_depthwise_conv_s8", "mve"): CHANNEL_WINDOW,
    ("arm_avgpool_s8", "scalar"): CHANNEL_WINDOW, ("arm_avgpool_s8", "dsp"): cmsis.IM2COL,
    ("arm_avgpool_s8", "mve"): CHANNEL_WINDOW,
    ("arm_max_pool_s8", "scalar"): WINDOW, ("arm_max_pool_s8", "dsp"): WINDOW, ("arm_max_pool_s8", "mve"): WINDOW,
    ("arm_fully_connected_s8", "scalar"): cmsis.FC_ROWS, ("arm_fully_connected_s8", "mve"): cmsis.FC_ROWS,
    ("arm_convolve_s4", "scalar"): cmsis.IM2COL, ("arm_convolve_even_s4", "mve"): cmsis.IM2COL,
    ("arm_convolve_1x1_s4", "scalar"): cmsis.ROW_GEMM, ("arm_convolve_1x1_s4", "mve"): cmsis.GEMM4,
    ("arm_convolve_1x1_s4_fast", "mve"): cmsis.GEMM4,
    ("arm_convolve_1_x_n_s4", "scalar"): cmsis.IM2COL, ("arm_convolve_1_x_n_s4", "mve"): cmsis.GEMM4,
    ("arm_depthwise_conv_s4_opt", "scalar"): cmsis.IM2COL, ("arm_depthwise_conv_s4", "mve"): CHANNEL_WINDOW,
    ("arm_fully_connected_s4", "scalar"): cmsis.FC_ROWS,
    ("arm_elementwise_add_s8", "scalar"): ELEMENTWISE, ("arm_elementwise_mul_s8", "mve"): ELEMENTWISE,
    ("arm_maximum_s8", "dsp"): ELEMENTWISE, ("arm_minimum_s8", "scalar"): ELEMENTWISE,
    ("arm_softmax_s8", "mve"): ROWWISE,
    ("tq_mve_conv_s8", "mve"): HELD, ("tq_mve_depthwise_s8", "mve"): CHANNEL_WINDOW,
    ("tq_mve_add_s8", "mve"): ELEMENTWISE,
}


def _bound(graph, backend, isa):
    from tinyq.backends import get_backend
    from tinyq.bind import bind
    from tinyq.lower import lower_graph
    from tinyq.ops.base import Target
    from tinyq.passes.fold import fold_constants

    return bind(lower_graph(fold_constants(graph)), get_backend(backend), Target(isa=isa)).ops


def test_each_function_gets_the_rule_of_its_loops(library_only):
    """The rule follows the function the wrapper would pick and the code path, not the op."""
    graphs = [chains.library_paths(), chains.helium_library_paths(), chains.int4_paths(False),
              chains.int4_paths(True), chains.helium_depthwise()]
    seen = {}
    for backend in ("cmsis-nn", library_only):
        for isa in ("scalar", "dsp", "mve"):
            for graph in graphs:
                for op in _bound(graph, backend, isa):
                    if (op.function, isa) in EXPECTED:
                        seen[(op.function, isa)] = op.inplace
    missing = set(EXPECTED) - set(seen)
    assert not missing, missing
    assert {key: rule for key, rule in seen.items() if rule is not EXPECTED[key]} == {}


def test_kernels_that_read_again_after_writing_have_no_rule(library_only):
    """No shift allows these (their loops read some input again after a later output was written):
    the unit-stride 1x1 GEMM over every pixel on scalar/DSP, grouped convolutions, and Helium's
    optimized depthwise over more than one 124-channel block."""
    unit_1x1 = chains.helium_library_paths()
    for isa in ("scalar", "dsp"):
        op = _bound(unit_1x1, "cmsis-nn", isa)[0]
        assert op.function == "arm_convolve_1x1_s8_fast" and op.inplace is None
    grouped = chains.Chain("grouped").conv((3, 3), groups=2).build()
    assert all(op.function == "arm_convolve_s8" and op.inplace is None for op in _bound(grouped, "cmsis-nn", "dsp"))
    wide = chains.Chain("wide", shape=(1, 6, 6, 128)).depthwise((3, 3)).build()
    op = _bound(wide, library_only, "mve")[0]
    assert op.function == "arm_depthwise_conv_s8_opt" and op.inplace is None
    assert _bound(chains.Chain("narrow", shape=(1, 6, 6, 124)).depthwise((3, 3)).build(), library_only,
                  "mve")[0].inplace is cmsis.IM2COL


def test_esp32s3_simd_kernels_get_no_rule():
    """ESP-NN's S3 kernels cannot be run here (no compiler, no emulator): no rule is declared for them,
    while the same calls elsewhere (plain C) have theirs."""
    graph = chains.esp_nn_paths()
    assert all(op.inplace is None for op in _bound(graph, "esp-nn", "esp32s3") if op.lowered.alias_of is None)
    assert all(op.inplace is not None for op in _bound(graph, "esp-nn", "scalar") if op.lowered.alias_of is None)


@needs_cmsis
def test_no_rule_means_no_overlap_and_the_same_bytes():
    graph = merge([chains.helium_library_paths(), chains.Chain("grouped").conv((3, 3), groups=2).build()], "none")
    compiled = assert_bit_exact(graph, n_inputs=4, backend="cmsis-nn", layers=True)
    no_rule = {p for p, op in enumerate(compiled.bound.ops) if op.inplace is None}
    assert {0, 2} <= no_rule
    assert not [a for a in compiled.plan.aliases if a.kind == "in-place" and a.position in no_rule]


# --- on the host: pure C CMSIS-NN and ESP-NN ---------------------------------------------------------

@needs_cmsis
@pytest.mark.parametrize("make", [chains.library_paths, lambda: chains.int4_paths(False)], ids=["s8", "s4"])
def test_cmsis_nn_chains_in_place_on_host(make):
    compiled = assert_bit_exact(make(), n_inputs=6, backend="cmsis-nn", layers=True)
    functions = in_place_everywhere(compiled)
    assert len(set(functions)) >= 5, functions


@needs_esp
@pytest.mark.parametrize("make", [chains.esp_nn_paths, chains.relu6_path], ids=["kernels", "relu6"])
def test_esp_nn_chains_in_place_on_host(make):
    compiled = assert_bit_exact(make(), n_inputs=6, backend="esp-nn", layers=True)
    assert all(f.startswith("esp_nn_") for f in in_place_everywhere(compiled))


# --- under QEMU: Helium, DSP and ARMv6-M builds, with the library's scratch checked ------------------

QEMU_CASES = {  # board -> (backend, chain) pairs
    "qemu-m55": [("cmsis-nn", chains.library_paths), ("cmsis-nn", chains.helium_library_paths),
                 ("cmsis-nn", lambda: chains.int4_paths(True)), ("cmsis-nn-library", lambda: chains.library_paths(unit_depthwise=False)),
                 ("cmsis-nn-library", chains.helium_depthwise),
                 ("cmsis-nn-library", chains.helium_library_paths)],
    "qemu-m4-an386": [("cmsis-nn", chains.library_paths), ("cmsis-nn", lambda: chains.int4_paths(False))],
    "qemu-m0-an385": [("cmsis-nn", chains.library_paths), ("cmsis-nn", lambda: chains.int4_paths(False)),
                      ("esp-nn", chains.esp_nn_paths), ("esp-nn", chains.relu6_path)],
}


@needs_cmsis
@pytest.mark.slow
@pytest.mark.parametrize("board_name", sorted(QEMU_CASES))
def test_chains_in_place_under_qemu(board_name, library_only):
    """One firmware per chain (side by side, every chain's input would be live from the start and
    the plan need not overlap everywhere); CMSIS-NN builds check each call's scratch too."""
    from tinyq.verify import verify_qemu

    board = _qemu_board(board_name)
    for backend, make in QEMU_CASES[board_name]:
        if backend == "esp-nn" and not libraries.available("esp-nn"):
            continue
        compiled = compile_graph(make(), board, backend=backend, arena="fast")
        in_place_everywhere(compiled)
        checked = _checking_scratch(compiled) if "cmsis-nn" in compiled.source.libraries else compiled
        report = verify_qemu(checked, board, n_inputs=3)
        assert report.result.ok, f"{backend}: " + summarize(report.result, compiled.graph)


def _with_rule(monkeypatch, shift):
    """tinyq's Helium conv planned with another least shift (the tensor-level proof switched off)."""
    from tinyq.ops.base import InPlace
    from tinyq.plan import memory

    _, kernels = layer("tq_mve")
    monkeypatch.setitem(kernels, "conv_2d", dataclasses.replace(kernels["conv_2d"], inplace=InPlace(shift, "test")))
    monkeypatch.setattr(memory, "verify_tensors", lambda *args: None)


@needs_cmsis
@pytest.mark.slow
@pytest.mark.parametrize("channels", [64, HOLD + 16], ids=["held", "wide"])
def test_a_shift_below_the_rule_is_wrong_under_qemu(channels, monkeypatch):
    """tq_mve_conv_s8 runs pixels in pairs. Up to HOLD channels it holds the second pixel's outputs, so
    a 1x1 convolution needs one pixel of shift, as the reference's; 16 bytes less and the Helium build's
    bytes differ. Wider, both pixels are written as the rows are read: two pixels of shift, and the
    reference's one is wrong."""
    from tinyq.verify import verify_qemu

    board = get_board("qemu-m55")
    graph = chains.Chain(f"pair{channels}", shape=(1, 8, 8, channels)).conv((1, 1), padding="VALID").build()
    good = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    pixels = 1 if channels <= HOLD else 2
    assert good.bound.ops[0].inplace is (HELD if pixels == 1 else PAIRS)
    assert good.plan.aliases[0].shift == pixels * channels
    assert verify_qemu(good, board, n_inputs=2).result.ok
    rule = good.bound.ops[0].inplace
    _with_rule(monkeypatch, lambda k, g, i: rule.shift(k, g, i) - (16 if pixels == 1 else channels))
    bad = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    assert bad.plan.aliases[0].shift < good.plan.aliases[0].shift
    assert not verify_qemu(bad, board, n_inputs=2).result.ok


# --- the s16 kernels' rules (tinyq/backends/cmsis_nn/inplace.py), ahead of their Kernel records -------

S16_KERNELS = ("conv_2d_s16", "depthwise_conv_2d_s16", "average_pool_2d_s16", "max_pool_2d_s16")


@pytest.fixture
def s16_rules(monkeypatch):
    """The s16 kernels with the shared module's rules (what `inplace=by_function` in their records gives)."""
    _, kernels = layer("cmsis_nn")
    for name in S16_KERNELS:
        monkeypatch.setitem(kernels, name, dataclasses.replace(kernels[name], inplace=cmsis.by_function))


def test_s16_functions_get_the_rule_of_their_loops(s16_rules):
    expected = {"arm_convolve_wrapper_s16": cmsis.IM2COL, "arm_depthwise_conv_fast_s16": cmsis.IM2COL,
                "arm_depthwise_conv_s16": CHANNEL_WINDOW, "arm_max_pool_s16": WINDOW}
    for isa, avgpool in (("scalar", CHANNEL_WINDOW), ("dsp", cmsis.IM2COL), ("mve", CHANNEL_WINDOW)):
        ops = _bound(chains.int16_paths(), "cmsis-nn", isa)
        assert {op.function: op.inplace for op in ops} == {**{f: r for f, r in expected.items()
                                                             if f != "arm_depthwise_conv_fast_s16" or isa != "scalar"},
                                                          "arm_avgpool_s16": avgpool}


@needs_cmsis
@pytest.mark.parametrize("board_name", ["host", pytest.param("qemu-m55", marks=pytest.mark.slow),
                                        pytest.param("qemu-m4-an386", marks=pytest.mark.slow),
                                        pytest.param("qemu-m0-an385", marks=pytest.mark.slow)])
def test_s16_chain_in_place(board_name, s16_rules):
    from tinyq.verify import verify_qemu

    if board_name == "host":
        in_place_everywhere(assert_bit_exact(chains.int16_paths(), n_inputs=6, backend="cmsis-nn", layers=True))
        return
    board = _qemu_board(board_name)
    compiled = compile_graph(chains.int16_paths(), board, backend="cmsis-nn", arena="fast")
    in_place_everywhere(compiled)
    report = verify_qemu(_checking_scratch(compiled), board, n_inputs=3)
    assert report.result.ok, summarize(report.result, compiled.graph)


# --- the arena guard's Helium convolutions, at the reference's shift ---------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("function,before", [("tq_mve_conv_inplace_s8", ("tq_mve",)),
                                             ("tq_mve_conv_single_s8", ("tq_mve", "tq_mve_inplace"))])
def test_guard_conv_chain_in_place_under_qemu(function, before, monkeypatch):
    """With the layers before it taken out, the chain's convolutions with borders run `function` and
    overwrite their input at the reference convolution's shift (tq_mve_conv_inplace_s8 holding a pair's
    second pixel in its scratch): zero-point borders, window rows padded to whole chunks (8 channels);
    16 fewer bytes of shift and the Helium build's bytes differ."""
    from tinyq.ops.base import InPlace
    from tinyq.verify import verify_host
    from tinyq.plan import memory
    from tinyq.verify import verify_qemu

    for name in before:
        monkeypatch.delitem(layer(name)[1], "conv_2d")
    board = get_board("qemu-m55")
    c = chains.Chain(f"guard_{function}").conv((3, 3)).conv((1, 1), padding="VALID")
    graph = c.reshape((1, 64, 16, 8)).conv((3, 3)).reshape(chains.IMAGE).conv((3, 1)).build()
    good = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    assert set(in_place_everywhere(good)) == {function, "tq_mve_conv_single_s8"}
    assert all(op.inplace.shift is WINDOW.shift for op in good.bound.ops if op.lowered.alias_of is None)
    assert verify_qemu(good, board, n_inputs=3).result.ok
    assert verify_host(good, get_board("host"), n_inputs=3).ok  # the plain C fallback over the same plan
    _, kernels = layer("tq_mve_inplace" if function == "tq_mve_conv_inplace_s8" else "tq_mve_single")
    rule = good.bound.ops[0].inplace
    monkeypatch.setitem(kernels, "conv_2d", dataclasses.replace(
        kernels["conv_2d"], inplace=InPlace(lambda k, g, i: rule.shift(k, g, i) - 16, "test")))
    monkeypatch.setattr(memory, "verify_tensors", lambda *args: None)
    bad = compile_graph(graph, board, backend="cmsis-nn", arena="fast")
    assert bad.plan.arena_bytes < good.plan.arena_bytes
    assert not verify_qemu(bad, board, n_inputs=3).result.ok
