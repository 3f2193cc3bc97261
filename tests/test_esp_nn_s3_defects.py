"""The ESP32-S3 boards run ESP-NN by default, except where the pinned ESP-NN 1.2.3's S3 kernels are
known to compute something else than TFLM: a SAME convolution whose bottom/right padding is the larger
once a leading pad is set (esp-nn#31: the S3 conv pads symmetrically and misses that row/column), and a
3x3 depthwise convolution over a multiple of 16 channels with leading padding (1, 0) or (0, 1)
(esp-nn#30: it writes more scratch than its size function, and so tinyq's plan, gives). Those calls run
the reference kernel, with the reason; the same layers elsewhere, and everything else, keep ESP-NN."""

from __future__ import annotations

import json

from conftest import bound_ops
from test_cli import tinyq
from test_int4 import _input, add_conv, add_depthwise, add_fc, seeded
from tinyq.boards import get_board
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model


def convolutions():
    """(graph, expected: per op, the issue that keeps it off ESP-NN on the S3, or None)."""
    rng = seeded("s3")
    b = GraphBuilder("s3_paths")
    shapes = {"odd_h_even_w": (1, 5, 6, 8), "odd": (1, 5, 5, 8), "even": (1, 6, 6, 8), "dw16": (1, 6, 5, 16),
              "dw16_odd": (1, 7, 7, 16), "dw8": (1, 6, 5, 8)}
    x = {k: _input(b, rng, s) for k, s in shapes.items()}
    cases = [
        # pad_h 1 (5 rows, stride 2: 2 in all), pad_w 0 but 1 column needed on the right
        (add_conv(b, rng, x["odd_h_even_w"], shapes["odd_h_even_w"], 4, (3, 3), stride=(2, 2), dtype="int8"),
         "esp-nn#31"),
        (add_conv(b, rng, x["odd"], shapes["odd"], 4, (3, 3), stride=(2, 2), dtype="int8"), None),  # 1 and 1
        (add_conv(b, rng, x["even"], shapes["even"], 4, (3, 3), stride=(2, 2), dtype="int8"), None),  # 0 and 1
        (add_conv(b, rng, x["odd"], shapes["odd"], 4, (3, 3), dtype="int8"), None),  # stride 1: 1 and 1
        (add_depthwise(b, rng, x["dw16"], shapes["dw16"], 1, (3, 3), stride=(2, 2), dtype="int8"), "esp-nn#30"),  # (1, 0)
        (add_depthwise(b, rng, x["dw16_odd"], shapes["dw16_odd"], 1, (3, 3), stride=(2, 2), dtype="int8"), None),  # (1, 1)
        (add_depthwise(b, rng, x["dw8"], shapes["dw8"], 1, (3, 3), stride=(2, 2), dtype="int8"), None),  # 8 channels
    ]
    return b.build([y for y, _ in cases]), [issue for _, issue in cases]


def test_known_s3_defects_run_the_reference_kernel_with_the_reason():
    graph, expected = convolutions()
    s3 = [o for o in bound_ops(graph, "esp-nn", "esp32s3") if o.lowered.kernel in ("conv_2d", "depthwise_conv_2d")]
    assert len(s3) == len(expected)
    for op, issue in zip(s3, expected):
        if issue is None:
            assert op.layer == "esp-nn", op.passed_over
        else:
            assert op.layer == "reference" and issue in op.passed_over[-1][1], op.passed_over
    plain = bound_ops(graph, "esp-nn", "scalar")  # the generic C build: no S3 defect applies
    assert all(o.layer == "esp-nn" for o in plain if o.lowered.kernel in ("conv_2d", "depthwise_conv_2d"))


def test_the_s3_boards_default_to_the_pinned_esp_nn(tmp_path):
    for name in ("esp32s3", "esp32s3-dual"):
        assert get_board(name).default_backend == "esp-nn"
    rng = seeded("s3 fc")
    b = GraphBuilder("s3_fc")  # ESP-NN's fully connected keeps the reference arena: the guard keeps it
    y = add_fc(b, rng, _input(b, rng, (1, 32)), (1, 32), 8, dtype="int8")
    model = tmp_path / "s3.tflite"
    model.write_bytes(write_model(b.build([y])))
    done = tinyq("generate", model, "-o", tmp_path / "proj", "--board", "esp32s3")
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "proj" / "tinyq-project.json").read_text())
    assert manifest["backend"] == "esp-nn" and manifest["versions"]["esp-nn"] == "1.2.3"
    wanted = [p.read_text() for p in (tmp_path / "proj").rglob("idf_component.yml")]
    assert any('espressif/esp-nn: "==1.2.3"' in text for text in wanted), wanted  # exactly the pinned one
