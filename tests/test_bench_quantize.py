"""`tinyq bench quantize`'s weight-precision rows: a small classifier through run_case (TFLM measures every
row), top-1 agreement with float where there are no labels, the 3 dB / 30% mark, and --variants."""

import numpy as np
import pytest

from tinyq.bench.quantize import FILE_ROW, Case, CaseResult, Variant, format_int4, meets_mark, run_case
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def classifier(rng):
    b = GraphBuilder("classifier")
    x = b.input((1, 8, 8, 2), "float32")
    c = b.activation((1, 4, 4, 8), "float32")
    b.op("conv_2d", [x, b.const((rng.normal(size=(8, 3, 3, 2)) * 0.4).astype(np.float32)),
                     b.const((rng.normal(size=8) * 0.1).astype(np.float32))], [c], padding="SAME", stride_h=2,
         stride_w=2, fused_activation_function="RELU")
    flat = b.activation((1, 128), "float32")
    b.op("reshape", [c, b.const(np.array([1, 128], dtype=np.int32))], [flat])
    logits = b.activation((1, 5), "float32")
    b.op("fully_connected", [flat, b.const((rng.normal(size=(5, 128)) * 0.2).astype(np.float32)),
                             b.const(np.zeros(5, np.float32))], [logits])
    y = b.activation((1, 5), "float32")
    b.op("softmax", [logits], [y], beta=1.0)
    return b.build([y])


def test_run_case_reports_agreement_with_float_without_labels():
    rng = np.random.default_rng(3)
    graph = classifier(rng)
    data = rng.normal(size=(72, 8, 8, 2)).astype(np.float32)
    case = Case("classifier", graph, write_model(graph), None, data[:40], data[40:], None, "normal(0, 1)")
    result = run_case(case, lambda message: None, only=("int4",))
    assert [v.name for v in result.variants] == ["tinyq int8", "tinyq int4"]
    for v in result.variants:
        assert v.accuracy is None and 0.0 <= v.agreement <= 1.0 and v.seconds > 0
    assert result.variant("tinyq int4").weight_bytes < result.variant("tinyq int8").weight_bytes
    table = format_int4([result])
    assert "tinyq int4" in table and "agree" in table


def _variant(name, out_db, weight_bytes):
    return Variant(name, None, (out_db,), 1, 0, weight_bytes, 1.0, agreement=0.5)


def test_the_mark_needs_both_sqnr_and_bytes():
    int8 = _variant("tinyq int8", 30.0, 1000)
    assert meets_mark(_variant("tinyq mixed", 27.5, 700), int8)
    assert not meets_mark(_variant("tinyq mixed", 26.9, 700), int8)  # more than 3 dB below
    assert not meets_mark(_variant("tinyq mixed", 29.0, 701), int8)  # less than 30% smaller
    rows = (int8, _variant("tinyq int4", 20.0, 500), _variant("tinyq mixed", 28.0, 650),
            _variant(FILE_ROW, 29.0, 1000))
    lines = format_int4([CaseResult("m", "", None, 0, 0, rows)]).splitlines()
    marks = {line.split()[2] if line.split()[1] == "tinyq" else line.split()[1]: line.split()[-1] for line in lines[2:]}
    assert marks["int4"] == "no" and marks["mixed"] == "yes"


def test_unknown_variant_is_one_line(capsys):
    from tinyq.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "quantize", "--cases", "digits", "--variants", "int8,int3"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("tinyq: error:") and "int3" in err
    assert len(err.strip().splitlines()) == 1


def test_json_holds_the_figures_the_tables_show(capsys):
    """--json: every case and variant with its figures (the text table's, unrounded) and what produced them."""
    import json
    import re

    from conftest import shared_file
    from tinyq.cli import main

    shared_file("quant", "data", "digits", "x_test.npy")
    args = ["bench", "quantize", "--cases", "digits", "--variants", "int8"]
    main(args + ["--json"])
    report = json.loads(capsys.readouterr().out)
    main(args)
    text = capsys.readouterr().out
    assert [c["case"] for c in report["cases"]] == ["cnn_digits", "mlp_digits"]
    assert report["ablation"] is None and report["versions"]["tflite-micro"]
    for case in report["cases"]:
        int8 = next(v for v in case["variants"] if v["name"] == "tinyq int8")
        assert 0 < int8["accuracy"] <= 1 and int8["weight_bytes"] > 0
        assert int8["output_sqnr_db"] == min(int8["sqnr_db"][:int8["outputs"]])
        row = f"{int8['output_sqnr_db']:.1f}\\s+\\S+\\s+{int8['file_bytes']:,}\\s+{int8['weight_bytes']:,}"
        assert re.search(r"^\s+tinyq int8\s+\S+\s+" + row, text, re.M), text
