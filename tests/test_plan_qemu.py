"""The planned arena (in-place conv/depthwise/pool/add, views) on a microcontroller build: the
reference kernels compiled for Cortex-M55 run in QEMU, byte for byte equal to TFLM."""

import shutil

import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.driver import compile_file
from tinyq.verify import summarize

pytestmark = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["kws_dscnn_int8", "ic_resnet8_int8"])
def test_aliased_arena_is_bit_exact_under_qemu(model):
    from tinyq.verify import verify_qemu

    board = get_board("qemu-m55")
    compiled = compile_file(shared_file("models", "mlperf-tiny", f"{model}.tflite"), board, backend="reference")
    assert compiled.plan.arena_bytes < compiled.plan.baseline_lower_bound_bytes
    assert sum(a.kind == "in-place" and a.shift > 0 for a in compiled.plan.aliases) >= 5
    report = verify_qemu(compiled, board, n_inputs=4, seed=7)
    assert report.result.ok, summarize(report.result, compiled.graph)


@pytest.mark.slow
def test_flash_plan_matches_the_built_elf(tmp_path):
    import json
    import subprocess
    import sys

    from tinyq.build.elf import read_sections

    model = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")

    def tinyq(*args):
        run = subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        return run.stdout

    tinyq("generate", model, "--board", "qemu-m55", "-o", tmp_path / "proj")
    tinyq("build", tmp_path / "proj")
    elf = next((tmp_path / "proj").rglob("*.elf"))
    sections = {s.name: s.size for s in read_sections(elf)}
    report = json.loads(tinyq("plan", model, "--board", "qemu-m55", "--format", "json"))
    assert sections[".tq_weights"] == report["flash_bytes"]  # every constant array, 16-byte aligned
    assert sections[".tq_arena"] == report["arena_bytes"]
    with_elf = json.loads(tinyq("plan", model, "--board", "qemu-m55", "--format", "json", "--elf", elf))
    assert with_elf["flash_bytes"] > report["flash_bytes"] and with_elf["code_bytes"] > 0
