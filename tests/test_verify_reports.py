"""tinyq verify --json and --junit: the comparison as data, and a JUnit report a CI shows per input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

from test_api import _int8_model
from tinyq.verify.compare import Mismatch, VerifyResult
from tinyq.verify.export import junit_xml


def _verify(*args):
    return subprocess.run([sys.executable, "-m", "tinyq", "verify", *map(str, args)], capture_output=True, text=True,
                          timeout=900)


def test_json_and_junit_on_the_host_and_under_qemu(tmp_path):
    model = tmp_path / "rep_cnn.tflite"
    model.write_bytes(_int8_model(seed=5))
    for board, n in (("host", 12), ("qemu-m0", 3)):
        junit = tmp_path / f"{board}.xml"
        out = _verify(model, "--board", board, "--inputs", n, "--json", "--junit", junit)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["bit_exact"] is True and data["inputs"] == n and data["mismatches"] == []
        assert data["board"] == board and data["backend"] == "reference"
        assert ("qemu" in data) == (board != "host")
        if board != "host":
            assert data["qemu"]["instructions_per_inference"]["median"] > 0
        suite = ET.parse(junit).getroot().find("testsuite")
        assert suite.get("tests") == str(n) and suite.get("failures") == "0"
        assert [c.get("name") for c in suite.findall("testcase")] == [f"input {i}" for i in range(n)]


def test_junit_names_each_failing_input():
    result = VerifyResult(records=3, tensors_compared=3, mismatches=(
        Mismatch(record=1, tensor=7, tensor_name="logits", op=None, first_byte=2, bytes_differing=1, max_abs_diff=1),))
    suite = ET.fromstring(junit_xml("m", "qemu-m55", result)).find("testsuite")
    assert suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.find("failure") is not None for c in cases] == [False, True, False]
    assert "tensor 7 'logits': 1 bytes differ from TFLM's, the first at byte 2" in cases[1].find("failure").get("message")


def test_junit_names_the_inputs_that_ended_early_on_one_side():
    """A CIRCULAR_BUFFER model whose invoke ended early (kTfLiteAbort) on one side only: a failure of its own
    kind; the ones that ended early on both sides pass."""
    result = VerifyResult(records=3, tensors_compared=1, ended_early=1, mismatches=(
        Mismatch(record=2, tensor=-1, tensor_name="", op=None, first_byte=0, bytes_differing=0, max_abs_diff=0,
                 ended_early="tinyq"),))
    suite = ET.fromstring(junit_xml("m", "host", result)).find("testsuite")
    failures = [c.find("failure") for c in suite.findall("testcase")]
    assert [f is not None for f in failures] == [False, False, True]
    assert failures[2].get("type") == "ended early"
    assert failures[2].get("message") == "only tinyq's invoke ended early (kTfLiteAbort)"


def test_generate_and_build_json(tmp_path):
    model = tmp_path / "json_cnn.tflite"
    model.write_bytes(_int8_model(seed=6))
    run = [sys.executable, "-m", "tinyq"]
    gen = subprocess.run([*run, "generate", str(model), "-o", str(tmp_path / "p"), "--board", "qemu-m55", "--json"],
                         capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stderr
    data = json.loads(gen.stdout)
    assert data["board"] == "qemu-m55" and "CMakeLists.txt" in data["files"] and data["arena_bytes"] > 0
    built = subprocess.run([*run, "build", str(tmp_path / "p"), "--json"], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    sizes = json.loads(built.stdout)
    assert sizes["arena_bytes"] >= data["arena_bytes"] and sizes["flash_bytes"] > 0
    assert sum(s["flash_bytes"] for s in sizes["sections"]) == sizes["flash_bytes"]
    assert {s["name"] for s in sizes["sections"]} >= {".text", ".tq_arena"}
