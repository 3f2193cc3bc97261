"""tinyq run DIR --qemu on a Pico SDK project: its own model sources, linked with the bare-metal harness of
the board's QEMU stand-in, bit-exact with TFLM; a board without a stand-in is one line."""

import json
import subprocess
import sys

from test_api import _int8_model


def tinyq(*args):
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def test_a_pico_project_runs_on_its_qemu_stand_in_from_its_own_sources(tmp_path):
    model = tmp_path / "sdk_cnn.tflite"
    model.write_bytes(_int8_model(seed=8))
    project = tmp_path / "pico"
    assert tinyq("generate", model, "-o", project, "--board", "rp2040").returncode == 0
    run = tinyq("run", project, "--qemu", "--inputs", 6, "--json")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["bit_exact"] and report["inputs"] == 6 and report["mismatching_inputs"] == 0
    assert report["board"] == "qemu-m0-an385" and report["stand_in_for"] == "rp2040"
    assert report["instructions_per_inference"]["median"] > 0
    # the project's own sources are what runs: break one and the build says so
    source = project / "model" / "sdk_cnn_model.c"
    source.write_text(source.read_text() + "\n#error this is the project model source\n")
    broken = tinyq("run", project, "--qemu", "--inputs", 1)
    assert broken.returncode == 2 and broken.stderr.count("\n") == 1
    assert f"{source}" in broken.stderr or "model/sdk_cnn_model.c" in broken.stderr
    assert "this is the project model source" in broken.stderr


def test_a_board_qemu_cannot_run_is_one_line(tmp_path):
    model = tmp_path / "esp_cnn.tflite"
    model.write_bytes(_int8_model(seed=9))
    project = tmp_path / "esp"
    assert tinyq("generate", model, "-o", project, "--board", "esp32s3").returncode == 0
    run = tinyq("run", project, "--qemu")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert run.stderr.startswith("tinyq: error: board esp32s3: no QEMU machine runs this board's code")
