"""Cross-compiling a generated project with arm-none-eabi-gcc into a firmware ELF.

`build_firmware` compiles model/ and firmware/ of a project directory with the
board's flags and the linker script rendered from its memory map, then reads
flash/RAM per section back from the ELF. `compile_model_objects` compiles only
the model sources (for boards whose firmware needs a vendor SDK) so their size
is known even without it.
"""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tinyq import proc as child
from tinyq.boards import Board
from tinyq.build.elf import SizeReport, read_sections, size_report
from tinyq.build.firmware import board_files, harness_sources
from tinyq.build.libraries import include_dirs, link_inputs, required_by
from tinyq.errors import TinyqError

WARNINGS = ("-Wall", "-Wextra", "-Werror", "-Wno-unused-function")
COMMON_CFLAGS = ("-std=c99", "-ffunction-sections", "-fdata-sections", "-g")
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
FAILURE_WORDS = ("error", "undefined reference", "multiple definition", "cannot find")
TOOL_PREFIX = re.compile(r"^\S*\bld(?:\.\w+)?: ")  # "/usr/lib/gcc/.../bin/ld: " before each linker line
LD_DOES_NOT_FIT = re.compile(r"section `[^']+' will not fit in region `[^']+'|region `[^']+' overflowed by \d+ bytes")
INSTALL_HINT = "install the Arm GNU toolchain (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"


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


def require_compiler(board: Board) -> str:
    cc = board.toolchain.cc
    path = shutil.which(cc)
    if path is None:
        raise TinyqError(f"cross compiler '{cc}' not found", where=f"board {board.name}", hint=INSTALL_HINT)
    return path


@functools.lru_cache(maxsize=None)
def _accepts(cc: str, flags: tuple[str, ...]) -> bool:
    proc = child.run([cc, *flags, "-mthumb", "-E", "-x", "c", "-", "-o", "-"], input="", capture_output=True,
                          text=True)
    return proc.returncode == 0


def cpu_flags(board: Board) -> tuple[str, ...]:
    """The board's CPU selection this compiler understands (the first alternative it accepts)."""
    alternatives = board.toolchain.cpu_flags
    if not alternatives:
        return ()
    cc = require_compiler(board)
    for alt in alternatives:
        if _accepts(cc, tuple(alt)):
            return tuple(alt)
    raise TinyqError(f"{board.toolchain.cc} accepts none of the CPU flags {list(alternatives)}",
                     where=f"boards/{board.name}.toml", hint="use a newer Arm GNU toolchain")


def board_cflags(board: Board) -> tuple[str, ...]:
    return cpu_flags(board) + board.toolchain.cflags + COMMON_CFLAGS


def _run(cmd: list[str], cwd: Path, what: str) -> None:
    proc = child.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode == 0:
        return
    lines = [TOOL_PREFIX.sub("", ln.strip()) for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    overflow = list(dict.fromkeys(m.group(0) for ln in lines for m in LD_DOES_NOT_FIT.finditer(ln)))
    if overflow:  # the linker's own words, whole, without the paths of the tool and the ELF
        raise TinyqError(f"{what} failed: the image does not fit: {'; '.join(overflow)}", where=str(cwd),
                         hint="a smaller model, or a board with more memory (tinyq plan MODEL --board B shows the fit)")
    first = next((ln for ln in lines if any(k in ln.lower() for k in FAILURE_WORDS) and not ln.startswith("collect2")),
                 lines[0] if lines else "no output")
    raise TinyqError(f"{what} failed: {first}", where=str(cwd))


def _model_sources(project: Path) -> list[Path]:
    sources = sorted((project / "model").glob("*.c"))
    if not sources:
        raise TinyqError("no model sources (model/*.c)", where=str(project),
                         hint="create the project with `tinyq generate MODEL -o DIR --board BOARD`")
    return sources


def build_firmware(project: Path, board: Board, out_dir: Path | None = None) -> FirmwareImage:
    """Compile and link `project` for `board` into `<out_dir>/firmware.elf` (default build/<board>/)."""
    project = Path(project).resolve()
    cc = require_compiler(board)
    out = Path(out_dir or project / "build" / board.name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for rel, text in board_files(board).items():
        (out / rel).write_text(text)
    harness = [project / "firmware" / s for s in harness_sources(board)]
    missing = [p.name for p in harness if not p.is_file()]
    if missing:
        raise TinyqError(f"the project lacks firmware/{missing[0]} (made by an older tinyq?)", where=str(project),
                         hint="regenerate it with `tinyq generate MODEL -o DIR --board BOARD`")
    sources = _model_sources(project) + harness
    cflags = board_cflags(board)
    # Library backends (CMSIS-NN...): their archive, compiled once per target flags and cached.
    libs = link_inputs(required_by(project / "model"), cc, cflags)
    includes = ["-I", str(out), "-I", str(project / "model"), "-I", str(project / "firmware"), *libs.cflags,
                "-include", "tq_sections.h"]
    elf = out / "firmware.elf"
    cmd = [cc, *cflags, *WARNINGS, *includes, *map(str, sources), *map(str, libs.archives), *LDFLAGS,
           f"-T{out / 'link.ld'}", f"-Wl,-Map={out / 'firmware.map'}", *board.toolchain.ldflags, "-o", str(elf)]
    _run(cmd, project, f"{board.name} firmware build")
    return FirmwareImage(elf=elf, board=board.name, cflags=cflags, sizes=size_report(elf, board))


def compile_model_objects(model_dir: Path, board: Board, out_dir: Path) -> ObjectSizes:
    """Compile only the generated model C for `board` and sum its sections by kind."""
    cc = require_compiler(board)
    out_dir.mkdir(parents=True, exist_ok=True)
    cflags = board_cflags(board)
    lib_includes = [f"-I{d}" for name in required_by(model_dir) for d in include_dirs(name)]
    sizes = {"code": 0, "constants": 0, "data": 0, "bss": 0}
    for src in sorted(Path(model_dir).glob("*.c")):
        obj = out_dir / (src.stem + ".o")
        _run([cc, *cflags, *WARNINGS, "-I", str(model_dir), *lib_includes, "-c", str(src), "-o", str(obj)], out_dir,
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


def makefile_cpu_flags(board: Board) -> tuple[str, ...]:
    """CPU flags for a generated Makefile: probed when the compiler is here, else the most portable choice."""
    if not board.toolchain.cpu_flags:
        return ()
    if shutil.which(board.toolchain.cc) is None:
        return tuple(board.toolchain.cpu_flags[-1])
    return cpu_flags(board)
