"""Writing outputs without losing anything: tinyq deletes only what it wrote itself.

Everything is first written to a staging folder, then moved into place:
- a new output folder is the staging folder renamed: it appears whole or not at all;
- an existing folder must be empty, or hold a previous tinyq output (its marker file,
  tinyq-output.json, lists the files tinyq wrote) and the caller must pass force. Then
  only those files are replaced or removed; anything else in the folder stays, and a new
  file that would overwrite one tinyq did not write is refused before anything moves.
- a single file (write_output_file) is written beside its target and renamed over it.
Folders and files get the usual modes (0o777 / 0o666 less the umask). OS failures become
one-line TinyqErrors naming the path.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from tinyq import __version__
from tinyq.errors import TinyqError, path_error

MARKER = "tinyq-output.json"
STAGING_PREFIX = ".tinyq-staging-"


def write_output_dir(out_dir: str | Path, files: dict[str, str | bytes], force: bool = False) -> Path:
    """Write `files` (relative path -> content) into `out_dir` as one output."""
    out = Path(out_dir).resolve()
    with output_dir(out, force) as stage, _os_errors(out, name_file=False):
        for rel, content in sorted(files.items()):
            _write(stage / rel, content)
    return out


def check_output_dir(out_dir: str | Path, force: bool = False) -> None:
    """Refuse now, before any work, a folder that output_dir would refuse."""
    out = Path(out_dir).resolve()
    _check_target(out, force)
    if out.is_dir() or out.parent.is_dir():
        _probe(out if out.is_dir() else out.parent, out)


@contextmanager
def output_dir(out_dir: str | Path, force: bool = False) -> Iterator[Path]:
    """A staging folder to fill; on success its whole tree becomes the output in `out_dir`.

    The target is checked before the caller does any work, and again when moving in."""
    out = Path(out_dir).resolve()
    _check_target(out, force)
    created = _make_parents(out.parent)
    try:  # staged inside an existing folder (never renamed: it may be the current one), else beside it
        if out.is_dir():
            stage = _mkdtemp(out, STAGING_PREFIX, out)
        else:
            stage = _mkdtemp(out.parent, f".{out.name}.tinyq-", out)
        try:
            yield stage
            _commit(stage, out, force)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    except BaseException:
        _remove_empty(created)
        raise


def check_output_file(path: str | Path) -> None:
    """Refuse now, before any work, a file path write_output_file would refuse."""
    path = Path(path).resolve()
    if path.is_dir():
        raise TinyqError("is a folder; a file name is expected", where=str(path), hint="give a file name in it")
    if path.exists() and not os.access(path, os.W_OK):
        raise TinyqError("the file is read-only", where=str(path), hint="choose another name or make it writable")
    existing = _first_existing(path.parent)
    if not existing.is_dir():
        raise TinyqError("a file is where a folder is expected", where=str(existing), hint="choose another path")
    if existing == path.parent:
        _probe(existing, path)


def write_output_file(path: str | Path, content: str | bytes) -> Path:
    """Write one file: to a temporary file beside it, then renamed over it."""
    path = Path(path).resolve()
    check_output_file(path)
    created = _make_parents(path.parent)
    tmp = None
    try:
        with _os_errors(path, name_file=False):
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, path)
    except BaseException:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
        _remove_empty(created)
        raise
    return path


# --- the checks -------------------------------------------------------------------------------

def _check_target(out: Path, force: bool, stage: Path | None = None) -> dict | None:
    """The previous output's marker when `out` may be written, else a one-line refusal.

    `stage` is this run's staging folder inside `out`, not counted as content."""
    if os.path.lexists(out) and not out.is_dir():
        raise TinyqError("exists and is not a folder", where=str(out), hint="choose a folder name for -o")
    existing = _first_existing(out)
    if not existing.is_dir():
        raise TinyqError("a file is where a folder is expected", where=str(existing), hint="choose another -o path")
    if existing != out:
        return None
    with _os_errors(out):
        entries = [e for e in os.listdir(out) if stage is None or e != stage.name]
    if not entries:
        return None
    marker = _read_marker(out)
    if marker is None:
        raise TinyqError("the folder is not empty and holds no tinyq output", where=str(out),
                         hint="choose a new or empty folder; tinyq never deletes files it did not write")
    if not force:
        raise TinyqError("holds a previous tinyq output", where=str(out),
                         hint="add --force to replace tinyq's files in it; other files stay")
    return marker


def _read_marker(out: Path) -> dict | None:
    path = out / MARKER
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        files = [str(f) for f in data["files"]]
        dirs = [str(d) for d in data.get("dirs", [])]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise TinyqError(f"{MARKER} is unreadable, so tinyq cannot tell its files from yours", where=str(out),
                         hint="choose a new folder") from None
    for rel in files + dirs:  # a marker must not point outside its folder
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise TinyqError(f"{MARKER} lists a path outside the folder: {rel}", where=str(out),
                             hint="choose a new folder")
    return {"files": set(files), "dirs": set(dirs)}


def previous_output_files(out_dir: str | Path) -> set[str] | None:
    """The files a previous tinyq output in `out_dir` lists (None: no tinyq output there)."""
    marker = _read_marker(Path(out_dir).resolve()) if Path(out_dir).is_dir() else None
    return None if marker is None else {rel for rel in marker["files"] if (Path(out_dir) / rel).is_file()}


def _first_existing(path: Path) -> Path:
    while not os.path.lexists(path) and path != path.parent:
        path = path.parent
    return path


# --- moving the staged tree in ------------------------------------------------------------------

def _commit(stage: Path, out: Path, force: bool) -> None:
    files, dirs = _tree(stage)
    if not out.is_dir():  # a new output: one rename, nothing half-written
        with _os_errors(out, name_file=False):
            _write(stage / MARKER, _marker_text(files, dirs))
            os.rename(stage, out)
        return
    old = _check_target(out, force, stage) or {"files": set(), "dirs": set()}
    files.discard(MARKER)
    _refuse_overwrites(out, files, dirs, old["files"])
    owned_dirs = {d for d in dirs if d in old["dirs"] or not os.path.lexists(out / d)}
    with _os_errors(out, name_file=False):
        # First the union of old and new: were we stopped half-way, --force still finds every file.
        _replace_file(out / MARKER, _marker_text(files | old["files"], owned_dirs | old["dirs"]))
        for d in sorted(dirs):
            if not (out / d).is_dir():
                if (out / d).exists():  # a file of the previous output where a folder now goes
                    (out / d).unlink()
                (out / d).mkdir()
        for rel in sorted(files):
            os.replace(stage / rel, out / rel)
        for rel in sorted(old["files"] - files - {MARKER}):
            if (out / rel).is_file() or (out / rel).is_symlink():
                (out / rel).unlink()
        for d in sorted(old["dirs"] - dirs, key=lambda d: -len(Path(d).parts)):
            _rmdir_if_empty(out / d)
        _replace_file(out / MARKER, _marker_text(files, owned_dirs))


def _refuse_overwrites(out: Path, files: set[str], dirs: set[str], ours: set[str]) -> None:
    for rel in sorted(files):
        target = out / rel
        if os.path.lexists(target) and (rel not in ours or target.is_dir()):
            raise TinyqError(f"would overwrite {rel}, which tinyq did not write", where=str(out),
                             hint="move it away, or write to a new folder")
    for d in sorted(dirs):
        target = out / d
        if target.is_symlink():  # files moved into it would land wherever it points
            raise TinyqError(f"{d} is a symbolic link where tinyq writes a folder", where=str(out),
                             hint="move it away, or write to a new folder")
        if os.path.lexists(target) and not target.is_dir() and d not in ours:
            raise TinyqError(f"{d} is a file where tinyq writes a folder", where=str(out),
                             hint="move it away, or write to a new folder")


def _tree(stage: Path) -> tuple[set[str], set[str]]:
    files, dirs = set(), set()
    for root, dirnames, filenames in os.walk(stage):
        rel_root = Path(root).relative_to(stage)
        dirs.update((rel_root / d).as_posix() for d in dirnames)
        files.update((rel_root / f).as_posix() for f in filenames)
    return files, dirs


def _marker_text(files: set[str], dirs: set[str]) -> str:
    return json.dumps({"written_by": f"tinyq {__version__}",
                       "note": "tinyq --force replaces or removes only these files and folders",
                       "files": sorted(files | {MARKER}), "dirs": sorted(dirs)}, indent=1) + "\n"


# --- small file-system steps --------------------------------------------------------------------

def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def _replace_file(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            tmp.unlink()


def _probe(folder: Path, where: Path) -> None:
    """Fail now if `folder` takes no new files (read-only, full, /proc...): create one and remove it."""
    with _os_errors(where, name_file=False):
        fd, tmp = tempfile.mkstemp(prefix=".tinyq-probe-", dir=folder)
        os.close(fd)
        os.unlink(tmp)


def _mkdtemp(parent: Path, prefix: str, where: Path) -> Path:
    with _os_errors(where, name_file=False):
        stage = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        os.chmod(stage, 0o777 & ~_umask())  # mkdtemp makes it 0700; the output gets the usual mode
    return stage


def _make_parents(folder: Path) -> list[Path]:
    """Create the missing folders above an output; returns them, deepest first, for an undo."""
    missing = []
    while not os.path.lexists(folder) and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    if not folder.is_dir():
        raise TinyqError("a file is where a folder is expected", where=str(folder), hint="choose another path")
    for i, d in enumerate(reversed(missing)):
        try:
            with _os_errors(d, name_file=False):
                d.mkdir()
        except BaseException:
            _remove_empty(missing[len(missing) - i:])
            raise
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for d in folders:
        _rmdir_if_empty(d)


def _rmdir_if_empty(d: Path) -> None:
    try:
        d.rmdir()
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def _os_errors(where: Path, name_file: bool = True) -> Iterator[None]:
    """OS failures as a one-line error naming `where` (or the failing file's path the OS names:
    not for temporary files, which mean nothing to the user)."""
    try:
        yield
    except OSError as exc:
        if exc.errno == errno.ENOENT and not name_file and where.parent.is_dir():  # /proc, /sys, ...
            raise TinyqError("cannot be created: this file system takes no new files", where=str(where),
                             hint="choose a path on an ordinary disk") from None
        error = path_error(exc, str(exc.filename) if exc.filename and name_file else str(where))
        if error is None:
            raise
        raise error from None
