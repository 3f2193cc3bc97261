"""`tinyq monitor` against the benchmark firmware in QEMU (`tinyq qemu --serial tcp:0`), and the
option names that changed meaning: bench --input-dir (--inputs DIR deprecated)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from test_api import _int8_model
from tinyq.tflite.reader import read_model

pytestmark = pytest.mark.slow


def _tinyq(*args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(url, project) of a benchmark firmware `tinyq qemu` serves on a port it picked."""
    tmp = tmp_path_factory.mktemp("monitor")
    model = tmp / "mon_cnn.tflite"
    model.write_bytes(_int8_model(seed=11))
    out = _tinyq("generate", model, "-o", tmp / "proj", "--board", "qemu-m55")
    assert out.returncode == 0, out.stderr
    proc = subprocess.Popen([sys.executable, "-m", "tinyq", "qemu", str(tmp / "proj"), "--serial", "tcp:0",
                             "--timeout", "600"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        line = proc.stdout.readline().strip()  # the URL, alone, first
        assert re.fullmatch(r"socket://127\.0\.0\.1:[0-9]+", line), line
        yield line, tmp / "proj"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_monitor_prints_the_reply_and_stops_at_until(served):
    url, _ = served
    out = _tinyq("monitor", "--port", url, "--send", "name", "--until", "m-ready", "--timeout", "60")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-2:] == ["m-name-dut-[tinyq]", "m-ready"]


def test_monitor_is_bounded(served):
    url, _ = served
    out = _tinyq("monitor", "--port", url, "--until", "never-printed", "--timeout", "2", timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1
    assert "'never-printed' did not appear within 2 s" in out.stderr
    assert _tinyq("monitor", "--port", "socket://127.0.0.1:1", "--timeout", "2").returncode == 2


def test_bench_input_dir_and_the_deprecated_inputs(served, tmp_path):
    url, project = served
    graph = read_model((project / "mon_cnn.tflite").read_bytes())
    shape = graph.tensors[graph.inputs[0]].shape
    rng = np.random.default_rng(0)
    for i in range(2):
        np.save(tmp_path / f"{i}.npy", rng.integers(-128, 128, size=shape, dtype=np.int8))
    new = _tinyq("bench", "--port", url, "--model", project, "--input-dir", tmp_path, "--runs", "1", "--timeout", "60")
    assert new.returncode == 0, new.stderr
    assert "deprecated" not in new.stderr and "bit-exact with TFLM on all 2 inputs" in new.stdout
    old = _tinyq("bench", "--port", url, "--model", project, "--inputs", tmp_path, "--runs", "1", "--timeout", "60")
    assert old.returncode == 0, old.stderr
    assert "bench --inputs DIR is deprecated" in old.stderr and "use --input-dir" in old.stderr
