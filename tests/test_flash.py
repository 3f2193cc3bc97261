"""`tinyq flash` without hardware: a real firmware ELF becomes a UF2 that parses back to exactly the
bytes objcopy extracts, lands on a (fake) RPI-RP2 drive; esptool gets the ESP-IDF offsets and
really parses the command line; the RA8M1 build gets its pyocd command; the Pico SDK / ESP-IDF
projects are rewired to the benchmark protocol."""

import dataclasses
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from tinyq.boards import get_board
from tinyq.build.project import generated_files, load_project
from tinyq.cli import main
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_file
from tinyq.errors import TinyqError
from tinyq.flash.elfimage import Segment, load_segments
from tinyq.flash.methods import FlashPlan, execute, make_uf2, plan_flash
from tinyq.flash.rp2040 import boot2_crc
from tinyq.flash.uf2 import (BLOCK_BYTES, FLAG_FAMILY_ID, PAGE_BYTES, RP2040_FAMILY_ID, image_of,
                             parse_uf2, write_uf2)
from tinyq.serial.firmware import _project_header, build_dut_firmware, sdk_dut_project
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

needs_arm_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")


def model_file(tmp_path):
    rng = np.random.default_rng(11)
    b = GraphBuilder("flashme")
    x = b.input((1, 64), scale=0.05, zero_point=-3)
    w = b.const(rng.integers(-127, 128, size=(16, 64)), "int8", scale=rng.uniform(0.002, 0.02, 16), zero_point=0,
                axis=0)
    y = b.activation((1, 16), scale=0.1, zero_point=4)
    b.op("fully_connected", [x, w, -1], [y], fused_activation_function="RELU")
    path = tmp_path / "flashme.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


def project(tmp_path, board_name):
    path = model_file(tmp_path)
    board = get_board(board_name)
    compiled = compile_file(path, board)
    return write_output_dir(tmp_path / board_name, generated_files(compiled, board, path))


def rp2040_bare_metal(boot2_object=None):
    """The Cortex-M0+ bare-metal build linked at the RP2040's addresses (XIP flash at 0x10000000).
    With `boot2_object`, its .boot2 section is linked at 0x10000000 and the firmware after it."""
    an385, pico = get_board("qemu-m0-an385"), get_board("rp2040")
    place = {"code": "flash", "weights": "flash", "data": "sram", "arena": "sram", "stack": "sram"}
    memory, toolchain = pico.memory, an385.toolchain
    if boot2_object is not None:
        flash = pico.memory_named("flash")
        memory = tuple(dataclasses.replace(m, address=m.address + 256, size=m.size - 256) if m is flash else m
                       for m in pico.memory)
        toolchain = dataclasses.replace(toolchain, ldflags=(*toolchain.ldflags, str(boot2_object), "-Wl,-u,tq_boot2",
                                                            "-Wl,--section-start=.boot2=0x10000000"))
    return dataclasses.replace(an385, name="rp2040-bare", memory=memory, qemu=None, stand_in_for="", toolchain=toolchain,
                               firmware=dataclasses.replace(an385.firmware, placement=place))


def sdk_boot2_crc(data: bytes) -> int:
    """The Pico SDK's pad_checksum (seed 0xffffffff), through zlib's reflected CRC32: an independent
    formulation of what tinyq.flash.rp2040.boot2_crc computes bit by bit."""
    def bitrev(x, width):
        return int(f"{x:0{width}b}"[::-1], 2)
    return bitrev((zlib.crc32(bytes(bitrev(b, 8) for b in data), 0) ^ 0xFFFFFFFF) & 0xFFFFFFFF, 32)


def boot2_blob(seed=0) -> bytes:
    body = np.random.default_rng(seed).bytes(252)
    return body + struct.pack("<I", sdk_boot2_crc(body))


@pytest.fixture(scope="module")
def m0_project(tmp_path_factory):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs arm-none-eabi-gcc")
    return project(tmp_path_factory.mktemp("m0"), "qemu-m0-an385")


@pytest.fixture(scope="module")
def pico_elf_without_boot2(m0_project, tmp_path_factory):
    elf = build_dut_firmware(m0_project, rp2040_bare_metal()).elf
    return Path(shutil.copy(elf, tmp_path_factory.mktemp("noboot2") / "firmware.elf"))


@pytest.fixture(scope="module")
def pico_elf(m0_project, tmp_path_factory):
    """The project's firmware with a boot2 stage first in flash, as the Pico SDK links it."""
    work = tmp_path_factory.mktemp("boot2")
    source = work / "boot2.S"
    lines = [".section .boot2, \"ax\"", ".global tq_boot2", "tq_boot2:"]
    lines += [".byte " + ", ".join(f"0x{b:02x}" for b in boot2_blob()[i:i + 16]) for i in range(0, 256, 16)]
    source.write_text("\n".join(lines) + "\n")
    obj = work / "boot2.o"
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb", "-c", str(source), "-o", str(obj)],
                   check=True)
    elf = build_dut_firmware(m0_project, rp2040_bare_metal(obj)).elf
    return Path(shutil.copy(elf, work / "firmware.elf"))


def flat_image(blocks):
    base = min(b.target for b in blocks)
    out = bytearray(max(b.target + len(b.payload) for b in blocks) - base)
    for b in blocks:
        out[b.target - base:b.target - base + len(b.payload)] = b.payload
    return base, bytes(out)


def test_boot2_crc_is_the_pico_sdk_checksum():
    assert boot2_crc(b"123456789") == 0x0376E6E7  # CRC-32/MPEG-2's check value
    rng = np.random.default_rng(4)
    for n in (0, 1, 7, 252):
        data = rng.bytes(n)
        assert boot2_crc(data) == sdk_boot2_crc(data)


@needs_arm_gcc
def test_uf2_of_a_real_firmware_parses_back_to_the_elf_bytes(pico_elf, tmp_path):
    uf2 = make_uf2(pico_elf, get_board("rp2040"), tmp_path / "fw.uf2")
    data = uf2.read_bytes()
    blocks = parse_uf2(data)
    assert len(data) == BLOCK_BYTES * len(blocks)
    assert [b.block_no for b in blocks] == list(range(len(blocks)))
    assert {b.num_blocks for b in blocks} == {len(blocks)}
    assert {b.family_id for b in blocks} == {RP2040_FAMILY_ID} and all(b.flags & FLAG_FAMILY_ID for b in blocks)
    assert all(b.target % PAGE_BYTES == 0 and len(b.payload) == PAGE_BYTES for b in blocks)
    # The UF2 carries exactly what objcopy extracts (boot2, vectors, code, weights, .data's initial values).
    flat = tmp_path / "fw.bin"
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(pico_elf), str(flat)], check=True)
    base, image = flat_image(blocks)
    expected = flat.read_bytes()
    assert base == 0x10000000 and image[:256] == boot2_blob()
    assert image[:len(expected)] == expected and not any(image[len(expected):])
    assert image_of(blocks)[0].address == 0x10000000


@needs_arm_gcc
def test_an_rp2040_image_without_a_valid_boot2_is_refused(pico_elf, pico_elf_without_boot2, tmp_path, capsys):
    board = get_board("rp2040")
    with pytest.raises(TinyqError, match=r"the 256 bytes at 0x10000000 are not a boot2 stage \(their CRC32 is 0x"):
        # the bare-metal build puts its vector table at 0x10000000: the ROM would take it for boot2
        make_uf2(pico_elf_without_boot2, board, tmp_path / "a.uf2")
    # one flipped bit in boot2: the ROM's CRC check fails
    data = bytearray(pico_elf.read_bytes())
    at = data.find(boot2_blob())
    data[at + 100] ^= 0x10
    broken = tmp_path / "broken.elf"
    broken.write_bytes(bytes(data))
    with pytest.raises(TinyqError, match=r"the 256 bytes at 0x10000000 are not a boot2 stage \(their CRC32 is 0x"):
        make_uf2(broken, board, tmp_path / "b.uf2")
    assert not (tmp_path / "a.uf2").exists() and not (tmp_path / "b.uf2").exists()  # nothing half-written
    with pytest.raises(SystemExit) as exit_info:
        main(["flash", "--board", "rp2040", "--image", str(pico_elf_without_boot2), "--dry-run"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("tinyq: error:") and "are not a boot2 stage" in err


def test_a_uf2_for_another_family_or_page_size_is_refused(tmp_path):
    board = get_board("rp2040")
    image = [Segment(0x10000000, boot2_blob() + bytes(range(256)) * 3)]

    def refused(data, pattern):
        path = tmp_path / "x.uf2"
        path.write_bytes(data)
        with pytest.raises(TinyqError, match=pattern):
            plan_flash(path, board, str(tmp_path))

    good = write_uf2(image, RP2040_FAMILY_ID)
    refused(write_uf2(image, 0x68ED2B88), r"block 0 has family id 0x68ed2b88, the RP2040 takes 0xe48bff56")
    no_family = bytearray(good)
    struct.pack_into("<I", no_family, 8, 0)  # flags: no family id
    refused(bytes(no_family), "block 0 has no family id")
    odd_page = bytearray(good)
    struct.pack_into("<I", odd_page, 16, 128)  # payload size
    refused(bytes(odd_page), r"block 0 writes 128 bytes at 0x10000000; the RP2040 boot ROM takes 256-byte pages")
    refused(write_uf2([Segment(0x10000000, bytes(range(256)) * 4)]), "are not a boot2 stage")
    refused(write_uf2([Segment(0x10000100, bytes(range(256)) * 4)]),
            r"no boot2 stage: the image starts at 0x10000100, not with 256 bytes at 0x10000000")
    # the good one plans; a RAM-only image needs no boot2
    (tmp_path / "x.uf2").write_bytes(good)
    assert plan_flash(tmp_path / "x.uf2", board, str(tmp_path)).drive == tmp_path
    ram = tmp_path / "ram.uf2"
    ram.write_bytes(write_uf2([Segment(0x20000000, bytes(1024))]))
    assert plan_flash(ram, board, None).artifact == ram


@pytest.mark.slow
def test_the_pico_sdk_build_of_a_project_passes_the_boot2_check(tmp_path, capsys, monkeypatch):
    """The real thing: the project's benchmark firmware built by the Pico SDK starts with the SDK's
    checksummed boot2 (byte for byte what its pad_checksum wrote), which the check accepts."""
    sdk = os.environ.get("PICO_SDK_PATH")
    if not sdk or shutil.which("cmake") is None or shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("needs the Pico SDK (PICO_SDK_PATH), cmake and arm-none-eabi-gcc")
    root = project(tmp_path, "rp2040")
    proj, board = load_project(root), get_board("rp2040")
    header, _, _ = _project_header(proj, board, None)
    source = sdk_dut_project(proj, board, proj.kind, header)
    out = tmp_path / "sdk-build"
    # PICO_NO_PICOTOOL: tinyq makes the UF2 itself, so the build needs no picotool
    for cmd in (["cmake", "-S", str(source), "-B", str(out), "-DCMAKE_BUILD_TYPE=Release", "-DPICO_NO_PICOTOOL=1"],
                ["cmake", "--build", str(out), "-j2"]):
        subprocess.run(cmd, check=True, capture_output=True)
    elf = out / f"tinyq_{proj.name}.elf"
    padded = next(out.rglob("bs2_default_padded_checksummed.S")).read_text()
    sdk_boot2 = bytes(int(x, 16) for line in padded.splitlines() if line.startswith(".byte")
                      for x in line[5:].split(","))
    assert len(sdk_boot2) == 256 and boot2_crc(sdk_boot2[:252]) == struct.unpack("<I", sdk_boot2[252:])[0]
    monkeypatch.setattr("tinyq.flash.methods.find_uf2_drive", lambda: None)
    main(["flash", "--board", "rp2040", "--image", str(elf), "--dry-run"])
    assert capsys.readouterr().out.startswith(f"would run: copy {elf.with_suffix('.uf2')} to ")
    blocks = parse_uf2(elf.with_suffix(".uf2").read_bytes())
    assert blocks[0].target == 0x10000000 and blocks[0].payload == sdk_boot2
    data = bytearray(elf.read_bytes())
    data[data.find(sdk_boot2) + 7] ^= 1
    broken = tmp_path / "broken.elf"
    broken.write_bytes(bytes(data))
    with pytest.raises(TinyqError, match="are not a boot2 stage"):
        make_uf2(broken, board, tmp_path / "broken.uf2")


@needs_arm_gcc
def test_flash_copies_the_uf2_onto_the_boot_drive(pico_elf, tmp_path, capsys):
    drive = tmp_path / "RPI-RP2"
    drive.mkdir()
    (drive / "INFO_UF2.TXT").write_text("UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n")
    main(["flash", "--board", "rp2040", "--image", str(pico_elf), "--drive", str(drive)])
    out = capsys.readouterr().out
    assert "flashed rp2040" in out
    copied = drive / pico_elf.with_suffix(".uf2").name
    assert parse_uf2(copied.read_bytes())[0].target == 0x10000000
    # --port names something that is not a boot drive: refused when flashing, fine for a dry run
    empty = tmp_path / "not-a-drive"
    empty.mkdir()
    with pytest.raises(TinyqError, match="not a UF2 boot drive"):
        execute(plan_flash(pico_elf, get_board("rp2040"), str(empty)))


@needs_arm_gcc
def test_dry_run_needs_no_drive_and_flashing_without_one_says_bootsel(pico_elf, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("tinyq.flash.methods.find_uf2_drive", lambda: None)  # whatever this machine has mounted
    monkeypatch.setenv("PATH", str(tmp_path))  # and no picotool
    main(["flash", "--board", "rp2040", "--image", str(pico_elf), "--dry-run"])
    out = capsys.readouterr().out
    uf2 = pico_elf.with_suffix(".uf2")
    assert out == f"would run: copy {uf2} to the RPI-RP2 drive (none is mounted now: hold BOOTSEL while plugging " \
                  "the Pico in; it mounts as RPI-RP2)\n"
    assert parse_uf2(uf2.read_bytes())[0].target == 0x10000000
    main(["flash", "--board", "rp2040", "--image", str(pico_elf), "--dry-run", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report == {"board": "rp2040", "method": "uf2", "artifact": str(uf2), "action": out[len("would run: "):-1],
                      "dry_run": True, "flashed": False, "next": "tinyq bench --port /dev/ttyACM0 --model MODEL.tflite"}
    with pytest.raises(SystemExit) as refused:
        main(["flash", "--board", "rp2040", "--image", str(pico_elf), "--dry-run", "--json", "--monitor"])
    assert refused.value.code == 2 and "does not mix with --format json" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["flash", "--board", "rp2040", "--image", str(pico_elf)])
    captured = capsys.readouterr()
    assert exit_info.value.code == 2 and captured.out == ""
    assert captured.err.startswith("tinyq: error: rp2040: no RPI-RP2 drive mounted and no picotool on PATH (hold "
                                   "BOOTSEL while plugging the Pico in")


def esp_idf_build_dir(tmp_path):
    """What `idf.py build` leaves for flashing (ESP-IDF 5.x layout)."""
    build = tmp_path / "build" / "esp32s3"
    (build / "bootloader").mkdir(parents=True)
    (build / "partition_table").mkdir()
    rng = np.random.default_rng(5)
    (build / "bootloader" / "bootloader.bin").write_bytes(rng.bytes(3000))
    (build / "partition_table" / "partition-table.bin").write_bytes(rng.bytes(3072))
    (build / "tinyq_m.bin").write_bytes(rng.bytes(9000))
    spec = {
        "write_flash_args": ["--flash_mode", "dio", "--flash_size", "8MB", "--flash_freq", "80m"],
        "flash_settings": {"flash_mode": "dio", "flash_size": "8MB", "flash_freq": "80m"},
        "flash_files": {"0x10000": "tinyq_m.bin", "0x0": "bootloader/bootloader.bin",
                        "0x8000": "partition_table/partition-table.bin"},
        "extra_esptool_args": {"after": "hard_reset", "before": "default_reset", "stub": True, "chip": "esp32s3"},
    }
    (build / "flasher_args.json").write_text(json.dumps(spec, indent=4))
    return build


def test_esptool_command_line_for_an_esp_idf_build(tmp_path):
    build = esp_idf_build_dir(tmp_path)
    plan = plan_flash(build, get_board("esp32s3"), "/dev/ttyUSB7")
    assert plan.method == "esptool" and plan.artifact == build / "flasher_args.json"
    assert plan.argv == ("--chip", "esp32s3", "--port", "/dev/ttyUSB7", "--baud", "460800",
                         "--before", "default-reset", "--after", "hard-reset", "write-flash",
                         "--flash-mode", "dio", "--flash-size", "8MB", "--flash-freq", "80m",
                         "0x0", str(build / "bootloader" / "bootloader.bin"),
                         "0x8000", str(build / "partition_table" / "partition-table.bin"),
                         "0x10000", str(build / "tinyq_m.bin"))


def test_esptool_accepts_the_command_line_and_a_missing_port_is_one_line(tmp_path):
    pytest.importorskip("esptool")
    build = esp_idf_build_dir(tmp_path)
    plan = plan_flash(build, get_board("esp32s3"), str(tmp_path / "ttyUSB-missing"))
    with pytest.raises(TinyqError) as err:
        execute(plan)  # esptool parses everything, then fails to open the port
    text = str(err.value)
    assert "esptool failed" in text and "ttyUSB-missing" in text and "\n" not in text


def test_esptool_merged_image_round_trip(tmp_path):
    esptool = pytest.importorskip("esptool")
    build = esp_idf_build_dir(tmp_path)
    merged = tmp_path / "merged.bin"
    files = json.loads((build / "flasher_args.json").read_text())["flash_files"]
    args = ["--chip", "esp32s3", "merge-bin", "-o", str(merged)]
    for offset, rel in sorted(files.items(), key=lambda kv: int(kv[0], 16)):
        args += [offset, str(build / rel)]
    esptool.main(args)
    data = merged.read_bytes()
    for offset, rel in files.items():
        content = (build / rel).read_bytes()
        assert data[int(offset, 16):int(offset, 16) + len(content)] == content
    plan = plan_flash(merged, get_board("esp32s3"), None)
    assert plan.argv[-3:] == ("write-flash", "0x0", str(merged)) and "--port" not in plan.argv


@needs_arm_gcc
def test_ra8m1_builds_the_benchmark_elf_and_the_pyocd_command(tmp_path, capsys, monkeypatch):
    root = project(tmp_path, "ra8m1")
    main(["flash", str(root), "--board", "ra8m1", "--probe", "000440112138", "--dry-run", "--monitor"])
    out = capsys.readouterr().out
    elf = root / "build" / "ra8m1-dut" / "firmware.elf"
    assert f"would run: pyocd load --target r7fa8m1ah --uid 000440112138 {elf}" in out
    assert "then: tinyq monitor --port /dev/ttyACM0" in out
    # the old --port still works for a while, naming the option it now is
    main(["flash", str(root), "--board", "ra8m1", "--port", "000440112138", "--dry-run"])
    captured = capsys.readouterr()
    assert f"--uid 000440112138 {elf}" in captured.out
    assert "flash --port is deprecated; for ra8m1 it means --probe 000440112138" in captured.err
    flash = get_board("ra8m1").memory_named("flash")
    segments = load_segments(elf)
    assert all(flash.address <= s.address < flash.address + flash.size for s in segments)
    monkeypatch.setattr(shutil, "which", lambda name, path=None: None)
    with pytest.raises(TinyqError, match="pyocd is not installed"):
        execute(FlashPlan("pyocd", "ra8m1", elf, argv=("pyocd", "load", str(elf))))


@needs_arm_gcc
def test_pyocd_without_a_probe_gives_up_at_the_timeout_in_its_own_words(tmp_path, capsys):
    """pyocd waits for ever for a probe; tinyq gives up after --timeout and quotes pyocd."""
    from test_orphans import children_named
    from tinyq.flash.methods import tool_path

    if tool_path("pyocd") is None:
        pytest.skip("needs pyocd (pip install 'tinyq[pyocd]')")
    root = project(tmp_path, "ra8m1")
    main(["flash", str(root), "--board", "ra8m1", "--dry-run"])
    capsys.readouterr()
    elf = root / "build" / "ra8m1-dut" / "firmware.elf"
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        main(["flash", "--board", "ra8m1", "--image", str(elf), "--timeout", "8"])
    took = time.monotonic() - start
    captured = capsys.readouterr()
    if exit_info.value.code == 0 or "No target device available" in captured.err:
        pytest.skip("a debug probe is attached to this machine")
    assert exit_info.value.code == 2 and captured.out.startswith("running: pyocd load --target r7fa8m1ah")
    # pyocd needs a few seconds to start on a loaded machine before it says what it waits for
    assert captured.err.startswith("tinyq: error: pyocd load did not finish within 8 s: Waiting for a debug probe")
    assert captured.err.count("\n") == 1 and "--timeout S waits longer" in captured.err
    assert 8 <= took < 8 + 10
    assert not children_named(os.getpid(), "pyocd")  # killed, not left waiting


def test_qemu_boards_are_not_flashed(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["flash", "--board", "qemu-m55", "--image", str(model_file(tmp_path))])
    assert exit_info.value.code == 2
    assert "QEMU boards are not flashed (boot the firmware with: tinyq qemu DIR" in capsys.readouterr().err


@pytest.mark.parametrize("board_name,folder,cmake", [("rp2040", "firmware", "CMakeLists.txt"),
                                                      ("esp32s3", "main", "main/CMakeLists.txt")])
def test_sdk_projects_are_rewired_to_the_benchmark_protocol(tmp_path, board_name, folder, cmake):
    root = project(tmp_path, board_name)
    proj, board = load_project(root), get_board(board_name)
    header, digest, code = _project_header(proj, board, None)
    dest = sdk_dut_project(proj, board, proj.kind, header)
    text = (dest / cmake).read_text()
    assert "tq_dut.c" in text and "tq_main_dut.c" in text and "tq_harness.c" not in text
    assert f'"{digest}"' in (dest / folder / "tq_dut_model.h").read_text()
    # The protocol compiles against the SDK project's own board and model headers.
    model_dir = dest / ("model" if board_name == "rp2040" else "components/tinyq_model")
    cc = ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus", "-mthumb"] if board_name == "rp2040" else ["cc"]
    if shutil.which(cc[0]) is None:
        pytest.skip(f"needs {cc[0]}")
    for src in ("tq_dut.c", "tq_main_dut.c"):
        subprocess.run([*cc, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-c", str(dest / folder / src),
                        "-I", str(dest / folder), "-I", str(model_dir), "-o", str(tmp_path / (src + ".o"))],
                       check=True, capture_output=True)


def test_sdk_flash_without_the_sdk_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("PICO_SDK_PATH", raising=False)
    root = project(tmp_path, "rp2040")
    with pytest.raises(TinyqError, match="PICO_SDK_PATH is not set"):
        build_dut_firmware(root, get_board("rp2040"))
