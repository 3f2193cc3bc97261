"""The one flags table every firmware build uses: tinyq build/run/verify, the benchmark
firmware, and the Makefile a generated project carries for plain `make`.

Also the one way a compiler or linker is run and its failure turned into a one-line error.
"""

from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

from tinyq import proc as child
from tinyq.boards import Board
from tinyq.errors import TinyqError

WARNINGS = ("-Wall", "-Wextra", "-Werror", "-Wno-unused-function")
# -ffp-contract=off: float kernels repeat TFLM's operations one rounding each (no fused multiply-add;
# -std=c99 already implies it for GCC, this keeps it under any other -std a user adds)
COMMON_CFLAGS = ("-std=c99", "-ffp-contract=off", "-ffunction-sections", "-fdata-sections", "-g")
LDFLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections")
FIRMWARE_INCLUDE = ("-include", "tq_sections.h")  # the linker-section macros every source sees
FAILURE_WORDS = ("error", "undefined reference", "multiple definition", "cannot find")
TOOL_PREFIX = re.compile(r"^\S*\bld(?:\.\w+)?: ")  # "/usr/lib/gcc/.../bin/ld: " before each linker line
LD_DOES_NOT_FIT = re.compile(r"section `[^']+' will not fit in region `[^']+'|region `[^']+' overflowed by \d+ bytes")
INSTALL_HINT = "install the Arm GNU toolchain (Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi)"


def require_compiler(board: Board) -> str:
    cc = board.toolchain.cc
    path = shutil.which(cc)
    if path is None:
        raise TinyqError(f"cross compiler '{cc}' not found", where=f"board {board.name}", hint=INSTALL_HINT)
    return path


@functools.lru_cache(maxsize=None)
def _accepts(cc: str, flags: tuple[str, ...]) -> bool:
    proc = child.run_tool([cc, *flags, "-mthumb", "-E", "-x", "c", "-", "-o", "-"], f"probing {cc}", cc,
                          input="", capture_output=True, text=True)
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


def run_tool(cmd: list[str], cwd: Path, what: str) -> None:
    proc = child.run_tool(cmd, what, str(cwd), cwd=cwd, capture_output=True, text=True)
    if proc.returncode == 0:
        return
    lines = [TOOL_PREFIX.sub("", ln.strip()) for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
    overflow = list(dict.fromkeys(m.group(0) for ln in lines for m in LD_DOES_NOT_FIT.finditer(ln)))
    if overflow:  # the linker's own words, whole, without the paths of the tool and the ELF
        raise TinyqError(f"{what} failed: the image does not fit: {'; '.join(overflow)}", where=str(cwd),
                         hint="tinyq plan MODEL --board B counts the arena, the weights and the I/O buffers but not "
                              "the code beside them: a smaller model, int4 weights (tinyq quantize --weights int4), "
                              "or a board with more memory")
    first = next((ln for ln in lines if any(k in ln.lower() for k in FAILURE_WORDS) and not ln.startswith("collect2")),
                 lines[0] if lines else "no output")
    raise TinyqError(f"{what} failed: {first}", where=str(cwd))


def makefile_cpu_flags(board: Board) -> tuple[str, ...]:
    """CPU flags for a generated Makefile: probed when the compiler is here, else the most portable choice."""
    if not board.toolchain.cpu_flags:
        return ()
    if shutil.which(board.toolchain.cc) is None:
        return tuple(board.toolchain.cpu_flags[-1])
    return cpu_flags(board)
