"""`tinyq flash`: put the benchmark firmware on a board, by the board's flash_method.

- uf2 (RP2040): the ELF becomes a UF2 (family 0xe48bff56) copied onto the
  RPI-RP2 boot drive, or loaded with `picotool` when no drive is mounted;
- esptool (ESP32-S3): esptool 5's `write-flash` with the offsets ESP-IDF wrote in
  flasher_args.json (or one merged image at 0x0), through esptool's Python entry;
- pyocd (EK-RA8M1 and other CMSIS-DAP / J-Link boards): `pyocd load` of the ELF.

Each method first makes a FlashPlan (artifact, command line, target drive)
that `--dry-run` prints; planning never needs hardware (a missing boot drive or
probe is an error of `execute` only), and tests check plans and artifacts
without it. RP2040 images are checked for what the boot ROM needs (boot2, the
UF2 family) before anything is copied. External tools run as children that die
with tinyq, within `--timeout` seconds (pyocd waits for ever for a probe).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tinyq import proc as child
from tinyq.boards import Board
from tinyq.errors import TinyqError
from tinyq.flash.elfimage import load_segments
from tinyq.flash.rp2040 import check_boot2, check_uf2_blocks
from tinyq.flash.uf2 import RP2040_FAMILY_ID, check_ranges, parse_uf2, write_uf2

UF2_DRIVE_LABEL = "RPI-RP2"
ESPTOOL_BAUD = "460800"
FLASH_TIMEOUT_S = 60.0  # what a flash tool may take, waiting for its probe or board included
BOOTSEL_HINT = f"hold BOOTSEL while plugging the Pico in; it mounts as {UF2_DRIVE_LABEL}"


@dataclass(frozen=True)
class FlashPlan:
    method: str
    board: str
    artifact: Path  # what gets written: .uf2, .elf, flasher_args.json or a merged .bin
    argv: tuple[str, ...] = ()  # the command line (esptool's argv without the program name)
    drive: Path | None = None  # UF2: the boot drive the file is copied to

    def describe(self) -> str:
        if self.drive is not None:
            return f"copy {self.artifact} to {self.drive}"
        if self.method == "uf2" and not self.argv:
            return f"copy {self.artifact} to the {UF2_DRIVE_LABEL} drive (none is mounted now: {BOOTSEL_HINT})"
        prog = "esptool" if self.method == "esptool" else ""
        return " ".join(([prog] if prog else []) + list(self.argv))


# --- RP2040: UF2 ------------------------------------------------------------------------------


def rp2040_ranges(board: Board) -> list[tuple[int, int, str]]:
    """Where a UF2 for the boot ROM may write: the XIP flash (and SRAM, for RAM-only images)."""
    return [(m.address, m.size, m.name) for m in board.memory if m.kind in ("xip", "flash", "sram")]


def make_uf2(elf: Path, board: Board, out: Path) -> Path:
    segments = load_segments(elf)
    check_ranges(segments, rp2040_ranges(board), f"the {board.name} memory map")
    check_boot2(segments, str(elf))
    data = write_uf2(segments, RP2040_FAMILY_ID)
    check_uf2_blocks(parse_uf2(data), str(out))  # what we write must read back as the ROM reads it
    out.write_bytes(data)
    return out


def check_uf2(path: Path, board: Board) -> None:
    """A prebuilt UF2: the RP2040 family, pages the ROM takes, inside the memory map, boot2 first."""
    segments = check_uf2_blocks(parse_uf2(path.read_bytes()), str(path))
    check_ranges(segments, rp2040_ranges(board), f"the {board.name} memory map")
    check_boot2(segments, str(path))


def is_uf2_drive(path: Path) -> bool:
    return (path / "INFO_UF2.TXT").is_file()


def find_uf2_drive() -> Path | None:
    """The mounted RPI-RP2 boot drive (BOOTSEL held at plug-in), or None."""
    user = os.environ.get("USER", "")
    candidates = [Path("/media") / user / UF2_DRIVE_LABEL, Path("/run/media") / user / UF2_DRIVE_LABEL,
                  Path("/media") / UF2_DRIVE_LABEL, Path("/Volumes") / UF2_DRIVE_LABEL]
    candidates += [Path(f"{letter}:/") for letter in "DEFGHIJKLMNOPQRSTUVWXYZ"] if sys.platform == "win32" else []
    for path in candidates:
        info = path / "INFO_UF2.TXT"
        if info.is_file() and UF2_DRIVE_LABEL in info.read_text(errors="replace"):
            return path
    return None


def uf2_plan(image: Path, board: Board, port: str | None) -> FlashPlan:
    """Where the UF2 goes: the drive named by --port, a mounted RPI-RP2, picotool, or (none of them
    now) the drive to be mounted: `execute` then says how."""
    if image.suffix == ".uf2":
        check_uf2(image, board)
        uf2 = image
    else:
        uf2 = make_uf2(image, board, image.with_suffix(".uf2"))
    drive = Path(port) if port else find_uf2_drive()
    if drive is not None:
        return FlashPlan("uf2", board.name, uf2, drive=drive)
    if tool_path("picotool"):
        return FlashPlan("uf2", board.name, uf2, argv=("picotool", "load", "-v", "-x", "-f", str(uf2)))
    return FlashPlan("uf2", board.name, uf2)


def require_target(plan: FlashPlan) -> None:
    """The drive or tool a plan writes with is there now; else a one-line error saying how to get it."""
    if plan.method != "uf2" or plan.argv:
        return
    if plan.drive is None:
        raise TinyqError(f"no {UF2_DRIVE_LABEL} drive mounted and no picotool on PATH", where=plan.board,
                         hint=f"{BOOTSEL_HINT} (or pass --port /path/to/{UF2_DRIVE_LABEL}); the UF2 is {plan.artifact}")
    if not is_uf2_drive(plan.drive):
        raise TinyqError("not a UF2 boot drive (no INFO_UF2.TXT)", where=str(plan.drive), hint=BOOTSEL_HINT)


def copy_to_drive(uf2: Path, drive: Path) -> None:
    dest = drive / uf2.name
    with open(uf2, "rb") as src, open(dest, "wb") as dst:
        shutil.copyfileobj(src, dst)
        dst.flush()
        os.fsync(dst.fileno())  # the boot ROM reboots when the last block lands: write it all now


# --- ESP32-S3: esptool ------------------------------------------------------------------------


def esptool_argv(image: Path, chip: str, port: str | None, baud: str = ESPTOOL_BAUD) -> tuple[tuple[str, ...], Path]:
    """esptool 5 arguments for an ESP-IDF build directory (flasher_args.json) or a merged .bin at 0x0."""
    head = ["--chip", chip] + (["--port", port] if port else []) + ["--baud", baud]
    if image.is_dir():
        args_file = image / "flasher_args.json"
        if not args_file.is_file():
            raise TinyqError("no flasher_args.json (not an ESP-IDF build directory)", where=str(image),
                             hint="build with `tinyq build DIR --board esp32s3`, or pass a merged .bin")
        spec = json.loads(args_file.read_text())
        extra = spec.get("extra_esptool_args", {})
        head = ["--chip", extra.get("chip", chip)] + head[2:]
        head += ["--before", _dashed(extra.get("before", "default_reset")),
                 "--after", _dashed(extra.get("after", "hard_reset"))]
        if extra.get("stub") is False:
            head.append("--no-stub")
        files = sorted(spec["flash_files"].items(), key=lambda kv: int(kv[0], 16))
        for _, rel in files:
            if not (image / rel).is_file():
                raise TinyqError(f"flasher_args.json names {rel}, which is missing", where=str(image))
        body = [_dashed(a) if a.startswith("--") else a for a in spec.get("write_flash_args", [])]
        body += [x for offset, rel in files for x in (offset, str(image / rel))]
        return tuple(head + ["write-flash"] + body), args_file
    if image.suffix != ".bin":
        raise TinyqError("esptool flashes an ESP-IDF build directory or a merged .bin", where=str(image))
    return tuple(head + ["--before", "default-reset", "--after", "hard-reset", "write-flash", "0x0", str(image)]), image


def _dashed(text: str) -> str:
    return text.replace("_", "-")


def run_esptool(argv: tuple[str, ...]) -> None:
    """esptool's own entry point, in this process; its failures become one-line errors."""
    try:
        import esptool
    except ImportError:
        raise TinyqError("esptool is not installed", hint="pip install 'esptool>=5,<6'") from None
    import serial

    try:
        esptool.main(list(argv))
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise TinyqError(f"esptool exited with status {exc.code}", hint="see its messages above") from None
    except (esptool.FatalError, serial.SerialException, OSError) as exc:
        text = " ".join(str(exc).split())
        raise TinyqError(f"esptool failed: {text[:240]}",
                         hint="check --port and hold BOOT while pressing RESET if the chip does not answer") from None


# --- CMSIS-DAP / J-Link: pyocd -----------------------------------------------------------------


def pyocd_plan(image: Path, board: Board, port: str | None) -> FlashPlan:
    target = board.extra.get("pyocd_target")
    if not target:
        raise TinyqError("board has no pyocd_target", where=f"boards/{board.name}.toml")
    argv = ["pyocd", "load", "--target", str(target)] + (["--uid", port] if port else []) + [str(image)]
    return FlashPlan("pyocd", board.name, image, argv=tuple(argv))


def tool_path(name: str) -> str | None:
    """A flash tool: beside this Python first (pyocd installed into tinyq's virtualenv), then on PATH."""
    here = str(Path(sys.executable).parent)
    return shutil.which(name, path=os.pathsep.join([here, os.environ.get("PATH", "")]))


def run_command(argv: tuple[str, ...], what: str, hint: str, timeout: float = FLASH_TIMEOUT_S,
                install: str | None = None) -> None:
    """Run a flash tool within `timeout` seconds; its own last words become the error."""
    tool = tool_path(argv[0])
    if tool is None:
        raise TinyqError(f"{argv[0]} is not installed", hint=install or hint)
    try:
        proc = child.run([tool, *argv[1:]], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        said = _last_line(exc.stderr, exc.output)
        raise TinyqError(f"{what} did not finish within {timeout:g} s" + (f": {said}" if said else " (it printed "
                         "nothing)"), hint=f"--timeout S waits longer; {hint}") from None
    if proc.returncode != 0:
        raise TinyqError(f"{what} failed: {_last_line(proc.stderr, proc.stdout) or 'no output'}", hint=hint)


def _last_line(*streams: str | bytes | None) -> str:
    """The last non-empty line a tool printed (stderr first: that is where tools explain)."""
    for text in streams:
        if isinstance(text, bytes):
            text = text.decode(errors="replace")
        lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
        if lines:
            return lines[-1][:200]
    return ""


# --- entry -----------------------------------------------------------------------------------


def plan_flash(image: Path, board: Board, port: str | None) -> FlashPlan:
    method = board.flash_method
    if method == "uf2":
        return uf2_plan(image, board, port)
    if method == "esptool":
        argv, artifact = esptool_argv(image, board.name, port)
        return FlashPlan("esptool", board.name, artifact, argv=argv)
    if method == "pyocd":
        return pyocd_plan(image, board, port)
    if method == "qemu":
        raise TinyqError("QEMU boards are not flashed", where=board.name,
                         hint="boot the firmware with: tinyq qemu DIR --serial tcp:PORT")
    raise TinyqError(f"no way to flash this board (flash_method '{method}')", where=f"boards/{board.name}.toml",
                     hint="uf2, esptool or pyocd")


def execute(plan: FlashPlan, timeout: float = FLASH_TIMEOUT_S) -> None:
    require_target(plan)
    if plan.method == "uf2" and plan.drive is not None:
        copy_to_drive(plan.artifact, plan.drive)
    elif plan.method == "uf2":
        run_command(plan.argv, "picotool", "hold BOOTSEL while plugging the Pico in, then retry", timeout)
    elif plan.method == "esptool":
        run_esptool(plan.argv)
    elif plan.method == "pyocd":
        run_command(plan.argv, "pyocd load", "connect the board's debug USB port; --port takes a probe id from "
                    "`pyocd list`", timeout, install="pip install 'tinyq[pyocd]'; for the RA8M1 also "
                    "`pyocd pack install r7fa8m1ah`")
