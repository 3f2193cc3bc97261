"""`tinyq plan`: the JSON/text report, the fit check's one-line failure, the plot, and that
the generated C uses exactly the plan shown."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import bound_reference, shared_file
from test_plan_graphs import two_branches
from tinyq.lower import lower_graph
from tinyq.plan import plan_memory
from tinyq.plan.flash import plan_flash
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def tinyq(*args):
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True)


def fc_model(tmp_path, name, width, units):
    rng = np.random.default_rng(1)
    b = GraphBuilder(name)
    x = b.input((1, width), scale=0.1, zero_point=1)
    w = b.const(rng.integers(-127, 128, size=(units, width)), "int8", scale=[0.01], zero_point=[0])
    y = b.activation((1, units), scale=0.2, zero_point=-3)
    b.op("fully_connected", [x, w, -1], [y])
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


@pytest.fixture
def branches_model(tmp_path):
    path = tmp_path / "branches.tflite"
    path.write_bytes(write_model(two_branches()))
    return path


def test_json_report(branches_model):
    run = tinyq("plan", branches_model, "--format", "json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    for key in ("arena_bytes", "lower_bound_bytes", "flash_bytes"):
        assert isinstance(report[key], int) and report[key] > 0
    bound = bound_reference(lower_graph(two_branches()))
    lowered = bound.lowered
    plan = plan_memory(bound)
    assert report["arena_bytes"] == plan.arena_bytes
    assert report["lower_bound_bytes"] == plan.lower_bound_bytes <= report["arena_bytes"]
    assert report["flash_bytes"] == plan_flash(bound).flash_bytes
    assert report["order"] == [0, 2, 1, 3] and report["reordered"]
    placed = {t["tensor"]: t["offset"] for b in report["buffers"] for t in b["tensors"]}
    assert placed == {t: plan.tensor_offset(t) for t in placed}
    assert set(placed) == {t for k in lowered.ops for t in k.inputs + k.outputs}
    assert len(report["steps"]) == 4 and report["fit"] is None


def test_text_report(branches_model):
    run = tinyq("plan", branches_model, "--board", "qemu-m55")
    assert run.returncode == 0, run.stderr
    for part in ("arena", "lower bound", "timeline", "buffers:", "flash:", "order: reordered 0 2 1 3",
                 "fits qemu-m55"):
        assert part in run.stdout


def test_generated_c_uses_the_plan(branches_model, tmp_path):
    report = json.loads(tinyq("plan", branches_model, "--format", "json").stdout)
    run = tinyq("generate", branches_model, "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    header = next((tmp_path / "out").glob("*_model.h")).read_text()
    assert re.search(rf"ARENA_BYTES\s+{report['arena_bytes']}\b", header)
    source = next((tmp_path / "out").glob("*_model.c")).read_text()
    for b in report["buffers"]:
        for t in b["tensors"]:
            if t["tensor"] in report["steps"][0]["writes"]:
                assert f"tq_arena + {t['offset']})" in source


def test_arena_too_big_for_the_board(tmp_path):
    path = fc_model(tmp_path, "wide", 15000, 8)
    run = tinyq("plan", path, "--board", "qemu-m0")
    assert run.returncode == 2 and "does NOT fit qemu-m0" in run.stdout  # the plan shows, then the verdict
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "the arena needs 15,024 B of RAM" in lines[0] and "'sram' has 16,384 B" in lines[0]
    assert "2,048 B of it for the stack" in lines[0] and "weights" not in lines[0]
    assert "could help" in lines[0] and "qemu-m55" in lines[0]


def test_weights_too_big_for_flash_hint_int4_from_the_models_weights(tmp_path):
    """The int4 estimate halves the model's int8 weights, whatever arrays the kernels make of them
    (CMSIS-NN/Helium pack them into int32 arrays under their own names)."""
    rng = np.random.default_rng(0)
    b = GraphBuilder("wide_conv")
    x = b.input((1, 2, 2, 1024), scale=0.05, zero_point=0)
    w = b.const(rng.integers(-127, 128, size=(600, 1, 1, 1024)), "int8", scale=list(rng.uniform(0.001, 0.01, 600)),
                zero_point=[0] * 600)
    y = b.activation((1, 2, 2, 600), scale=0.2, zero_point=-3)
    b.op("conv_2d", [x, w, b.const(rng.integers(-500, 500, size=600), "int32")], [y], padding="VALID")
    path = tmp_path / "wide_conv.tflite"
    path.write_bytes(write_model(b.build([y])))
    for backend in ("cmsis-nn", "reference"):
        run = tinyq("plan", path, "--board", "qemu-m55", "--backend", backend)
        assert run.returncode == 2, run.stderr
        line = run.stderr.strip().splitlines()[-1]
        need = int(re.search(r"the weights need ([\d,]+) B", line).group(1).replace(",", ""))
        estimate = int(re.search(r"int4 weights \(about ([\d,]+) B\)", line).group(1).replace(",", ""))
        assert estimate == need - 600 * 1024 // 2, line


def test_json_says_when_it_does_not_fit(tmp_path):
    run = tinyq("plan", fc_model(tmp_path, "wide", 15000, 8), "--board", "qemu-m0", "--format", "json")
    assert run.returncode == 2
    report = json.loads(run.stdout)
    assert report["fits"] is False and report["board"] == "qemu-m0"
    assert any("the arena needs" in p for p in report["fit"]["problems"])


def test_generate_refuses_a_board_the_model_does_not_fit(tmp_path):
    run = tinyq("generate", fc_model(tmp_path, "wide", 15000, 8), "-o", tmp_path / "out", "--board", "qemu-m0")
    assert run.returncode == 2 and "the arena needs" in run.stderr and not (tmp_path / "out").exists()


def test_plan_folds_constants_like_generate():
    """A converter's dynamic-batch shape arithmetic folds away in every command, not only generate."""
    model = shared_file("quant", "models", "cnn_digits", "tfl_int8.tflite")
    plan = tinyq("plan", model)
    assert plan.returncode == 0, plan.stderr
    inspect = tinyq("inspect", model)
    assert inspect.returncode == 0 and "UNSUPPORTED" not in inspect.stdout and "fold into constants" in inspect.stdout


def test_weights_too_big_for_the_board(tmp_path):
    path = fc_model(tmp_path, "heavy", 600, 600)
    run = tinyq("plan", path, "--board", "qemu-m0")
    assert run.returncode == 2
    line = run.stderr.strip()
    assert "\n" not in line
    assert "the weights need" in line and "262,144 B" in line and "int4 weights" in line


def test_plot(branches_model, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "arena.png"
    run = tinyq("plan", branches_model, "--plot", png)
    assert run.returncode == 0, run.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib(branches_model, tmp_path):
    script = ("import sys; sys.modules['matplotlib'] = None\n"
              "from tinyq.cli import main\n"
              f"main(['plan', {str(branches_model)!r}, '--plot', {str(tmp_path / 'x.png')!r}])")
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 2 and run.stdout == ""
    assert "matplotlib" in run.stderr and "tinyq[plot]" in run.stderr
    assert not (tmp_path / "x.png").exists()


def test_mlperf_kws_report():
    path = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    report = json.loads(tinyq("plan", path, "--format", "json", "--board", "rp2040").stdout)
    assert report["lower_bound_bytes"] <= report["arena_bytes"] < 16_000 == report["baseline_lower_bound_bytes"]
    assert report["fit"]["arena_region"] == "sram" and report["fit"]["problems"] == []
    assert {a["region"] for a in report["flash"]} == {"flash"}


def _generated_flash_bytes(compiled) -> int:
    header = next(text for path, text in compiled.source.files.items() if path.endswith("_model.h"))
    return int(re.search(r"Flash arrays: (\d+) bytes", header).group(1))


@pytest.mark.parametrize("backend", ["reference", "cmsis-nn", "esp-nn"])
def test_flash_plan_counts_exactly_the_arrays_the_generated_c_holds(backend):
    """Kernels read different arrays of an op (blocked filters, int32 shifts, packed int4...): the
    flash plan must count what the calls reference, as the generator emits, on every backend."""
    from backend_models import all_paths
    from test_int4 import conv_graph, depthwise_graph, fc_graph
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph

    board = get_board("qemu-m55" if backend == "cmsis-nn" else "host")
    for graph in (all_paths(), conv_graph(), depthwise_graph(), fc_graph()):
        compiled = compile_graph(graph, board, backend)
        flash = plan_flash(compiled.bound, board)
        assert flash.data_bytes == _generated_flash_bytes(compiled), (backend, graph.name)


def test_a_fit_that_leaves_the_code_little_room_says_so(tmp_path):
    """qemu-m55 puts the code in ITCM beside the weights: weights filling all but a few KB "fit", and the link
    then overflows (Arm's KWS DNN-L: 12,960 B left, 7,448 B short). The plan cannot size the code; it says
    how much room is left for it."""
    tight = tinyq("plan", fc_model(tmp_path, "tight", 1000, 519), "--board", "qemu-m55", "--backend", "reference")
    assert tight.returncode == 0, tight.stderr
    left = int(re.search(r"the code goes into 'itcm' too and has ([\d,]+) B left", tight.stdout).group(1)
               .replace(",", ""))
    assert 0 < left < 16 * 1024, tight.stdout
    roomy = tinyq("plan", fc_model(tmp_path, "roomy", 100, 50), "--board", "qemu-m55")
    assert roomy.returncode == 0 and "the code goes into" not in roomy.stdout, roomy.stdout
