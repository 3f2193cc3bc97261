"""Cross-compiling a generated project with arm-none-eabi-gcc into a firmware ELF.

`build_firmware` compiles model/ and firmware/ of a project directory with the
board's flags and the linker script rendered from its memory map, then reads
flash/RAM per section back from the ELF. `compile_model_objects` compiles only
the model sources (for boards whose firmware needs a vendor SDK) so their size
is known even without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tinyq.boards import Board
from tinyq.build.elf import SizeReport, read_sections, size_report
from tinyq.build.firmware import board_files, harness_sources
from tinyq.build.libraries import include_dirs, link_inputs, required_by
from tinyq.build.toolchain import FIRMWARE_INCLUDE, LDFLAGS, WARNINGS, board_cflags, require_compiler, run_tool
from tinyq.errors import TinyqError


@dataclass(frozen=True)
class FirmwareImage:
    elf: Path
    board: str
    cflags: tuple[str, ...]
    sizes: SizeReport


@dataclass(frozen=True)
class ObjectSizes:
    """Bytes by kind of the model's object files (before linking: an upper bound)."""

    cflags: tuple[str, ...]
    code: int  # .text
    constants: int  # .rodata and the weights section
    data: int  # initialised RAM (.data)
    bss: int  # zeroed RAM, including the arena

    @property
    def flash(self) -> int:
        return self.code + self.constants + self.data


def _model_sources(project: Path) -> list[Path]:
    sources = sorted((project / "model").glob("*.c"))
    if not sources:
        raise TinyqError("no model sources (model/*.c)", where=str(project),
                         hint="create the project with `tinyq generate MODEL -o DIR --board BOARD`")
    return sources


def build_firmware(project: Path, board: Board, out_dir: Path | None = None) -> FirmwareImage:
    """Compile and link `project` for `board` into `<out_dir>/firmware.elf` (default build/<board>/)."""
    project = Path(project).resolve()
    out = Path(out_dir or project / "build" / board.name).resolve()
    harness = [project / "firmware" / s for s in harness_sources(board)]
    missing = [p.name for p in harness if not p.is_file()]
    if missing:
        raise TinyqError(f"the project lacks firmware/{missing[0]} (made by an older tinyq?)", where=str(project),
                         hint="regenerate it with `tinyq generate MODEL -o DIR --board BOARD`")
    elf = link_firmware(project, board, _model_sources(project) + harness, out, [project / "firmware"],
                        f"{board.name} firmware build")
    return FirmwareImage(elf=elf, board=board.name, cflags=board_cflags(board), sizes=size_report(elf, board))


def link_firmware(project: Path, board: Board, sources: list[Path], out: Path, include_dirs: list[Path],
                  what: str) -> Path:
    """The one bare-metal compile-and-link: `sources` with the board's flags, its linker script and
    the libraries the model calls, into `out/firmware.elf`."""
    cc = require_compiler(board)
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in board_files(board).items():
        (out / rel).write_text(text)
    cflags = board_cflags(board)
    # Library backends (CMSIS-NN...): their archive, compiled once per target flags and cached.
    libs = link_inputs(required_by(project / "model"), cc, cflags)
    includes = ["-I", str(out), "-I", str(project / "model"), *(f for d in include_dirs for f in ("-I", str(d))),
                *libs.cflags, *FIRMWARE_INCLUDE]
    elf = out / "firmware.elf"
    cmd = [cc, *cflags, *WARNINGS, *includes, *map(str, sources), *map(str, libs.archives), *LDFLAGS,
           f"-T{out / 'link.ld'}", f"-Wl,-Map={out / 'firmware.map'}", *board.toolchain.ldflags, "-o", str(elf)]
    run_tool(cmd, project, what)
    return elf


def compile_model_objects(model_dir: Path, board: Board, out_dir: Path) -> ObjectSizes:
    """Compile only the generated model C for `board` and sum its sections by kind."""
    cc = require_compiler(board)
    out_dir.mkdir(parents=True, exist_ok=True)
    cflags = board_cflags(board)
    lib_includes = [f"-I{d}" for name in required_by(model_dir) for d in include_dirs(name)]
    sizes = {"code": 0, "constants": 0, "data": 0, "bss": 0}
    for src in sorted(Path(model_dir).glob("*.c")):
        obj = out_dir / (src.stem + ".o")
        run_tool([cc, *cflags, *WARNINGS, "-I", str(model_dir), *lib_includes, "-c", str(src), "-o", str(obj)], out_dir,
             f"compiling {src.name} for {board.name}")
        for s in read_sections(obj):
            sizes[_kind(s.name, s.has_contents)] += s.size
    return ObjectSizes(cflags=cflags, **sizes)


def _kind(section: str, has_contents: bool) -> str:
    if not has_contents:
        return "bss"
    if section.startswith(".text"):
        return "code"
    if section.startswith(".data"):
        return "data"
    return "constants"


