"""Boards are data: one TOML file per board in boards/, read into a Board."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from tinyq.errors import TinyqError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BOARDS_DIR = Path(__file__).resolve().parent.parent / "boards"


@dataclass(frozen=True)
class Memory:
    name: str
    kind: str  # "sram", "dtcm", "itcm", "flash", "psram", "xip"
    address: int
    size: int


@dataclass(frozen=True)
class Toolchain:
    cc: str = "cc"
    cflags: tuple[str, ...] = ()
    ldflags: tuple[str, ...] = ()


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

    def memories(self, *kinds: str) -> list[Memory]:
        return [m for m in self.memory if m.kind in kinds]


_KNOWN = {"name", "description", "core", "isa_features", "clock_hz", "default_backend", "runner",
          "toolchain", "memory"}


def _parse(path: Path) -> Board:
    try:
        data = tomllib.loads(path.read_text())
        tc = data.get("toolchain", {})
        return Board(
            name=data["name"], description=data.get("description", ""), core=data["core"],
            isa_features=tuple(data.get("isa_features", ())), clock_hz=int(data.get("clock_hz", 0)),
            default_backend=data.get("default_backend", "reference"), runner=data.get("runner", "device"),
            toolchain=Toolchain(cc=tc.get("cc", "cc"), cflags=tuple(tc.get("cflags", ())),
                                ldflags=tuple(tc.get("ldflags", ()))),
            memory=tuple(Memory(m["name"], m["kind"], int(m.get("address", 0)), int(m["size"]))
                         for m in data.get("memory", ())),
            extra={k: v for k, v in data.items() if k not in _KNOWN})
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise TinyqError(f"bad board file ({type(exc).__name__}: {exc})", where=str(path)) from None


def all_boards() -> list[Board]:
    return [_parse(p) for p in sorted(BOARDS_DIR.glob("*.toml"))]


def get_board(name: str) -> Board:
    path = BOARDS_DIR / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(p.stem for p in sorted(BOARDS_DIR.glob("*.toml")))
        raise TinyqError(f"unknown board '{name}'", hint=f"choose one of: {names} (tinyq boards lists them)")
    return _parse(path)
