"""Mutated real models: tinyq either handles them or raises a one-line TinyqError, never a traceback."""

import numpy as np
import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.driver import compile_graph
from tinyq.errors import TinyqError
from tinyq.tflite.reader import read_model

MUTATIONS = 200


def mutate(data: bytes, rng) -> bytes:
    buf = bytearray(data)
    kind = rng.integers(4)
    if kind == 0:  # flip random bytes
        for pos in rng.integers(0, len(buf), size=rng.integers(1, 8)):
            buf[pos] = int(rng.integers(256))
    elif kind == 1:  # truncate
        buf = buf[: int(rng.integers(8, len(buf)))]
    elif kind == 2:  # overwrite a 32-bit word in the flatbuffer tables with an extreme value
        pos = int(rng.integers(8, min(len(buf), 4096) - 4))
        buf[pos:pos + 4] = int(rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000])).to_bytes(4, "little")
    else:  # duplicate a slice
        a = int(rng.integers(0, len(buf) - 16))
        buf[a:a] = buf[a:a + int(rng.integers(1, 16))]
    return bytes(buf)


# AD is 270 KB of weights: most of its mutations stay valid and compile in full, so fewer of them
@pytest.mark.parametrize("model, mutations", [("ad_fc_autoencoder_int8.tflite", 60), ("kws_dscnn_int8.tflite", MUTATIONS)])
def test_mutated_models_fail_cleanly(model, mutations):
    data = shared_file("models", "mlperf-tiny", model).read_bytes()
    rng = np.random.default_rng(1234)
    board = get_board("host")
    outcomes = {"ok": 0, "error": 0}
    for _ in range(mutations):
        mutated = mutate(data, rng)
        try:
            graph = read_model(mutated, where="fuzz.tflite")
            compile_graph(graph, board)
            outcomes["ok"] += 1
        except TinyqError as exc:
            assert "\n" not in str(exc)
            outcomes["error"] += 1
    assert outcomes["error"] > 0  # the mutations really do break files


# A fixed slice of `tinyq bench fuzz`: structure-aware and raw mutations of real models through the real
# command line (inspect, plan, generate; quantize on float models), and accepted ones under ASan+UBSan.
FUZZ_MODELS = (("models", "mlperf-tiny", "kws_dscnn_int8.tflite"),
               ("quant", "models", "mlp_digits", "tfl_int8.tflite"),
               ("models", "tflm-corpus", "examples_hello_world_models_hello_world_int8.tflite"),
               ("models", "tflm-corpus", "integration_tests_seanet_pad_pad1.tflite"))
FLOAT_MODELS = (("quant", "models", "mlp_digits", "float32.tflite"),
                ("quant", "models", "cnn_digits", "float32.tflite"))


def test_fuzz_slice_has_no_crash_hang_or_partial_output():
    from tinyq.bench.fuzz import fuzz
    from tinyq.bench.fuzz_report import format_table

    models = [shared_file(*parts) for parts in FUZZ_MODELS]
    report = fuzz(models, files=150, seed=7, workers=2, timeout=60, sanitize=4,
                  commands=("inspect", "plan", "generate"))
    table = format_table(report)
    assert report.files() == 150 and not report.defects(), table
    assert {o.status for o in report.outcomes} == {"accepted", "refused"}, table
    assert report.sanitizer["sampled"] >= 2 and report.sanitizer["clean"] == report.sanitizer["sampled"], table


def test_fuzz_slice_quantize_has_no_crash():
    from tinyq.bench.fuzz import fuzz
    from tinyq.bench.fuzz_report import format_table

    models = [shared_file(*parts) for parts in FLOAT_MODELS]
    report = fuzz(models, files=60, seed=7, workers=2, timeout=60, commands=("quantize",))
    assert report.files() == 60 and not report.defects(), format_table(report)
    assert {o.status for o in report.outcomes} == {"accepted", "refused"}, format_table(report)
