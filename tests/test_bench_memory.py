"""`tinyq bench memory`: the TFLM arena probe (in a child, crash-safe), the byte-exact search,
and the table on a folder of models."""

import subprocess
import sys

import numpy as np

from conftest import shared_file
from tinyq.bench import memory as bench
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def test_probe_accepts_the_known_tflm_arena_and_survives_crashes():
    model = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    assert bench.tflm_accepts(model, 4632)  # NOTES.md: smallest working TFLM arena for AD
    assert not bench.tflm_accepts(model, 4631)  # TFLM reports the shortage
    assert not bench.tflm_accepts(model, 100)  # TFLM crashes the process: the child dies, we do not


def test_search_is_exact_to_the_byte(monkeypatch):
    probes = []

    def accepts(model, size, timeout=0):
        probes.append(size)
        return size >= 55_984

    monkeypatch.setattr(bench, "tflm_accepts", accepts)
    assert bench.smallest_tflm_arena("m") == 55_984
    assert len(probes) < 40
    monkeypatch.setattr(bench, "tflm_accepts", lambda m, s, timeout=0: s >= 700)
    assert bench.smallest_tflm_arena("m") == 700  # below the first guess
    monkeypatch.setattr(bench, "tflm_accepts", lambda m, s, timeout=0: False)
    assert bench.smallest_tflm_arena("m") is None


def tinyq(*args):
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True)


def test_bench_table(tmp_path):
    rng = np.random.default_rng(3)
    b = GraphBuilder("small")
    x = b.input((1, 32), scale=0.1, zero_point=0)
    w = b.const(rng.integers(-127, 128, size=(8, 32)), "int8", scale=[0.01], zero_point=[0])
    y = b.activation((1, 8), scale=0.2, zero_point=0)
    b.op("fully_connected", [x, w, -1], [y])
    (tmp_path / "small_int8.tflite").write_bytes(write_model(b.build([y])))
    bad = GraphBuilder("bad")
    x = bad.input((1, 4), scale=0.1, zero_point=0)
    y = bad.activation((1, 4), scale=0.1, zero_point=0)
    bad.op("floor", [x], [y])
    (tmp_path / "bad_int8.tflite").write_bytes(write_model(bad.build([y])))
    run = tinyq("bench", "memory", "--models", tmp_path, "--no-synthetic")
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if line.startswith("small_int8.tflite"))
    tinyq_arena, tflm_arena = (int(v.replace(",", "")) for v in row.split()[1:3])
    assert tinyq_arena == 48 and tflm_arena > tinyq_arena
    assert "not planned" in next(line for line in run.stdout.splitlines() if line.startswith("bad_int8"))


def test_bench_any_models_and_the_verdict(tmp_path):
    """--models takes any folder (every .tflite, whatever its name) and single files, repeatable; the
    table ends with whether tinyq's arena is at most TFLM's on every model both ran."""
    rng = np.random.default_rng(4)
    folder = tmp_path / "models"
    folder.mkdir()
    for name, width in (("dense", 16), ("wide", 64)):
        b = GraphBuilder(name)
        x = b.input((1, width), scale=0.1, zero_point=0)
        w = b.const(rng.integers(-127, 128, size=(4, width)), "int8", scale=[0.01], zero_point=[0])
        y = b.activation((1, 4), scale=0.2, zero_point=0)
        b.op("fully_connected", [x, w, -1], [y])
        (folder / f"{name}.tflite").write_bytes(write_model(b.build([y])))
    single = tmp_path / "single.tflite"
    single.write_bytes((folder / "dense.tflite").read_bytes())
    run = tinyq("bench", "memory", "--models", folder, "--models", single, "--no-synthetic")
    assert run.returncode == 0, run.stderr
    rows = [line.split()[0] for line in run.stdout.splitlines() if line.endswith(".tflite") or ".tflite " in line]
    assert rows == ["dense.tflite", "wide.tflite", "single.tflite"]
    assert "tinyq's arena <= TFLM's on every model both ran: yes (3 of 3 models)" in run.stdout


def test_verdict_names_the_models_above_tflm():
    rows = [bench.MemoryRow("a.tflite", 100, 90, 90, "greedy", 200, 10),
            bench.MemoryRow("b.tflite", 300, 90, 90, "greedy", 250, 10),
            bench.MemoryRow("c.tflite", None, None, None, "", None, None, note="not planned: x")]
    assert bench.summary(rows) == ["tinyq's arena <= TFLM's on every model both ran: no, larger on b.tflite "
                                   "(1 of 2 models)", "not compared: 1 model(s) tinyq refuses, 0 without a TFLM arena"]


def test_bench_skips_without_models(tmp_path):
    run = tinyq("bench", "memory", "--models", tmp_path / "absent", "--no-synthetic")
    assert run.returncode == 0
    assert "skipped them" in run.stdout and "nothing to benchmark" in run.stdout


def test_synthetic_mobilenet_plans_at_its_bound():
    from tinyq.bench.synthetic import mobilenet_v1
    from tinyq.lower import lower_graph
    from tinyq.plan import plan_memory

    from conftest import bound_reference

    plan = plan_memory(bound_reference(lower_graph(mobilenet_v1(alpha=0.25, size=96))))
    assert plan.baseline_lower_bound_bytes == 55_296  # 48x48x8 + 48x48x16: what a views-only planner needs
    assert plan.arena_bytes == plan.lower_bound_bytes == 36_880  # the 1x1 conv writes over its input


def test_synthetic_mobilenet_is_bit_exact():
    from conftest import assert_bit_exact
    from tinyq.bench.synthetic import mobilenet_v1

    compiled = assert_bit_exact(mobilenet_v1(alpha=0.25, size=32, seed=1), n_inputs=3, layers=True)
    assert sum(a.kind == "in-place" for a in compiled.plan.aliases) >= 10
