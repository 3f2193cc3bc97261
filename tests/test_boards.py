"""Boards are data: every boards/*.toml parses, the required boards say what the hardware has,
firmware placements name real regions, and `tinyq boards` lists them."""

import json
import re

import pytest

from tinyq.boards import all_boards, get_board
from tinyq.boards import _parse as parse_board
from tinyq.build.firmware import FIRMWARE_SRC, PLACEMENT_GROUPS, board_files
from tinyq.cli import main
from tinyq.errors import TinyqError

KB = 1024
MB = 1024 * 1024


def memory_total(board, *kinds):
    return sum(m.size for m in board.memory if m.kind in kinds and not m.optional)


def test_every_board_file_parses_with_a_unique_name():
    boards = all_boards()
    names = [b.name for b in boards]
    assert len(names) == len(set(names))
    assert {"host", "rp2040", "esp32s3", "ra8m1", "qemu-m55", "qemu-m0", "qemu-m0-an385"} <= set(names)
    for b in boards:
        assert b.core and b.description and b.default_backend
        for m in b.memory:
            assert m.size > 0, (b.name, m.name)


@pytest.mark.parametrize("name, core, sram, flash, mhz", [
    ("rp2040", "cortex-m0plus", 264 * KB, 2 * MB, 133),
    ("esp32s3", "xtensa-lx7", 512 * KB, 8 * MB, 240),
    ("ra8m1", "cortex-m85", 1 * MB, 2 * MB, 480),
])
def test_real_boards_describe_their_hardware(name, core, sram, flash, mhz):
    b = get_board(name)
    assert b.core == core
    assert memory_total(b, "sram", "dtcm", "itcm") == sram
    assert memory_total(b, "flash", "xip") == flash
    assert b.clock_hz == mhz * 1_000_000
    assert b.runner == "device" and b.flash_method


def test_esp32s3_psram_is_optional_and_sdk_boards_name_their_sdk():
    s3 = get_board("esp32s3")
    psram = [m for m in s3.memory if m.kind == "psram"]
    assert psram and all(m.optional for m in psram)
    assert "esp32s3-simd" in s3.isa_features
    assert s3.sdk == "esp-idf" and get_board("rp2040").sdk == "pico-sdk"


def test_qemu_stand_ins_run_the_real_boards_isa():
    m55 = get_board("qemu-m55")
    assert m55.qemu.machine == "mps3-an547" and m55.stand_in_for == "ra8m1"
    # GCC 12 lacks -mcpu=cortex-m85: the M85 ISA spelled as an -march is the fallback
    assert ("-march=armv8.1-m.main+mve.fp+fp.dp",) in m55.toolchain.cpu_flags
    assert "-mfloat-abi=hard" in m55.toolchain.cflags
    assert get_board("ra8m1").toolchain.cpu_flags == m55.toolchain.cpu_flags
    for name, machine in (("qemu-m0", "microbit"), ("qemu-m0-an385", "mps2-an385")):
        b = get_board(name)
        assert b.qemu.machine == machine and b.stand_in_for == "rp2040"
        assert b.toolchain.cflags == get_board("rp2040").toolchain.cflags  # the same M0+ binary code
    an385 = get_board("qemu-m0-an385")
    assert memory_total(an385, "sram") == memory_total(get_board("rp2040"), "sram")  # fits here -> fits a Pico
    assert get_board("rp2040").qemu_stand_in == "qemu-m0-an385"


@pytest.mark.parametrize("board", [b for b in all_boards() if b.firmware])
def test_firmware_boards_place_every_section_in_a_region_and_have_their_drivers(board):
    fw = board.firmware
    assert set(PLACEMENT_GROUPS) <= set(fw.placement)
    names = {m.name for m in board.memory}
    assert set(fw.placement.values()) <= names
    assert (FIRMWARE_SRC / f"tq_io_{fw.io}.c").is_file()
    assert (FIRMWARE_SRC / f"tq_timer_{fw.timer}.c").is_file()
    assert fw.tick_hz > 0 and fw.stack_bytes >= 1024


def test_linker_script_is_the_board_memory_map():
    b = get_board("qemu-m55")
    files = board_files(b)
    script = files["link.ld"]
    for m in b.memory:
        assert re.search(rf"{m.name.upper()} \(\w+\) : ORIGIN = 0x{m.address:08X}, LENGTH = {m.size}\b", script)
    assert re.search(r"\.tq_weights : ALIGN\(16\)\s*\{[^}]*\}\s*> ITCM", script)
    assert re.search(r"\.tq_arena \(NOLOAD\) : ALIGN\(16\)\s*\{[^}]*\}\s*> DTCM", script)
    assert re.search(r"\.data : ALIGN\(8\)\s*\{[^}]*\}\s*> DTCM AT > ITCM", script)
    assert f"{b.firmware.stack_bytes}" in script
    assert "#define TQ_UART_BASE 0x59303000u" in files["tq_board.h"]
    assert "#define TQ_TICK_HZ 32000000" in files["tq_board.h"]


def test_bad_board_files_are_one_line_errors(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n')  # no core
    with pytest.raises(TinyqError, match="bad board file"):
        parse_board(bad)
    placement = tmp_path / "p.toml"
    placement.write_text(
        'name = "p"\ncore = "cortex-m55"\n[firmware]\nio = "cmsdk_uart"\ntimer = "systick"\ntick_hz = 1\n'
        'placement = { code = "nowhere", weights = "nowhere", data = "nowhere", arena = "nowhere", '
        'stack = "nowhere" }\n[[memory]]\nname = "ram"\nkind = "sram"\nsize = 4096\n')
    with pytest.raises(TinyqError, match="no memory region 'nowhere'"):
        board_files(parse_board(placement))
    with pytest.raises(TinyqError, match="unknown board 'nope'.*tinyq boards"):
        get_board("nope")


def test_boards_command_lists_every_board(capsys):
    main(["boards"])
    table = capsys.readouterr().out
    for b in all_boards():
        assert re.search(rf"^{re.escape(b.name)}\s", table, re.M), b.name
    assert "qemu mps3-an547" in table and "uf2 (pico-sdk), qemu via qemu-m0-an385" in table
    main(["boards", "--format", "json"])
    rows = json.loads(capsys.readouterr().out)
    rp = next(r for r in rows if r["name"] == "rp2040")
    assert rp["ram_bytes"] == 264 * KB and rp["flash_bytes"] == 2 * MB and rp["core"] == "cortex-m0plus"

