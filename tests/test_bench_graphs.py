"""`tinyq bench graphs`: random float models that LiteRT runs as declared, and that tinyq handles in every mode."""

import numpy as np
from click.testing import CliRunner

from tinyq.bench.graphs import OPS, calibration, random_model
from tinyq.bench.graphs_more import MORE_OPS, OP_SETS
from tinyq.bench.graphs_run import Row, _litert_check, check_model, defects, save_models
from tinyq.cli import cli
from tinyq.tflite.writer import write_model

SEEDS = range(40)


def test_the_generator_declares_the_shapes_litert_computes():
    drawn = set()
    for seed in SEEDS:
        model = random_model(seed)
        sample = [x[0][None] if model.graph.tensors[t].shape[0] == 1 else x[0]
                  for x, t in zip(calibration(model, 1), model.graph.inputs)]
        assert _litert_check(model, write_model(model.graph), sample) == "", (seed, model.ops)
        drawn.update(model.ops)
    assert len(drawn) >= 0.8 * len(OPS), sorted(set(OPS) - drawn)


def test_the_wider_op_set_declares_the_shapes_litert_computes_too():
    drawn = set()
    for seed in SEEDS:
        model = random_model(seed, ops=OP_SETS["all"])
        sample = [x[0][None] if model.graph.tensors[t].shape[0] == 1 else x[0]
                  for x, t in zip(calibration(model, 1), model.graph.inputs)]
        assert _litert_check(model, write_model(model.graph), sample) == "", (seed, model.ops)
        drawn.update(model.ops)
    assert len(drawn & set(MORE_OPS)) >= 0.6 * len(MORE_OPS), sorted(set(MORE_OPS) - drawn)


def test_models_of_the_wider_set_pass_or_are_refused():
    rows = [r for seed in (1, 4) for r in check_model(seed, ("float", "int8", "int16-float"), 8, op_set="all")]
    assert not defects(rows) and not [r for r in rows if r.status == "invalid"], rows


def test_a_model_is_the_same_for_the_same_seed():
    a, b = random_model(7), random_model(7)
    assert a.ops == b.ops and write_model(a.graph) == write_model(b.graph)
    assert np.array_equal(calibration(a, 4)[0], calibration(b, 4)[0])


def test_random_models_pass_or_are_refused_in_every_mode():
    """Seed 6 is a GELU whose int16 C once did not compile (test_quantize_saturation.py)."""
    rows = [r for seed in (3, 6, 9) for r in check_model(seed, ("float", "int8", "int16", "int4"), 8)]
    assert not defects(rows), [r for r in defects(rows)]
    assert not [r for r in rows if r.status == "invalid"]
    assert sum(r.status == "pass" for r in rows) >= len(rows) // 2


def test_the_command_prints_the_table(tmp_path):
    result = CliRunner().invoke(cli, ["bench", "graphs", "--count", "2", "--mode", "int8", "--save", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "mode         pass" in result.output and "int8" in result.output


def test_a_model_on_qemu_with_cmsis_nn():
    rows = check_model(7, ("int8",), 8, ("qemu-m55",))
    assert [r.status for r in rows] == ["pass"], rows


def test_save_writes_every_lead_and_nothing_else(tmp_path):
    """A low-SQNR pass is a lead the table lists: --save must write it too, or it cannot be reproduced."""
    rows = [Row(1, "int8", "pass", sqnr_db=40.0), Row(2, "int8", "pass", sqnr_db=3.0),
            Row(3, "int8", "refused", "no"), Row(4, "int8", "pass", sqnr_db=float("nan"))]
    save_models(rows, tmp_path, 8)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == [f"{s}{x}" for s in (2, 3, 4) for x in (".tflite", "_calib.npz")]
