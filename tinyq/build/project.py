"""What `tinyq generate --board B` writes, and how `build`/`run` find their way back.

A board that runs as a host process gets the bare model sources, as before.
Any other board gets a project directory: the model sources under model/, the
firmware for the board (bare-metal harness, Pico SDK or ESP-IDF project), a
copy of the .tflite (the golden model for `tinyq run`) and tinyq-project.json
naming the model, board and backend.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from tinyq import __version__
from tinyq.boards import Board
from tinyq.driver import Compiled
from tinyq.errors import TinyqError

MANIFEST = "tinyq-project.json"


@dataclass(frozen=True)
class Project:
    root: Path
    name: str  # the model's C name
    board: str  # the board it was generated for
    backend: str
    kind: str  # "firmware" (bare metal), "pico-sdk" or "esp-idf"
    model_file: str  # copy of the .tflite, relative to root
    arena_bytes: int
    tinyq_version: str

    @property
    def model_path(self) -> Path:
        return self.root / self.model_file


def project_kind(board: Board) -> str:
    if board.runner == "host":
        return "host"
    if board.sdk:
        return board.sdk
    if board.firmware is not None:
        return "firmware"
    raise TinyqError("board describes neither a vendor SDK nor bare-metal firmware", where=f"boards/{board.name}.toml",
                     hint="add sdk = \"...\" or a [firmware] table")


def generated_files(compiled: Compiled, board: Board, model_path: Path) -> dict[str, str | bytes]:
    """The files `tinyq generate` writes for `board`."""
    kind = project_kind(board)
    if kind == "host":
        return dict(compiled.source.files)
    if kind == "firmware":
        from tinyq.build.toolchain import makefile_cpu_flags
        from tinyq.build.firmware import project_files
        files: dict[str, str | bytes] = dict(project_files(compiled, board, makefile_cpu_flags(board)))
    else:
        from tinyq.build.sdk import sdk_project_files
        files = dict(sdk_project_files(kind, compiled, board, Path(model_path).name))
    name = compiled.source.name
    model_copy = f"{name}.tflite"
    files[model_copy] = Path(model_path).read_bytes()
    manifest = {"name": name, "board": board.name, "backend": _backend(compiled),
                "kind": kind, "model_file": model_copy, "arena_bytes": compiled.plan.arena_bytes,
                "tinyq_version": __version__, "versions": _versions(compiled)}
    files[MANIFEST] = json.dumps(manifest, indent=2) + "\n"
    return files


def _versions(compiled: Compiled) -> dict[str, str]:
    """What the project was made with: tinyq, the golden model, and the pinned libraries it calls."""
    from tinyq.doctor import versions
    from tinyq.libraries import LIBRARIES

    found = versions()
    made = {k: found[k] for k in ("tinyq", "tflite-micro") if k in found}
    made.update({name: LIBRARIES[name].version for name in compiled.source.libraries})
    return made


def _backend(compiled: Compiled) -> str:
    """The backend the project needs: the chosen one when any op runs its kernels."""
    return compiled.bound.backend.name if any(op.optimized for op in compiled.bound.ops) else "reference"


def load_project(root: Path) -> Project:
    root = Path(root).resolve()
    path = root / MANIFEST
    if not path.is_file():
        raise TinyqError(f"not a tinyq project (no {MANIFEST})", where=str(root),
                         hint="create one with `tinyq generate MODEL -o DIR --board BOARD` (a non-host board)")
    try:
        data = json.loads(path.read_text())
        project = Project(root=root, **{f.name: data[f.name] for f in fields(Project) if f.name != "root"})
    except (KeyError, TypeError, ValueError) as exc:
        raise TinyqError(f"bad {MANIFEST} ({type(exc).__name__}: {exc})", where=str(root),
                         hint="regenerate the project") from None
    if not project.model_path.is_file():
        raise TinyqError(f"the model copy {project.model_file} is missing", where=str(root),
                         hint="regenerate the project")
    return project

