"""The Python API (tinyq/api.py) gives the values the command line prints, from the same stages."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinyq
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def _int8_model(seed: int = 0) -> bytes:
    """conv (relu) -> fully connected: int8, per-channel weights."""
    rng = np.random.default_rng(seed)
    b = GraphBuilder("api_cnn")
    x = b.input((1, 8, 8, 3), "int8", scale=[0.05], zero_point=[-3])
    w = b.const(rng.integers(-127, 128, size=(6, 3, 3, 3)), "int8", scale=list(rng.uniform(0.002, 0.01, 6)),
                zero_point=[0] * 6)
    bias = b.const(rng.integers(-500, 500, size=6), "int32")
    c = b.activation((1, 8, 8, 6), "int8", scale=[0.04], zero_point=[-128])
    b.op("conv_2d", [x, w, bias], [c], padding="SAME", fused_activation_function="RELU")
    flat = b.activation((1, 384), "int8", scale=[0.04], zero_point=[-128])
    b.op("reshape", [c, b.const(np.array([1, 384], np.int32))], [flat])
    w2 = b.const(rng.integers(-127, 128, size=(4, 384)), "int8", scale=[0.003], zero_point=[0])
    y = b.activation((1, 4), "int8", scale=[0.1], zero_point=[2])
    b.op("fully_connected", [flat, w2, b.const(rng.integers(-300, 300, size=4), "int32")], [y])
    return write_model(b.build([y]))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("api") / "api_cnn.tflite"
    path.write_bytes(_int8_model())
    return path


def _cli(*args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinyq", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_load_from_path_and_bytes(model_file):
    m = tinyq.load(model_file)
    assert m.name == "api_cnn" and m.data == model_file.read_bytes() and m.path == model_file
    assert [op.op for op in m.graph.operators] == ["conv_2d", "reshape", "fully_connected"]
    from_bytes = tinyq.load(model_file.read_bytes(), name="other")
    assert from_bytes.name == "other" and from_bytes.path is None
    assert [(t.name, t.shape, t.dtype) for t in from_bytes.graph.tensors] == \
        [(t.name, t.shape, t.dtype) for t in m.graph.tensors]
    with pytest.raises(tinyq.TinyqError, match="not a TFLite model"):
        tinyq.load(b"\0" * 64)
    with pytest.raises(tinyq.TinyqError, match="cannot read model"):
        tinyq.load(model_file.parent / "absent.tflite")


def test_plan_is_the_cli_plan(model_file):
    for board in ("ra8m1", "rp2040"):
        report = tinyq.load(model_file).plan(board=board)
        out = _cli("plan", model_file, "--board", board, "--format", "json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == json.loads(json.dumps(dataclasses.asdict(report)))
        assert report.fits is True and report.board == board


def test_arena_is_the_cli_arena(model_file):
    """arena="fast" lets CMSIS-NN's convolution take scratch beyond the reference kernels' arena, as
    --arena fast does; the default keeps it, as the CLI's default does."""
    arenas = {}
    for arena in ("reference", "fast"):
        report = tinyq.load(model_file).plan(board="qemu-m55", backend="cmsis-nn", arena=arena)
        out = _cli("plan", model_file, "--board", "qemu-m55", "--backend", "cmsis-nn", "--arena", arena,
                   "--format", "json")
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == json.loads(json.dumps(dataclasses.asdict(report)))
        arenas[arena] = tinyq.compile(model_file, board="qemu-m55", backend="cmsis-nn", arena=arena).plan.arena_bytes
    assert arenas["reference"] < arenas["fast"]
    with pytest.raises(tinyq.TinyqError, match="unknown arena choice"):
        tinyq.load(model_file).compile(board="qemu-m55", arena="small")


def test_boards_are_the_cli_boards():
    out = _cli("boards", "--format", "json")
    assert [r["name"] for r in json.loads(out.stdout)] == [b.name for b in tinyq.all_boards()]
    assert tinyq.board("ra8m1").core == "cortex-m85" and isinstance(tinyq.board("ra8m1"), tinyq.Board)
    with pytest.raises(tinyq.TinyqError, match="unknown board"):
        tinyq.board("nope")


def test_generate_writes_what_the_cli_writes(model_file, tmp_path):
    ours = tinyq.load(model_file).generate(tmp_path / "api", board="qemu-m55")
    out = _cli("generate", model_file, "-o", tmp_path / "cli", "--board", "qemu-m55")
    assert out.returncode == 0, out.stderr
    cli_files = sorted(str(p.relative_to(tmp_path / "cli")) for p in (tmp_path / "cli").rglob("*") if p.is_file())
    api_files = sorted(str(p.relative_to(ours.path)) for p in ours.path.rglob("*") if p.is_file())
    assert api_files == cli_files
    for rel in api_files:
        if rel not in ("tinyq-output.json",):
            assert (ours.path / rel).read_bytes() == (tmp_path / "cli" / rel).read_bytes(), rel
    assert ours.arena_bytes == tinyq.compile(model_file, board="qemu-m55").plan.arena_bytes
    with pytest.raises(tinyq.TinyqError):  # an output folder is never overwritten without force
        tinyq.generate(model_file, ours.path, board="qemu-m55")
    again = tinyq.generate(model_file.read_bytes(), ours.path, board="qemu-m55", name="api_cnn", force=True)
    assert (again.path / "api_cnn.tflite").read_bytes() == model_file.read_bytes()


def test_verify_host_and_qemu_and_build(model_file, tmp_path):
    m = tinyq.load(model_file)
    host = m.verify(inputs=20)
    assert host.ok and host.records == 20
    qemu = m.verify(board="qemu-m55", inputs=4)
    assert qemu.ok and qemu.board == "qemu-m55" and qemu.summary()["bit_exact"] is True
    assert qemu.summary()["instructions_per_inference"]["median"] > 1000
    project = m.generate(tmp_path / "fw", board="qemu-m0")
    built = tinyq.build_project(project.path)
    assert built.elf.is_file() and built.kind == "firmware" and built.sizes.flash_bytes > 0
    assert built.sizes.ram_of(".tq_arena") >= project.arena_bytes


def test_quantize_a_float_model(tmp_path):
    pytest.importorskip("ai_edge_litert", reason="LiteRT runs the float model")
    rng = np.random.default_rng(3)
    b = GraphBuilder("float_fc")
    x = b.input((1, 16), "float32")
    y = b.activation((1, 8), "float32")
    b.op("fully_connected", [x, b.const(rng.normal(size=(8, 16)).astype(np.float32)),
                             b.const(rng.normal(size=8).astype(np.float32))], [y], fused_activation_function="RELU")
    float_model = tinyq.load(write_model(b.build([y])), name="float_fc")
    q = float_model.quantize(rng.normal(size=(32, 16)).astype(np.float32), self_check=False)
    assert q.model.name == "float_fc" and q.result.config.self_check is False
    assert {t.dtype for t in q.model.graph.tensors if not t.is_const} == {"int8"}
    assert "wrote float_fc" in q.summary()
    assert q.model.verify(inputs=10).ok
    saved = q.model.save(tmp_path / "q.tflite")
    assert tinyq.load(saved).data == q.model.data
    with pytest.raises(tinyq.TinyqError, match="QuantizeConfig"):
        float_model.quantize(np.zeros((4, 16), np.float32), no_such_option=1)


def test_the_example_notebook_runs(model_file, tmp_path):
    """examples/api_tour.py (cells of # %%) runs as a script on a model."""
    example = Path(__file__).resolve().parents[1] / "examples" / "api_tour.py"
    out = subprocess.run([sys.executable, str(example), str(model_file), str(tmp_path)], capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "host: True" in out.stdout and "qemu-m55: True" in out.stdout
