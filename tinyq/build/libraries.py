"""The C libraries optimized backends call: where they are, what to compile, and a
cache of compiled archives.

tinyq never vendors CMSIS-NN or ESP-NN. In-process builds (tinyq verify, the
tests) use a checkout named by an environment variable; the generated CMake
snippet (templates/cmsis_nn/project/) fetches the pinned release when that
variable is unset. Compiling CMSIS-NN is ~100 files, so archives are cached per
(library, directory, compiler, flags, source stamps) in tinyq's cache folder
($TINYQ_CACHE_DIR, default <tmp>/tinyq-<uid>), built under a lock so parallel
test workers share one build.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tinyq import proc as child
from tinyq.errors import TinyqError
from tinyq.libraries import LIBRARIES, Library

CACHE_FORMAT = "1"  # bump when the way archives are built changes


def get_library(name: str) -> Library:
    if name not in LIBRARIES:
        raise TinyqError(f"unknown library '{name}'", hint=f"known: {', '.join(sorted(LIBRARIES))}")
    return LIBRARIES[name]


def library_dir(name: str) -> Path:
    """The checkout named by the library's environment variable, checked."""
    lib = get_library(name)
    value = os.environ.get(lib.env)
    if not value:
        raise TinyqError(f"{lib.name} is needed but {lib.env} is not set",
                         hint=f"git clone --branch {lib.version} {lib.repository} and set {lib.env} to it, "
                              "or build the generated CMake project, which fetches it")
    root = Path(value).expanduser().resolve()
    if not (root / lib.probe).is_file():
        raise TinyqError(f"{lib.env}={value} is not a {lib.name} checkout (no {lib.probe})",
                         hint=f"point {lib.env} at a clone of {lib.repository}")
    return root


def available(name: str) -> bool:
    try:
        library_dir(name)
        return True
    except TinyqError:
        return False


def include_dirs(name: str, root: Path | None = None) -> list[Path]:
    root = root or library_dir(name)
    return [root / d for d in get_library(name).includes]


def source_files(name: str, root: Path | None = None) -> list[Path]:
    lib = get_library(name)
    root = root or library_dir(name)
    if lib.sources:
        return [root / s for s in lib.sources]
    found = []
    for d in lib.source_dirs:
        found += [p for p in sorted((root / d).rglob("*.c")) if not p.name.endswith(lib.exclude_suffixes)]
    return found


def required_by(model_dir: Path) -> tuple[str, ...]:
    """The libraries a generated model directory calls (its glue headers say so)."""
    return tuple(name for name, lib in sorted(LIBRARIES.items()) if (Path(model_dir) / lib.header).is_file())


def cache_root() -> Path:
    base = os.environ.get("TINYQ_CACHE_DIR") or Path(tempfile.gettempdir()) / f"tinyq-{os.getuid()}"
    return Path(base) / "libs"


def archiver_name(cc: str) -> str:
    """The archiver beside `cc` by name (arm-none-eabi-gcc -> arm-none-eabi-ar), found or not."""
    name = Path(cc).name
    return (name[:-len("gcc")] if name.endswith("gcc") else "") + "ar"


def archiver_for(cc: str) -> str:
    """arm-none-eabi-gcc -> arm-none-eabi-ar (gcc-ar when there is no prefix)."""
    name = Path(cc).name
    prefix = name[:-len("gcc")] if name.endswith("gcc") else ""
    for candidate in (f"{prefix}ar", "gcc-ar", "ar"):
        if shutil.which(candidate):
            return candidate
    raise TinyqError(f"no archiver found for {cc}", hint="install binutils for your toolchain")


def _cache_key(name: str, root: Path, cc: str, cflags: tuple[str, ...], sources: list[Path]) -> str:
    h = hashlib.sha256()
    for part in (CACHE_FORMAT, name, str(root), shutil.which(cc) or cc, *cflags):
        h.update(part.encode() + b"\0")
    for src in sources:
        st = src.stat()
        h.update(f"{src.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:20]


def _compile_archive(name: str, root: Path, cc: str, cflags: tuple[str, ...], sources: list[Path],
                     out: Path) -> None:
    includes = [f"-I{d}" for d in include_dirs(name, root)]
    objects = []
    for i, src in enumerate(sources):
        obj = out.parent / f"{i:03d}_{src.stem}.o"
        cmd = [cc, *cflags, *includes, "-c", str(src), "-o", str(obj)]
        proc = child.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
            raise TinyqError(f"compiling {name} failed: {first}", where=str(src),
                             hint=f"check that {get_library(name).env} points at {name} {get_library(name).version}")
        objects.append(str(obj))
    proc = child.run([archiver_for(cc), "rcs", str(out), *objects], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TinyqError(f"archiving {name} failed: {proc.stderr.strip()[:300]}", where=str(out))


def build_archive(name: str, cc: str, cflags: tuple[str, ...] | list[str]) -> Path:
    """lib<name>.a compiled with `cc` and `cflags`, from the cache when already built."""
    root = library_dir(name)
    cflags = tuple(cflags)
    sources = source_files(name, root)
    key = _cache_key(name, root, cc, cflags, sources)
    final = cache_root() / f"{name}-{key}"
    archive = final / f"lib{name.replace('-', '_')}.a"
    if archive.is_file():
        return archive
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{name}-{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be building the same archive
        if archive.is_file():
            return archive
        work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
        try:
            _compile_archive(name, root, cc, cflags, sources, work / archive.name)
            for obj in work.glob("*.o"):
                obj.unlink()
            os.replace(work, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return archive


@dataclass(frozen=True)
class LinkInputs:
    cflags: tuple[str, ...]  # include directories (and defines) for the model's sources
    archives: tuple[Path, ...]


def link_inputs(libraries, cc: str, cflags) -> LinkInputs:
    """What compiling and linking a model that calls `libraries` needs, archives built on demand."""
    flags, archives = [], []
    for name in libraries:
        flags += [f"-I{d}" for d in include_dirs(name)]
        archives.append(build_archive(name, cc, tuple(cflags)))
    return LinkInputs(cflags=tuple(flags), archives=tuple(archives))
