"""What decides tinyq's answers on this machine, against what tinyq pins.

The golden model (TFLM's Python interpreter), the float runtime, the kernel
libraries and the toolchains all change results when their version changes:
`tinyq doctor` lists each with the version found and the one pinned, and warns
on a difference. `versions()` is also recorded in generated projects and
benchmark JSON, so a result can be traced to what produced it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from tinyq import __version__
from tinyq.libraries import LIBRARIES

# Python packages whose version decides a result (the oracle, the float reference) or a number
PINNED_PACKAGES = ("tflite-micro", "ai-edge-litert", "numpy")
TOOLS = (("cc", ("gcc", "--version")), ("arm-none-eabi-gcc", ("arm-none-eabi-gcc", "--version")),
         ("qemu-system-arm", ("qemu-system-arm", "--version")))


@dataclass(frozen=True)
class Component:
    name: str
    found: str  # "" when missing
    pinned: str  # "" when tinyq pins no exact version
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.found) and (not self.pinned or self.found == self.pinned)


def _pins() -> dict[str, str]:
    """Exact pins (==) from tinyq's own requirements: pyproject.toml is the one place they live."""
    pins = {}
    for requirement in metadata.requires("tinyq") or ():
        m = re.match(r"([A-Za-z0-9_.\-]+)\s*==\s*([^;\s]+)", requirement)
        if m:
            pins[_canonical(m.group(1))] = m.group(2)
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _package(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def _tool(command: tuple[str, ...]) -> str:
    if shutil.which(command[0]) is None:
        return ""
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    first = out.strip().splitlines()[0] if out.strip() else ""
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", first)
    return m.group(1) if m else first


def _library(name: str) -> Component:
    from tinyq.build.libraries import fetched_dir, VERIFIED

    lib = LIBRARIES[name]
    where = os.environ.get(lib.env)
    if not where:
        cached = fetched_dir(lib)
        if (cached / VERIFIED).is_file():
            return Component(name, lib.version, lib.version, f"tinyq's cache: {cached}")
        return Component(name, "", lib.version, f"{lib.env} unset: tinyq fetches {lib.version} on first use "
                                                f"(offline: set {lib.archive_env} to an archive of it)")
    root = Path(where).expanduser()
    found = _library_version(root, lib)
    return Component(name, found or "unknown", lib.version, f"{lib.env}={where}")


def _library_version(root: Path, lib) -> str:
    """A checkout's release: the pin when its files are the pin's, else its git tag, an ESP
    component manifest's version, or a snapshot's name."""
    from tinyq.build.libraries import tree_digest

    if (root / lib.probe).is_file() and tree_digest(root, lib.tree) == lib.tree_sha256:
        return lib.version
    try:
        tag = subprocess.run(["git", "-C", str(root), "describe", "--tags"], capture_output=True,
                             text=True, timeout=10)
        if tag.returncode == 0 and tag.stdout.strip():
            return tag.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        pass
    manifest = root / "idf_component.yml"
    if manifest.is_file():
        m = re.search(r"^version:\s*\"?([^\"\n]+)", manifest.read_text(), re.M)
        if m:
            return m.group(1)
    m = re.search(r"-(v?\d+\.\d+\.\d+|[0-9a-f]{7,})$", root.name)  # ../shared/vendor/cmsis-nn-v7.0.0
    return m.group(1) if m else ""


def components() -> list[Component]:
    pins = _pins()
    found = [Component("tinyq", __version__, "")]
    found += [Component(p, _package(p), pins.get(_canonical(p), "")) for p in PINNED_PACKAGES]
    found += [Component(name, _tool(command), "") for name, command in TOOLS]
    found += [_library(name) for name in sorted(LIBRARIES)]
    return found


def versions() -> dict[str, str]:
    """What produced a result: recorded in projects and benchmark JSON."""
    return {c.name: c.found for c in components() if c.found}


def _fix(c: Component) -> str:
    if c.name in LIBRARIES:
        lib = LIBRARIES[c.name]
        return f"point {lib.env} at a checkout of {lib.repository} at {lib.commit}, or unset it: tinyq fetches it"
    return f"pip install {c.name}=={c.pinned}, or the whole test environment: pip install -c constraints.txt -e ."


def report(items: list[Component]) -> str:
    from tinyq.tables import table

    rows = []
    for c in items:
        status = "ok" if c.ok else ("unset" if c.name in LIBRARIES and not c.found
                                    else "MISSING" if not c.found else "DIFFERS")
        if not c.pinned and c.found:
            status = "ok"
        rows.append((c.name, c.found or "-", c.pinned or "-", status + (f"  {c.note}" if c.note else "")))
    lines = [table(("component", "found", "pinned", "status"), rows)]
    differs = [c for c in items if c.found and c.pinned and c.found != c.pinned]
    if differs:
        lines.append("")
        lines += [f"warning: {c.name} {c.found} differs from the pinned {c.pinned}: results may differ from "
                  f"tinyq's tests ({_fix(c)})" for c in differs]
    return "\n".join(lines)
