"""Boards are data: one TOML file per board in boards/, read into a Board."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tinyq.errors import TinyqError
from tinyq.resources import boards_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BOARDS_DIR = boards_dir()


@dataclass(frozen=True)
class Memory:
    name: str
    kind: str  # "sram", "dtcm", "itcm", "flash", "psram", "xip"
    address: int
    size: int
    optional: bool = False  # fitted on some variants only (PSRAM)


@dataclass(frozen=True)
class Toolchain:
    cc: str = "cc"
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()
    # Alternatives for the CPU selection, best first; a build uses the first
    # one its compiler accepts (GCC 12 lacks -mcpu=cortex-m85, GCC 13 has it).
    cpu_flags: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Qemu:
    machine: str  # qemu-system-arm -M
    icount_shift: int = 0  # -icount shift=N: 2**N ns of virtual time per instruction


@dataclass(frozen=True)
class Firmware:
    """How tinyq's bare-metal harness is put together for a board."""

    io: str  # firmware/tq_io_<io>.c: cmsdk_uart, nrf51_uart, semihost
    timer: str  # firmware/tq_timer_<timer>.c: systick, dwt
    tick_hz: int  # rate of the timer's ticks
    placement: dict  # section group (code, weights, data, arena, stack) -> memory name
    uart_base: int = 0
    uart_bauddiv: int = 16
    stack_bytes: int = 8192
    clock: str = ""  # firmware/tq_clock_<clock>.c brings the core to clock_hz ("": the reset clock is it)
    uart: dict = field(default_factory=dict)  # io drivers' own settings (baud, channel, pins), into tq_board.h


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    core: str
    isa_features: tuple[str, ...]
    clock_hz: int
    default_backend: str
    runner: str  # "host", "qemu", "device"
    toolchain: Toolchain
    memory: tuple[Memory, ...]
    extra: dict = field(default_factory=dict)  # board-specific keys (qemu machine, flash method, sdk)
    qemu: Qemu | None = None  # set on boards that are a QEMU machine
    firmware: Firmware | None = None  # set on boards tinyq builds bare-metal firmware for
    flash_method: str = ""  # uf2, esptool, pyocd, qemu
    sdk: str = ""  # vendor SDK the firmware is built with: pico-sdk, esp-idf
    qemu_stand_in: str = ""  # QEMU board that runs this board's build (same ISA)
    stand_in_for: str = ""  # on QEMU boards: the real board they stand in for

    def memories(self, *kinds: str) -> list[Memory]:
        return [m for m in self.memory if m.kind in kinds]

    def memory_named(self, name: str) -> Memory:
        for m in self.memory:
            if m.name == name:
                return m
        raise TinyqError(f"no memory region '{name}'", where=f"board {self.name}",
                         hint=f"regions: {', '.join(m.name for m in self.memory)}")


_KNOWN = {"name", "description", "core", "isa_features", "clock_hz", "default_backend", "runner",
          "toolchain", "memory", "qemu", "firmware", "flash_method", "sdk", "qemu_stand_in", "stand_in_for"}


def _firmware(data: dict | None) -> Firmware | None:
    if data is None:
        return None
    return Firmware(io=data["io"], timer=data["timer"], tick_hz=int(data["tick_hz"]),
                    placement=dict(data["placement"]), uart_base=int(data.get("uart_base", 0)),
                    uart_bauddiv=int(data.get("uart_bauddiv", 16)), stack_bytes=int(data.get("stack_bytes", 8192)),
                    clock=data.get("clock", ""), uart=dict(data.get("uart", {})))


def _qemu(data: dict | None) -> Qemu | None:
    if data is None:
        return None
    return Qemu(machine=data["machine"], icount_shift=int(data.get("icount_shift", 0)))


def _parse(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text())
        tc = data.get("toolchain", {})
        return Board(
            name=data["name"], description=data.get("description", ""), core=data["core"],
            isa_features=tuple(data.get("isa_features", ())), clock_hz=int(data.get("clock_hz", 0)),
            default_backend=data.get("default_backend", "reference"), runner=data.get("runner", "device"),
            toolchain=Toolchain(cc=tc.get("cc", "cc"), cflags=tuple(tc.get("cflags", ())),
                                ldflags=tuple(tc.get("ldflags", ())),
                                cpu_flags=tuple(tuple(alt) for alt in tc.get("cpu_flags", ()))),
            memory=tuple(Memory(m["name"], m["kind"], int(m.get("address", 0)), int(m["size"]),
                                bool(m.get("optional", False)))
                         for m in data.get("memory", ())),
            extra={k: v for k, v in data.items() if k not in _KNOWN},
            qemu=_qemu(data.get("qemu")), firmware=_firmware(data.get("firmware")),
            flash_method=data.get("flash_method", ""), sdk=data.get("sdk", ""),
            qemu_stand_in=data.get("qemu_stand_in", ""), stand_in_for=data.get("stand_in_for", ""))
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise TinyqError(f"bad board file ({type(exc).__name__}: {exc})", where=str(path)) from None


def all_boards() -> list[Board]:
    return [_parse(p) for p in sorted(BOARDS_DIR.glob("*.toml"))]


def get_board(name: str) -> Board:
    path = BOARDS_DIR / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in sorted(BOARDS_DIR.glob("*.toml")))
        raise TinyqError(f"unknown board '{name}'", hint=f"tinyq boards lists them: {names}")
    return _parse(path)
