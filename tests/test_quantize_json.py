"""tinyq quantize --json: the summary (and --report's rows) as data that agrees with the written model."""

import json
import math

import numpy as np
import pytest

from test_quantize import _mlp
from tinyq.cli import main
from tinyq.quantize.pipeline import quantize_metadata
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model


def test_quantize_json_matches_the_written_model(tmp_path, capsys):
    model, out = tmp_path / "mlp.tflite", tmp_path / "mlp_int8.tflite"
    model.write_bytes(write_model(_mlp()))
    np.save(tmp_path / "calib.npy", np.random.default_rng(11).normal(size=(24, 4)).astype(np.float32))
    main(["quantize", str(model), "--calib", str(tmp_path / "calib.npy"), "-o", str(out), "--report", "--json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # nothing but the JSON on stdout
    assert "calibrating: 24/24 samples" in captured.err
    written = read_model(out.read_bytes())
    assert data["output"] == str(out) and data["file_bytes"] == out.stat().st_size
    assert data["ops"] == len(written.operators) and data["samples"] == 24
    assert data["config"] == quantize_metadata(written)  # the steps kept, as the model's metadata records them
    x = written.tensors[written.inputs[0]]
    assert data["inputs"] == [{"name": x.name, "dtype": "int8", "shape": list(x.shape),
                               "scale": pytest.approx(x.quant.s), "zero_point": x.quant.zp}]
    check = data["self_check"]
    assert check["samples"] > 0 and 0 <= check["kept"] < len(check["candidates"])
    assert all(c["output_sqnr_db"] is None or math.isfinite(c["output_sqnr_db"]) for c in check["candidates"])
    report = data["report"]
    assert report["samples"] == 24 and report["tensors"] and len(report["output_sqnr_db"]) == len(written.outputs)
    assert {"name", "sqnr_db", "scale", "zero_point", "dtype"} <= set(report["tensors"][0])
