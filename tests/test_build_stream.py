"""Long builds stream: one progress line from the tool's own counters, the whole output in a log,
a failure as its first error line naming the log, a hung step stopped at its deadline; and the
SDK steps tinyq runs (ESP-IDF set-target only when the target changes)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time

import pytest

from test_api import _int8_model
from tinyq.boards import get_board
from tinyq.build.sdk import sdk_build_steps
from tinyq.build.stream import progress_of, run_logged, run_steps
from tinyq.errors import TinyqError

needs_cmake = pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("ninja")),
                                 reason="cmake and ninja are not installed (make test installs them)")


def test_progress_counters():
    assert progress_of("[12/128] Building C object x.obj") == (12, 128)
    assert progress_of("[ 45%] Building C object x.obj") == (45, 100)
    assert progress_of("-- Configuring done") is None


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stream")
    model = tmp / "st_cnn.tflite"
    model.write_bytes(_int8_model(seed=9))
    out = subprocess.run([sys.executable, "-m", "tinyq", "generate", str(model), "-o", str(tmp / "p"), "--board",
                          "qemu-m0"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return tmp / "p"


@needs_cmake
def test_a_cmake_build_streams_progress_and_logs_everything(project, tmp_path):
    stream = io.StringIO()
    build = tmp_path / "b"
    log = run_steps([["cmake", "-S", str(project), "-B", str(build), "-G", "Ninja"], ["cmake", "--build", str(build)]],
                    project, tmp_path / "build.log", "cmake build", stream=stream)
    shown = stream.getvalue().splitlines()
    assert shown and all(line.startswith("  cmake build: ") for line in shown)
    assert shown[-1].endswith("/" + shown[-1].rsplit("/", 1)[1]) and len(shown) <= 12  # a tenth at a time
    text = log.read_text()
    assert "$ cmake -S" in text and "Linking C executable firmware.elf" in text
    assert (build / "firmware.elf").is_file()


@needs_cmake
def test_a_failing_build_names_its_first_error_and_the_log(project, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    (broken / "model" / "st_cnn_model.c").write_text("int broken(void) { return undeclared_name; }\n")
    log = tmp_path / "fail.log"
    with pytest.raises(TinyqError) as info:
        run_steps([["cmake", "-S", str(broken), "-B", str(tmp_path / "fb"), "-G", "Ninja"],
                   ["cmake", "--build", str(tmp_path / "fb")]], broken, log, "cmake build", stream=io.StringIO())
    message = str(info.value)
    assert "cmake build failed: st_cnn_model.c:1:27: error: 'undeclared_name' undeclared" in message
    assert "fail.log" in message
    assert "undeclared_name" in log.read_text()


def test_a_hung_step_is_stopped_at_its_deadline(tmp_path):
    start = time.monotonic()
    with pytest.raises(TinyqError, match="did not finish within 1 s"):
        run_logged([sys.executable, "-c", "import time; print('[1/9] start', flush=True); time.sleep(60)"],
                   tmp_path, tmp_path / "hung.log", "slow build", timeout=1.0, stream=io.StringIO())
    assert time.monotonic() - start < 20
    assert "[1/9] start" in (tmp_path / "hung.log").read_text()


def test_esp_idf_set_target_only_when_the_target_changes(tmp_path):
    board = get_board("esp32s3")
    out = tmp_path / "build" / "esp32s3"
    steps = sdk_build_steps("esp-idf", tmp_path, out, board)
    assert [s[-2:] for s in steps] == [["set-target", "esp32s3"], [str(out), "build"]]
    out.mkdir(parents=True)
    (tmp_path / "sdkconfig").write_text('CONFIG_IDF_TARGET="esp32s3"\n')
    assert [s[-1] for s in sdk_build_steps("esp-idf", tmp_path, out, board)] == ["build"]
    (tmp_path / "sdkconfig").write_text('CONFIG_IDF_TARGET="esp32"\n')
    assert sdk_build_steps("esp-idf", tmp_path, out, board)[0][-2:] == ["set-target", "esp32s3"]
    pico = sdk_build_steps("pico-sdk", tmp_path, tmp_path / "build" / "rp2040", get_board("rp2040"))
    assert pico[0][:2] == ["cmake", "-S"] and ("Ninja" in pico[0]) == bool(shutil.which("ninja"))
