"""The EK-RA8M1 firmware (console on SCI9 = the J-Link virtual COM port, clocks to 480 MHz, DWT
cycle counts) cannot run here: no emulator models the RA8M1. What is checked is what can be:
it builds with -Werror for the M85, the console driver brings the clocks up before anything
else, the baud-rate divisor the driver computes is within UART tolerance at the board's SCI
clock, and the sections sit in the RA8M1's memories."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from test_api import _int8_model
from tinyq.boards import get_board
from tinyq.build.elf import size_report

pytestmark = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is absent")


def test_ra8m1_firmware_console_clock_and_layout(tmp_path):
    model = tmp_path / "ra_cnn.tflite"
    model.write_bytes(_int8_model(seed=2))
    run = [sys.executable, "-m", "tinyq"]
    assert subprocess.run([*run, "generate", str(model), "-o", str(tmp_path / "p"), "--board", "ra8m1"],
                          capture_output=True, timeout=300).returncode == 0
    built = subprocess.run([*run, "build", str(tmp_path / "p")], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    elf = tmp_path / "p" / "build" / "ra8m1" / "firmware.elf"
    board = get_board("ra8m1")
    fw = board.firmware
    assert fw.io == "ra_sci" and fw.clock == "ra8m1" and fw.timer == "dwt" and fw.tick_hz == board.clock_hz

    # tq_io_init calls tq_clock_init before it touches the SCI
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", str(elf)], capture_output=True,
                         text=True).stdout
    io_init = dis.split("<tq_io_init>:", 1)[1].split("\n\n", 1)[0]
    first_call = re.search(r"\bbl\s+[0-9a-f]+ <(\w+)>", io_init)
    assert first_call and first_call.group(1) == "tq_clock_init"
    assert "<tq_clock_init>:" in dis and "<tq_timer_init>:" in dis

    # the divisor the driver computes (BGDM = 1) and the baud rate it gives
    uart = fw.uart
    brr = (uart["clock_hz"] + 8 * uart["baud"]) // (16 * uart["baud"]) - 1
    actual = uart["clock_hz"] / (16 * (brr + 1))
    assert 0 <= brr <= 255 and abs(actual / uart["baud"] - 1) < 0.01

    sizes = size_report(elf, board)
    regions = {p.section.name: p.region for p in sizes.sections}
    assert regions[".text"] == "flash" and regions[".tq_arena"] == "sram" and regions[".stack"] == "dtcm"
