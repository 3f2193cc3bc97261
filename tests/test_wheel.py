"""tinyq as a user installs it: an sdist built from the sources, a wheel built from that sdist,
installed into a fresh venv outside the checkout. From there: `tinyq boards`, `generate --board
ra8m1 --backend cmsis-nn`, the CMake + Ninja build of that project, verify refusing in one line
without TFLM, then with tflite-micro installed `verify --board qemu-m55`. Slow (it installs the
dependencies from PyPI with constraints.txt), and it runs in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import shared_file
from tinyq.libraries import LIBRARIES

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "README.md", "tinyq", "boards", "templates", "firmware")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("ninja")),
                                 reason="cmake and ninja are not installed (make test installs them)")]


def _run(cmd, cwd: Path, env: dict, timeout: float = 1200, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if ok:
        assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _constraint(name: str) -> str:
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.lower().replace("_", "-").startswith(name + "=="):
            return line.strip()
    raise AssertionError(f"{name} is not pinned in constraints.txt")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv bin folder, environment, work folder) with the wheel installed, no TFLM yet."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(ROOT / name, src / name)
    for cache in src.rglob("__pycache__"):
        shutil.rmtree(cache, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "TINYQ_"))}
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp, env)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    pip = [bin_dir / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    # sdist first (the backend the project names), then the wheel from the sdist, as pip would from PyPI
    _run([*pip, "install", "setuptools>=77"], tmp, env)
    dist = tmp / "dist"
    _run([bin_dir / "python", "-c", f"from setuptools import build_meta; build_meta.build_sdist({str(dist)!r})"],
         src, env)
    sdist = next(dist.glob("tinyq-*.tar.gz"))
    _run([*pip, "wheel", "--no-deps", "-w", dist, sdist], tmp, env)
    wheel = next(dist.glob("tinyq-*.whl"))
    _run([*pip, "install", "-c", ROOT / "constraints.txt", wheel], tmp, env)
    work = tmp / "work"
    work.mkdir()
    where = _run([bin_dir / "python", "-c", "import tinyq.resources as r; print(r.templates_dir())"], work, env)
    assert str(venv) in where.stdout and "site-packages" in where.stdout, where.stdout
    return bin_dir, env, work


def test_boards_generate_cmake_build_and_verify_from_the_wheel(installed):
    bin_dir, env, work = installed
    tinyq = bin_dir / "tinyq"
    boards = _run([tinyq, "boards"], work, env)
    assert all(name in boards.stdout for name in ("ra8m1", "rp2040", "esp32s3", "qemu-m55"))

    model = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    _run([tinyq, "generate", model, "-o", work / "ra", "--board", "ra8m1", "--backend", "cmsis-nn"], work, env)
    cmsis_nn = shared_file("vendor", f"cmsis-nn-{LIBRARIES['cmsis-nn'].commit[:8]}")
    build = work / "ra" / "build" / "cmake"
    _run(["cmake", "-S", work / "ra", "-B", build, "-G", "Ninja", f"-DTINYQ_CMSIS_NN_DIR={cmsis_nn}"], work, env)
    _run(["cmake", "--build", build], work, env)
    assert (build / "firmware.elf").is_file() and (build / "firmware.bin").stat().st_size > 10_000

    # without TFLM: the golden model is the one thing missing, said in one line
    refused = _run([tinyq, "verify", model, "--board", "qemu-m55", "--inputs", "2"], work, env, ok=False)
    assert refused.returncode == 2 and "tflite-micro" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1

    _run([bin_dir / "python", "-m", "pip", "install", "-q", _constraint("tflite-micro")], work, env)
    # qemu-m55 runs CMSIS-NN by default: offline, the user names a checkout of the pinned release
    offline = {**env, "TINYQ_CMSIS_NN_DIR": str(cmsis_nn)}
    verified = _run([tinyq, "verify", model, "--board", "qemu-m55", "--inputs", "3"], work, offline)
    assert "bit-exact" in verified.stdout and "instructions per inference" in verified.stdout
