"""The CMake project `tinyq generate --board B` writes beside the Makefile: configured with the
arm-none-eabi toolchain file, built with Ninja (CMSIS-NN from a local checkout: ../shared/vendor),
and the image it links runs bit-exact with TFLM under QEMU."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.build.elf import size_report
from tinyq.libraries import LIBRARIES
from tinyq.run.qemu import run_qemu
from tinyq.tflite.reader import read_model
from tinyq.verify.compare import compare_outputs
from tinyq.verify.inputs import make_inputs
from tinyq.verify.runners import output_specs
from test_api import _int8_model

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("ninja")),
                                 reason="cmake and ninja are not installed (make test installs them)")]


def cmsis_nn_checkout() -> Path:
    return shared_file("vendor", f"cmsis-nn-{LIBRARIES['cmsis-nn'].commit[:8]}")


def generate(model: Path, out: Path, board: str, backend: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tinyq", "generate", str(model), "-o", str(out), "--board", board,
                           "--backend", backend], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


def cmake_build(project: Path, build_dir: Path, *defines: str) -> Path:
    """Configure with Ninja and build; the ELF."""
    for cmd in (["cmake", "-S", str(project), "-B", str(build_dir), "-G", "Ninja", *defines],
                ["cmake", "--build", str(build_dir)]):
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    elf = build_dir / "firmware.elf"
    assert elf.is_file() and (build_dir / "firmware.bin").stat().st_size > 0 and (build_dir / "firmware.hex").is_file()
    return elf


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cmake") / "cmake_cnn.tflite"
    path.write_bytes(_int8_model(seed=7))
    return path


@pytest.mark.parametrize("board, backend", [("qemu-m55", "cmsis-nn"), ("qemu-m0", "reference")])
def test_cmake_image_runs_bit_exact_under_qemu(model_file, tmp_path, board, backend):
    if backend == "cmsis-nn":  # KWS calls CMSIS-NN's softmax and pooling beside tinyq's Helium kernels
        model_file = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    project = tmp_path / "proj"
    generate(model_file, project, board, backend)
    if backend == "cmsis-nn":
        assert "model/cmsis_nn.cmake" in (project / "CMakeLists.txt").read_text()
    defines = [f"-DTINYQ_CMSIS_NN_DIR={cmsis_nn_checkout()}"] if backend == "cmsis-nn" else []
    elf = cmake_build(project, tmp_path / "build", *defines)
    b = get_board(board)
    graph = read_model(model_file.read_bytes())
    inputs = make_inputs(graph, 3, seed=1)
    run = run_qemu(elf, b, inputs, output_specs(graph))
    assert compare_outputs(model_file.read_bytes(), graph, inputs, run.outputs).ok
    # the same firmware as `make`: the same sections, the arena where the board's placement puts it
    sizes = size_report(elf, b)
    assert sizes.ram_of(".tq_arena") > 0 and sizes.flash_bytes > 0


def test_ra8m1_cmake_project_builds_with_cmsis_nn(tmp_path):
    """KWS on the EK-RA8M1 calls CMSIS-NN (softmax, pooling) beside tinyq's Helium kernels."""
    project = tmp_path / "ra"
    generate(shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite"), project, "ra8m1", "cmsis-nn")
    text = (project / "CMakeLists.txt").read_text()
    assert "model/cmsis_nn.cmake" in text and "-mcpu=cortex-m85" in text
    elf = cmake_build(project, tmp_path / "build", f"-DTINYQ_CMSIS_NN_DIR={cmsis_nn_checkout()}")
    board = get_board("ra8m1")
    sizes = size_report(elf, board)
    flash = board.memory_named("flash")
    text_section = next(p for p in sizes.sections if p.section.name == ".text")
    assert flash.address <= text_section.section.address < flash.address + flash.size
    assert sizes.ram_of(".tq_arena") >= 1


def test_cmake_without_a_checkout_names_the_pinned_fetch(tmp_path):
    """Without TINYQ_CMSIS_NN_DIR the project fetches the pinned commit (FetchContent): the snippet names it."""
    project = tmp_path / "fetch"
    generate(shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite"), project, "qemu-m55", "cmsis-nn")
    snippet = (project / "model" / "cmsis_nn.cmake").read_text()
    assert LIBRARIES["cmsis-nn"].commit in snippet and "FetchContent_Declare" in snippet
