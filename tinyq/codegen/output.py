"""Writing a generated tree all at once: a temp dir renamed into place, so a
failure never leaves a half-written output directory behind."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tinyq.errors import TinyqError


def write_output_dir(out_dir: str | Path, files: dict[str, str | bytes]) -> Path:
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise TinyqError("exists and is not a directory", where=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for rel, content in sorted(files.items()):
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        old = None
        if out.exists():
            old = out.with_name(f".{out.name}.old-{os.getpid()}")
            out.rename(old)
        tmp.rename(out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out
