"""Firmware builds with the real cross toolchain: sections land where the board's memory map
says, the ELF report agrees with binutils, overflows are one-line errors, and the generated
Pico SDK / ESP-IDF projects are complete with model sources that compile for Cortex-M0+."""

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.build import libraries
from tinyq.build.arm import build_firmware, compile_model_objects
from tinyq.build.toolchain import cpu_flags
from tinyq.build.elf import read_sections
from tinyq.build.firmware import project_files
from tinyq.build.project import MANIFEST, load_project
from tinyq.cli import main
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_graph
from tinyq.plan.flash import plan_flash
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

needs_arm_gcc = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None,
    reason="arm-none-eabi-gcc is not installed (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi)")

FIRMWARE_BOARDS = ["qemu-m55", "qemu-m0", "qemu-m0-an385", "ra8m1"]
# What the ELF's build attributes must say: the M85/M55 build really is Armv8.1-M with
# MVE, the RP2040 stand-ins' really is ARMv6-M.
ISA_ATTRIBUTE = {"qemu-m55": r"Tag_MVE_arch: MVE Integer and FP", "ra8m1": r"Tag_MVE_arch: MVE Integer and FP",
                 "qemu-m0": r"Tag_CPU_arch: v6S?-M", "qemu-m0-an385": r"Tag_CPU_arch: v6S?-M"}


def small_model(seed: int = 0, depth: int = 96, units: int = 24, batches: int = 2):
    """Two fully connected layers (the one op every backend has): enough to exercise the harness."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("fw")
    x = b.input((batches, depth), scale=0.05, zero_point=-3)
    layer_in, in_scale, width = x, 0.05, depth
    for n in (units, units // 2):
        scales = rng.uniform(0.002, 0.02, size=n)
        w = b.const(rng.integers(-127, 128, size=(n, width)), "int8", scale=scales, zero_point=0, axis=0)
        bias = b.const(rng.integers(-2000, 2000, size=n), "int32", scale=in_scale * scales, zero_point=0)
        y = b.activation((batches, n), scale=0.1, zero_point=int(rng.integers(-20, 20)))
        b.op("fully_connected", [layer_in, w, bias], [y], fused_activation_function="RELU")
        layer_in, in_scale, width = y, 0.1, n
    return b.build([layer_in])


def firmware_project(tmp_path, graph, board):
    compiled = compile_graph(graph, board)
    root = write_output_dir(tmp_path / board.name, project_files(compiled, board, cpu_flags(board)))
    return compiled, root


def region_of(board, address):
    return next(m.name for m in board.memory if m.address <= address < m.address + m.size)


@needs_arm_gcc
@pytest.mark.parametrize("board_name", FIRMWARE_BOARDS)
def test_sections_land_in_the_regions_the_board_places_them(tmp_path, board_name):
    board = get_board(board_name)
    compiled, root = firmware_project(tmp_path, small_model(), board)
    image = build_firmware(root, board)
    sections = {s.name: s for s in read_sections(image.elf)}
    place = board.firmware.placement
    assert sections[".vectors"].address == board.memory_named(place["code"]).address
    for name, group in ((".text", "code"), (".tq_weights", "weights"), (".tq_arena", "arena"),
                        (".stack", "stack"), (".bss", "data")):
        assert region_of(board, sections[name].address) == place[group], name
    assert sections[".tq_arena"].size == compiled.plan.arena_bytes
    assert sections[".stack"].size == board.firmware.stack_bytes
    weights = plan_flash(compiled.bound).data_bytes
    assert sections[".tq_weights"].size >= weights  # the arrays the calls use (a kernel may skip some)
    report = image.sizes
    assert report.ram_of(".tq_arena") == compiled.plan.arena_bytes
    assert report.flash_bytes == sum(s.size for s in sections.values() if s.has_contents)
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", str(image.elf)], capture_output=True, text=True,
                           check=True).stdout
    assert re.search(ISA_ATTRIBUTE[board_name], attrs), attrs


@needs_arm_gcc
def test_elf_report_agrees_with_binutils(tmp_path):
    board = get_board("qemu-m0-an385")
    _, root = firmware_project(tmp_path, small_model(), board)
    image = build_firmware(root, board)
    out = subprocess.run(["arm-none-eabi-size", "-A", str(image.elf)], capture_output=True, text=True,
                         check=True).stdout
    theirs = {m[0]: (int(m[1]), int(m[2])) for m in re.findall(r"^(\.\S+)\s+(\d+)\s+(\d+)$", out, re.M)}
    ours = {s.name: (s.size, s.address) for s in read_sections(image.elf)}
    assert ours and all(theirs[name] == value for name, value in ours.items())


@needs_arm_gcc
def test_a_model_that_does_not_fit_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    """The linker's overflow, whole, in one line. The plan now refuses this model first (its 9 KB of I/O
    buffers beside a 9 KB arena); the linker still has the last word on what the plan cannot see (code, a
    benchmark firmware's buffers), so the project is made past the plan's check."""
    board = get_board("qemu-m0")  # 16 KB of SRAM
    monkeypatch.setattr("tinyq.driver.require_fit", lambda *args: None)
    _, root = firmware_project(tmp_path, small_model(depth=9000, units=4, batches=1), board)
    (root / MANIFEST).write_text(json.dumps({
        "name": "fw", "board": board.name, "backend": "reference", "kind": "firmware", "model_file": "fw.tflite",
        "arena_bytes": 0, "tinyq_version": "test"}))
    (root / "fw.tflite").write_bytes(write_model(small_model(depth=9000, units=4, batches=1)))
    with pytest.raises(SystemExit) as exc:
        main(["build", str(root)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert re.search(r"does not fit: .*region `SRAM' overflowed by \d+ bytes", err), err
    assert "not the code beside them" in err  # the plan that passed could not see the code


def generate_project(tmp_path, model_path, board, *extra):
    out = tmp_path / f"{board}-project"
    main(["generate", str(model_path), "-o", str(out), "--board", board, *extra])
    return load_project(out)


def model_file(tmp_path, which):
    if which == "small":
        path = tmp_path / "fw.tflite"
        path.write_bytes(write_model(small_model()))
        return path
    return shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")


def cmake_sources(text):
    return re.findall(r"[\w/]+\.c\b", text)


@needs_arm_gcc
@pytest.mark.parametrize("which", ["small", "kws"])
def test_pico_sdk_project_is_complete(tmp_path, which):
    project = generate_project(tmp_path, model_file(tmp_path, which), "rp2040")
    root = project.root
    assert project.kind == "pico-sdk" and project.model_path.is_file()
    cmake = (root / "CMakeLists.txt").read_text()
    assert "include(pico_sdk_import.cmake)" in cmake and "pico_sdk_init()" in cmake
    assert "pico_add_extra_outputs" in cmake and "target_link_libraries" in cmake
    listed = cmake_sources(cmake)
    model_c = sorted(p.name for p in (root / "model").glob("*.c"))
    assert sorted(p.split("/")[-1] for p in listed if p.startswith("model/")) == model_c
    for rel in listed:
        assert (root / rel).is_file(), rel
    for rel in ("pico_sdk_import.cmake", "firmware/tq_model.h", "firmware/tq_board.h", "firmware/tq_harness.h",
                "README.md"):
        assert (root / rel).is_file(), rel
    readme = (root / "README.md").read_text()
    assert "PICO_SDK_PATH" in readme and "BOOTSEL" in readme and ".uf2" in readme
    _assert_model_and_harness_compile_for_m0plus(tmp_path, root / "model", root / "firmware")


@needs_arm_gcc
@pytest.mark.parametrize("which", ["small", "kws"])
def test_esp_idf_project_is_complete(tmp_path, which):
    project = generate_project(tmp_path, model_file(tmp_path, which), "esp32s3")
    root = project.root
    assert project.kind == "esp-idf"
    assert "project.cmake" in (root / "CMakeLists.txt").read_text()
    assert 'CONFIG_IDF_TARGET="esp32s3"' in (root / "sdkconfig.defaults").read_text()
    assert "dependencies:" in (root / "main/idf_component.yml").read_text()
    component = root / "components" / "tinyq_model"
    for folder in (component, root / "main"):
        cmake = (folder / "CMakeLists.txt").read_text()
        assert "idf_component_register" in cmake
        listed = cmake_sources(cmake)
        assert sorted(listed) == sorted(p.name for p in folder.glob("*.c"))
    assert "tinyq_model" in (root / "main/CMakeLists.txt").read_text()
    readme = (root / "README.md").read_text()
    assert "idf.py" in readme and "esptool" in readme
    _assert_model_and_harness_compile_for_m0plus(tmp_path, component, root / "main")


def _assert_model_and_harness_compile_for_m0plus(tmp_path, model_dir, harness_dir):
    rp2040 = get_board("rp2040")
    sizes = compile_model_objects(model_dir, rp2040, tmp_path / "objects")
    assert "-mcpu=cortex-m0plus" in sizes.cflags
    assert sizes.code > 0 and sizes.constants > 0 and sizes.flash == sizes.code + sizes.constants + sizes.data
    # the SDK-independent half of the harness, with the generated tq_model.h / tq_board.h
    for src in ("tq_harness.c", "tq_console.c", "tq_records_none.c"):
        subprocess.run(["arm-none-eabi-gcc", *sizes.cflags, "-Wall", "-Wextra", "-Werror", "-I", str(model_dir),
                        "-I", str(harness_dir), "-c", str(harness_dir / src), "-o", str(tmp_path / f"{src}.o")],
                       check=True, capture_output=True)


@needs_arm_gcc
@pytest.mark.parametrize("board, variable, message", [
    ("rp2040", "PICO_SDK_PATH", "PICO_SDK_PATH is not set"),
    ("esp32s3", "IDF_PATH", "IDF_PATH is not set"),
])
def test_sdk_build_without_the_sdk_says_what_is_missing(tmp_path, monkeypatch, capsys, board, variable, message):
    monkeypatch.delenv(variable, raising=False)
    project = generate_project(tmp_path, model_file(tmp_path, "small"), board)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["build", str(project.root)])
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1
    if board == "rp2040":  # the model code still builds for the real core, and its size is reported
        assert re.search(r"model fw compiled for cortex-m0plus .*-> flash [\d,]+ B", captured.out)


@needs_arm_gcc
def test_generated_makefile_builds_without_tinyq(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    project = generate_project(tmp_path, model_file(tmp_path, "small"), "qemu-m0-an385")
    subprocess.run(["make", "-s"], cwd=project.root, check=True, capture_output=True)
    elf = project.root / "build" / "qemu-m0-an385" / "firmware.elf"
    assert {".vectors", ".tq_weights", ".tq_arena"} <= {s.name for s in read_sections(elf)}


@needs_arm_gcc
@pytest.mark.parametrize("board", ["qemu-m55", "qemu-m0-an385"])
def test_generated_makefile_links_the_library_like_tinyq_build(tmp_path, board):
    """A CMSIS-NN project builds with plain make (the library compiled from TINYQ_CMSIS_NN_DIR into
    its own archive) into the same image `tinyq build` makes: one flags table for both."""
    if shutil.which("make") is None or not libraries.available("cmsis-nn"):
        pytest.skip("make or the CMSIS-NN snapshot is missing")
    project = generate_project(tmp_path, shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite"), board,
                               "--backend", "cmsis-nn")
    made = subprocess.run(["make", "-s", "-j2"], cwd=project.root, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-2000:]
    by_make = {s.name: s.size for s in read_sections(project.root / "build" / board / "firmware.elf")}
    by_tinyq = {s.name: s.size for s in read_sections(build_firmware(project.root, get_board(board),
                                                                     tmp_path / "tinyq-build").elf)}
    assert by_make == by_tinyq and by_make[".text"] > 0


@pytest.mark.parametrize("board, variable, image", [
    ("rp2040", "PICO_SDK_PATH", "tinyq_fw.uf2"),
    ("esp32s3", "IDF_PATH", "tinyq_fw.bin"),
])
def test_sdk_build_when_the_sdk_is_installed(tmp_path, capsys, board, variable, image):
    import os

    from tinyq.build.sdk import missing_for_sdk

    kind = get_board(board).sdk
    if not os.environ.get(variable) or missing_for_sdk(kind):
        pytest.skip(f"{kind} is not installed here ({variable} unset or incomplete)")
    project = generate_project(tmp_path, model_file(tmp_path, "small"), board)
    main(["build", str(project.root)])
    out = capsys.readouterr().out
    assert f"with {kind}" in out and re.search(r"flash [\d,]+ B, RAM [\d,]+ B \(arena in \.bss", out)
    assert (project.root / "build" / board / image).is_file()
