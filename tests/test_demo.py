"""`tinyq demo` (what `make demo` runs): the whole pipeline on the built-in model, end to end in QEMU,
with the board's fast backend when its library is here, and without it when it cannot be fetched."""

import os
import subprocess
import sys

import pytest

from conftest import VENDOR, VENDOR_SNAPSHOTS


def demo(tmp_path, env):
    run = subprocess.run([sys.executable, "-m", "tinyq", "demo", "-o", str(tmp_path / "demo"), "--inputs", "5"],
                         capture_output=True, text=True, timeout=900, env=env)
    return run.returncode, run.stdout, run.stderr


def test_demo_runs_with_the_boards_library(tmp_path):
    snapshot = VENDOR / VENDOR_SNAPSHOTS["TINYQ_CMSIS_NN_DIR"]
    if not snapshot.is_dir():
        pytest.skip(f"{snapshot} is absent")
    code, out, err = demo(tmp_path, {**os.environ, "TINYQ_CMSIS_NN_DIR": str(snapshot)})
    assert code == 0, out + err
    assert "cmsis-nn kernels" in out and out.count("PASS: 5 inputs") == 2 and "demo passed" in out


def test_demo_falls_back_to_the_reference_kernels_when_the_library_cannot_be_fetched(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TINYQ_CMSIS_NN_DIR"}
    env.update(TINYQ_CACHE_DIR=str(tmp_path / "cache"), TINYQ_CMSIS_NN_ARCHIVE=str(tmp_path / "no-such.tar.gz"))
    code, out, err = demo(tmp_path, env)
    assert code == 0, out + err
    assert "reference kernels" in out and "could not be fetched" in out and "set TINYQ_CMSIS_NN_DIR" in out
    assert out.count("PASS: 5 inputs") == 2 and "demo passed" in out
