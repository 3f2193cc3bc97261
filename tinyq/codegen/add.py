"""`tinyq generate MODEL -o DIR --add`: one more model in a folder of generated C sources.

Several models in one application (a wake-word detector and a command classifier, say) link
one copy of each kernel: the kernel files of one tinyq, board and backend are the same for
every model, so the folder keeps them once and adds the new model's own files. A kernel file
that differs was made by another tinyq, board or backend; mixing them would link one
model against kernels it was not generated for, so that is refused, as is a second model
of the same name (its symbols would clash).
"""

from __future__ import annotations

from pathlib import Path

from tinyq.codegen.output import MARKER, previous_output_files, write_output_dir
from tinyq.errors import TinyqError


def add_to_output(out_dir: Path, files: dict[str, str | bytes], model_files: set[str]) -> Path:
    """Write `files` into the previous output `out_dir`, keeping every file it holds."""
    out = Path(out_dir).resolve()
    previous = previous_output_files(out)
    if previous is None:
        raise TinyqError("--add joins a folder of generated sources, and this one holds none", where=str(out),
                         hint="generate the first model into it without --add")
    merged: dict[str, str | bytes] = {rel: (out / rel).read_bytes() for rel in previous if rel != MARKER}
    for rel, content in files.items():
        data = content.encode() if isinstance(content, str) else content
        if rel in merged and merged[rel] != data:
            if rel in model_files:
                raise TinyqError(f"the folder already holds a model that writes {rel}", where=str(out),
                                 hint="give this one another C name with --name")
            raise TinyqError(f"{rel} differs from the folder's: another tinyq version, board or backend made it",
                             where=str(out), hint="generate every model of the folder with one tinyq, board and "
                                                  "backend (or into separate applications)")
        merged[rel] = data
    return write_output_dir(out, merged, force=True)
