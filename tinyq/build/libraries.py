"""The C libraries optimized backends call: where they are, what to compile, and a
cache of compiled archives.

tinyq never vendors CMSIS-NN or ESP-NN, and needs no git. A library is found, in
this order (`library_dir`):

1. a checkout named by its environment variable (TINYQ_CMSIS_NN_DIR, ...), used as it is;
2. the pinned release in tinyq's cache, fetched there on first use: from the archive
   named by TINYQ_CMSIS_NN_ARCHIVE / TINYQ_ESP_NN_ARCHIVE (a path, or a file:// or https://
   URL: the offline way), else from GitHub's archive of the pinned commit, with a
   progress line on stderr. Only the release's `tree` (sources, headers, license) is
   kept, and the digest of those files must be the pin's (`Library.tree_sha256`), or
   nothing is kept: a wrong, truncated or interrupted download leaves no half-written
   copy behind (everything is staged beside the cache and renamed into place).

The generated CMake snippets (templates/<layer>/project/) fetch the same commit.
Compiling CMSIS-NN is ~100 files, so archives are cached per (library, directory,
compiler, flags, source stamps). The cache folder is $TINYQ_CACHE_DIR, default
<tmp>/tinyq-<uid>; builds and fetches hold a lock so parallel test workers share one.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tinyq import proc as child
from tinyq.errors import TinyqError
from tinyq.libraries import LIBRARIES, Library

CACHE_FORMAT = "1"  # bump when the way archives are built changes
DOWNLOAD_TIMEOUT = 60.0  # seconds without a byte before a download is given up
VERIFIED = ".tinyq-verified"  # written last into a fetched copy: its digest was the pin's


def get_library(name: str) -> Library:
    if name not in LIBRARIES:
        raise TinyqError(f"unknown library '{name}'", hint=f"known: {', '.join(sorted(LIBRARIES))}")
    return LIBRARIES[name]


def library_dir(name: str) -> Path:
    """The library's sources: the checkout its environment variable names, else the pinned
    release in tinyq's cache (fetched on first use)."""
    lib = get_library(name)
    value = os.environ.get(lib.env)
    if not value:
        return fetch(name)
    root = Path(value).expanduser().resolve()
    if not (root / lib.probe).is_file():
        raise TinyqError(f"{lib.env}={value} is not a {lib.name} checkout (no {lib.probe})",
                         hint=f"point {lib.env} at {checkout_hint(lib)}, or unset it: tinyq then fetches the "
                              "pinned release itself")
    return root


def checkout_hint(lib: Library) -> str:
    """How to get the pinned release by hand."""
    return f"a checkout of {lib.repository} at {lib.commit[:12]} ({lib.version})"


def available(name: str) -> bool:
    """Whether the library is on this machine without a download: a checkout, a local archive
    (TINYQ_*_ARCHIVE naming a file) or an earlier fetch in the cache."""
    lib = get_library(name)
    if os.environ.get(lib.env):
        try:
            library_dir(name)
            return True
        except TinyqError:
            return False
    source = os.environ.get(lib.archive_env, "")
    return (fetched_dir(lib) / VERIFIED).is_file() or (bool(source) and _local_path(source) is not None)


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


def cache_base() -> Path:
    return Path(os.environ.get("TINYQ_CACHE_DIR") or Path(tempfile.gettempdir()) / f"tinyq-{os.getuid()}")


def cache_root() -> Path:
    """Where compiled archives are cached."""
    return cache_base() / "libs"


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
        proc = child.run_tool(cmd, f"compiling {name}", str(src), capture_output=True, text=True)
        if proc.returncode != 0:
            first = next((ln for ln in proc.stderr.splitlines() if "error" in ln), proc.stderr.strip()[:300])
            raise TinyqError(f"compiling {name} failed: {first}", where=str(src),
                             hint=f"check that {get_library(name).env} points at {name} {get_library(name).version}")
        objects.append(str(obj))
    proc = child.run_tool([archiver_for(cc), "rcs", str(out), *objects], f"archiving {name}", str(out),
                          capture_output=True, text=True)
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


# --- fetching the pinned release ------------------------------------------------------------------

def fetched_dir(lib: Library) -> Path:
    return cache_base() / "sources" / f"{lib.name}-{lib.commit[:12]}"


def tree_digest(root: Path, tree: tuple[str, ...]) -> str:
    """sha256 over the files under `tree` (folders or files, relative to `root`): each file's
    path, size and bytes, in path order. It names a release's contents whatever archive
    format or compression carried them."""
    files = []
    for part in tree:
        path = root / part
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path] * path.is_file()
    h = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        data = path.read_bytes()
        h.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()


def fetch(name: str) -> Path:
    """The pinned release in tinyq's cache, fetched (and its digest checked) when not there yet."""
    lib = get_library(name)
    final = fetched_dir(lib)
    if (final / VERIFIED).is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching it
        if (final / VERIFIED).is_file():
            return final
        for stale in final.parent.glob(f".{final.name}-*"):  # left by a fetch that was killed
            shutil.rmtree(stale, ignore_errors=True)
        source = os.environ.get(lib.archive_env) or lib.archive_url
        work = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
        try:
            archive = _local_path(source)
            if archive is not None:
                print(f"tinyq: unpacking {lib.short} from {archive}", file=sys.stderr, flush=True)
            else:
                archive = _download(lib, source, work / "download")
            tree = work / "tree"
            _extract(lib, archive, source, tree)
            digest = tree_digest(tree, lib.tree)
            if digest != lib.tree_sha256:
                raise TinyqError(f"{source} does not hold {lib.short}: its files' sha256 is {digest[:16]}..., the "
                                 f"pin's is {lib.tree_sha256[:16]}...", where=lib.archive_env,
                                 hint=f"give an archive of {lib.repository} at commit {lib.commit}")
            (tree / VERIFIED).write_text(f"{lib.commit}\n{digest}\n")
            shutil.rmtree(final, ignore_errors=True)  # an unverified leftover
            os.replace(tree, final)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return final


def _local_path(source: str) -> Path | None:
    """The file an archive source names on this machine (a path or a file:// URL read as a
    download is not: that goes through urllib like any URL), or None."""
    if "://" in source:
        return None
    path = Path(source).expanduser()
    return path if path.is_file() else None


def _download(lib: Library, url: str, to: Path) -> Path:
    """`url` into file `to`, with a progress line on stderr; any failure or short read raises."""
    if "://" not in url:
        raise TinyqError(f"{url} is not a file", where=lib.archive_env,
                         hint=f"name an archive of {lib.short} (.tar.gz or .zip) or a URL, or set {lib.env} "
                              "to a checkout")
    got = 0
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, open(to, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            progress = _Progress(f"tinyq: fetching {lib.short} from {url}", total)
            while chunk := response.read(1 << 16):
                out.write(chunk)
                got += len(chunk)
                progress.update(got)
            progress.done(got)
        if total and got != total:
            raise OSError(f"the transfer stopped after {got} of {total} bytes")
    except (OSError, urllib.error.URLError, ValueError) as e:  # URLError, timeouts, IncompleteRead...
        reason = getattr(e, "reason", None) or e
        raise TinyqError(f"fetching {lib.short} failed: {reason}", where=url,
                         hint=f"check the network, or download {lib.archive_url} elsewhere and set "
                              f"{lib.archive_env} to the file (or {lib.env} to {checkout_hint(lib)})") from None
    return to


class _Progress:
    """One line on stderr: rewritten in place on a terminal, else said at the start and the end."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.tty = what, total, sys.stderr.isatty()
        self.shown = -1
        if not self.tty:
            print(f"{what} ...", file=sys.stderr, flush=True)

    def _line(self, got: int) -> str:
        size = f"{got / 1e6:.1f} MB"
        return f"{self.what}: {size}" + (f" of {self.total / 1e6:.1f} MB" if self.total else "")

    def update(self, got: int) -> None:
        if self.tty and got >> 18 != self.shown:  # every 256 KB
            self.shown = got >> 18
            print("\r" + self._line(got), end="", file=sys.stderr, flush=True)

    def done(self, got: int) -> None:
        print(("\r" if self.tty else "") + self._line(got) + ", done", file=sys.stderr, flush=True)


def _members(lib: Library, names: list[str]) -> dict[str, str]:
    """Release path -> member name, for the files of the release's `tree` (GitHub's archives
    hold everything under one folder, <repo>-<commit>/; the probe file says which)."""
    probe = next((n for n in names if n == lib.probe or n.endswith("/" + lib.probe)), None)
    if probe is None:
        raise TinyqError(f"not an archive of {lib.name}: no {lib.probe} in it", where=lib.archive_env,
                         hint=f"give an archive of {lib.repository} at commit {lib.commit}")
    top = probe[:-len(lib.probe)]
    chosen = {}
    for n in names:
        if not n.startswith(top):
            continue
        rel = PurePosixPath(n[len(top):])
        if rel.is_absolute() or ".." in rel.parts:
            raise TinyqError(f"the archive names a file outside its folder: {n}", where=lib.archive_env)
        if rel.parts and (rel.parts[0] in lib.tree or rel.as_posix() in lib.tree):
            chosen[rel.as_posix()] = n
    return chosen


def _extract(lib: Library, archive: Path, source: str, to: Path) -> None:
    """The release's `tree` files of a .tar.gz/.tgz/.tar or .zip archive into folder `to`."""
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                files = {i.filename: i for i in z.infolist() if not i.is_dir()}
                chosen = _members(lib, list(files))
                for rel, n in chosen.items():
                    _write(to / rel, z.read(files[n]))
            return
        with tarfile.open(archive) as t:
            files = {m.name: m for m in t.getmembers() if m.isreg()}
            chosen = _members(lib, list(files))
            for rel, n in chosen.items():
                with contextlib.closing(t.extractfile(files[n])) as f:
                    _write(to / rel, f.read())
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        raise TinyqError(f"{source} is not a readable archive of {lib.short}: {e}", where=lib.archive_env,
                         hint="a truncated download? fetch it again") from None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
