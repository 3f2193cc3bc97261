"""Compile a generated model with the host C compiler into a test executable."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from tinyq import proc as child
from tinyq.boards import Board
from tinyq.build.libraries import link_inputs
from tinyq.build.toolchain import WARNINGS
from tinyq.codegen.generate import GeneratedSource, environment
from tinyq.errors import TinyqError

@dataclass(frozen=True)
class HostBinary:
    path: Path
    name: str


def harness_files(source: GeneratedSource) -> dict[str, str]:
    env = environment()
    ctx = {"name": source.name, "NAME": source.name.upper()}
    return {"main.c": env.get_template("host/main.c.j2").render(ctx),
            "tq_host_trace.h": env.get_template("host/tq_host_trace.h").render(ctx)}


def build_host(source_dir: Path, source: GeneratedSource, board: Board, trace: bool = False) -> HostBinary:
    """Compile `source_dir` (the generated files plus the harness) into `source_dir/model_test`."""
    cc = board.toolchain.cc
    if shutil.which(cc) is None:
        raise TinyqError(f"C compiler '{cc}' not found", where=f"board {board.name}",
                         hint="install gcc (Debian: apt-get install gcc)")
    for rel, text in harness_files(source).items():
        (source_dir / rel).write_text(text)
    sources = sorted(str(p.name) for p in source_dir.glob("*.c"))
    exe = source_dir / "model_test"
    # Library backends: their compiled archive (cached), and the library's own scratch-size
    # functions checked against tinyq's plan on every call (TQ_CHECK_SCRATCH).
    libs = link_inputs(source.libraries, cc, board.toolchain.cflags)
    checks = ["-DTQ_CHECK_SCRATCH"] if source.libraries else []
    cmd = [cc, *board.toolchain.cflags, *WARNINGS, "-I.", *libs.cflags, *checks,
           *(["-include", "tq_host_trace.h"] if trace else []),
           *sources, "-o", exe.name, *map(str, libs.archives), *board.toolchain.ldflags]
    proc = child.run_tool(cmd, "host compile", str(source_dir), cwd=source_dir, capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip()[:300])
        raise TinyqError(f"host compile failed: {first}", where=str(source_dir),
                         hint="this is a tinyq bug; please report it with the model")
    return HostBinary(path=exe, name=source.name)
