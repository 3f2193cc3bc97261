"""The command line as users run it: exit codes, one-line errors, no partial output."""

import os
import subprocess
import sys

import numpy as np

from conftest import shared_file
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def tinyq(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def unsupported_model(tmp_path):
    b = GraphBuilder("bad")
    x = b.input((1, 4), scale=0.1, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("floor", [x], [y])
    path = tmp_path / "bad.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


def fc_model(tmp_path):
    rng = np.random.default_rng(0)
    b = GraphBuilder("tiny_fc")
    x = b.input((1, 8), scale=0.1, zero_point=1)
    w = b.const(rng.integers(-127, 128, size=(4, 8)), "int8", scale=[0.01], zero_point=[0])
    y = b.activation((1, 4), scale=0.2, zero_point=-3)
    b.op("fully_connected", [x, w, -1], [y])
    path = tmp_path / "tiny_fc.tflite"
    path.write_bytes(write_model(b.build([y])))
    return path


def test_help_explains_commands():
    result = tinyq("--help")
    assert result.returncode == 0
    for command in ("inspect", "generate", "verify"):
        assert command in result.stdout


def test_unsupported_op_is_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    result = tinyq("generate", unsupported_model(tmp_path), "-o", out)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "op 0 (floor)" in result.stderr and "not supported" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert os.listdir(tmp_path) == ["bad.tflite"]


def test_missing_and_garbage_files(tmp_path):
    result = tinyq("inspect", tmp_path / "nope.tflite")
    assert result.returncode == 2 and "cannot read model" in result.stderr
    garbage = tmp_path / "g.tflite"
    garbage.write_bytes(b"hello world, not a model")
    result = tinyq("verify", garbage)
    assert result.returncode == 2 and "not a TFLite model" in result.stderr
    assert "Traceback" not in result.stderr


def test_generate_is_deterministic_and_force_replaces_only_its_files(tmp_path):
    model = fc_model(tmp_path)
    first = tinyq("generate", model, "-o", tmp_path / "a")
    second = tinyq("generate", model, "-o", tmp_path / "b")
    assert first.returncode == 0 and second.returncode == 0, first.stderr
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "tiny_fc_model.c" in files and "tiny_fc_model.h" in files
    for name in files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    (tmp_path / "a" / "notes.txt").write_text("mine")
    assert tinyq("generate", model, "-o", tmp_path / "a").returncode == 2  # not without --force
    assert tinyq("generate", model, "-o", tmp_path / "a", "--force", "--name", "other").returncode == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert "other_model.c" in files and "tiny_fc_model.c" not in files  # the previous output's files went
    assert (tmp_path / "a" / "notes.txt").read_text() == "mine"  # the user's file stayed


def test_verify_passes_and_reports(tmp_path):
    result = tinyq("verify", fc_model(tmp_path), "--inputs", "12")
    assert result.returncode == 0, result.stderr
    assert "PASS: 12 inputs" in result.stdout


def test_verify_layers_on_real_model():
    model = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    result = tinyq("verify", model, "--inputs", "4", "--layers")
    assert result.returncode == 0, result.stderr
    assert "PASS: 4 inputs, 10 tensor(s)" in result.stdout


def test_inspect_lists_ops_and_support(tmp_path):
    result = tinyq("inspect", unsupported_model(tmp_path))
    assert result.returncode == 0
    assert "floor" in result.stdout and "UNSUPPORTED" in result.stdout
    assert "0 of 1 ops supported" in result.stdout
