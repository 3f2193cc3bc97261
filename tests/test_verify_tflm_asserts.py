"""TFLM's int8 SOFTMAX asserts (gemmlowp's RoundingDivideByPOT exponent <= 31) when its exps sum to 512 or more
- 512 or more logits tied at the maximum - and the process aborts. `tinyq verify` ran TFLM in its own process
and died with it: no line, exit 134 (found by `tinyq bench graphs`: a softmax over 720 values, given a constant
input). TFLM now runs in a child, and verify says which record it died on, in one line; tinyq's kernel gives
every probability 0 there (at most 1/512, below half a step of 1/256)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_records_exact
from tinyq.errors import TinyqError
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

TINYQ = Path(sys.executable).with_name("tinyq")


def softmax(depth: int):
    b = GraphBuilder(f"softmax{depth}")
    x = b.input((1, depth), scale=0.03, zero_point=5)
    y = b.activation((1, depth), scale=1.0 / 256, zero_point=-128)
    b.op("softmax", [x], [y], beta=1.0)
    return b.build([y])


def test_verify_names_the_record_tflm_dies_on(tmp_path):
    """verify's first inputs are edge cases (a constant input): every logit tied, 600 exps of 1."""
    path = tmp_path / "softmax.tflite"
    path.write_bytes(write_model(softmax(600)))
    proc = subprocess.run([str(TINYQ), "verify", str(path), "--inputs", "5"], capture_output=True, text=True,
                          env=os.environ.copy())
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("tinyq: error:")]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "input record 0 of 5" in lines[0] and "SIGABRT" in lines[0] and "op 0 (softmax) is int8 over 600" in lines[0]


def test_records_tflm_runs_still_compare():
    """Under 512 tied logits TFLM runs, and tinyq matches it (the same model, a shorter softmax)."""
    graph = softmax(500)
    records = [[np.full((1, 500), 7, np.int8)], [np.random.default_rng(1).integers(-128, 128, (1, 500), dtype=np.int8)]]
    assert_records_exact(graph, records)


def test_the_api_raises_one_line():
    from tinyq.boards import get_board
    from tinyq.driver import compile_graph
    from tinyq.verify.compare import compare_outputs

    compiled = compile_graph(softmax(512), get_board("host"))
    record = [[np.zeros((1, 512), np.int8)]]
    with pytest.raises(TinyqError, match="input record 0 of 1"):
        compare_outputs(compiled.model, compiled.graph, record, [[np.zeros((1, 512), np.int8)]])
