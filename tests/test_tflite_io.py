"""Reader/writer: every real model round-trips and runs identically in TFLM; bad files fail cleanly."""

import numpy as np
import pytest

from conftest import MLPERF, QUANT, shared_file
from tinyq.errors import TinyqError
from tinyq.golden import tflm_run
from tinyq.tflite.reader import read_model
from tinyq.tflite.writer import write_model
from tinyq.verify import make_inputs

MODELS = [
    ("models", "mlperf-tiny", "kws_dscnn_int8.tflite"),
    ("models", "mlperf-tiny", "kws_dscnn_float32.tflite"),
    ("models", "mlperf-tiny", "ic_resnet8_int8.tflite"),
    ("models", "mlperf-tiny", "ic_resnet8_float32.tflite"),
    ("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite"),
    ("models", "mlperf-tiny", "ad_fc_autoencoder_float32.tflite"),
    ("quant", "models", "cnn_digits", "float32.tflite"),
    ("quant", "models", "cnn_digits", "tfl_int8.tflite"),
    ("quant", "models", "mlp_digits", "float32.tflite"),
    ("quant", "models", "mlp_digits", "tfl_int8.tflite"),
]


def litert_run(model: bytes, inputs):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=model)
    interp.allocate_tensors()
    results = []
    for record in inputs:
        for detail, array in zip(interp.get_input_details(), record):
            interp.set_tensor(detail["index"], array)
        interp.invoke()
        results.append([interp.get_tensor(d["index"]).copy() for d in interp.get_output_details()])
    return results


@pytest.mark.parametrize("parts", MODELS, ids=lambda p: "/".join(p[-2:]))
def test_round_trip_runs_identically_in_tflm(parts):
    original = shared_file(*parts).read_bytes()
    graph = read_model(original)
    rewritten = write_model(graph)
    again = read_model(rewritten)
    assert [op.op for op in again.operators] == [op.op for op in graph.operators]
    assert [op.options for op in again.operators] == [op.options for op in graph.operators]
    for a, b in zip(graph.tensors, again.tensors):
        assert (a.name, a.dtype, a.shape, a.quant) == (b.name, b.dtype, b.shape, b.quant)
        assert (a.data is None) == (b.data is None)
        if a.data is not None:
            assert np.array_equal(a.data, b.data)
    inputs = make_inputs(graph, 5, seed=1)
    # TFLM rejects hybrid float models (int8 weights, float activations): LiteRT runs those.
    run = litert_run if "float32" in parts[-1] else tflm_run
    for want, got in zip(run(original, inputs), run(rewritten, inputs)):
        for w, g in zip(want, got):
            assert w.tobytes() == g.tobytes()


def test_writer_is_deterministic():
    data = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite").read_bytes()
    graph = read_model(data)
    assert write_model(graph) == write_model(read_model(write_model(graph)))


def test_int4_round_trip():
    from tinyq.tflite.builder import GraphBuilder

    b = GraphBuilder("int4")
    x = b.input((1, 7), scale=0.1, zero_point=0)
    values = np.arange(-8, 8, dtype=np.int8)[:15].reshape(3, 5)
    w = b.const(values, "int4", scale=[0.5], zero_point=[0])
    graph = b.build([x])
    again = read_model(write_model(graph))
    assert again.tensors[w].dtype == "int4"
    assert np.array_equal(again.tensors[w].data, values)


@pytest.mark.parametrize("data,message", [
    (b"", "not a TFLite model"),
    (b"\x00" * 64, "not a TFLite model"),
    (b"\x10\x00\x00\x00TFL3" + b"\xff" * 40, "malformed"),
])
def test_bad_files_raise_one_line_errors(data, message):
    with pytest.raises(TinyqError, match=message) as info:
        read_model(data, where="bad.tflite")
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("bad.tflite: ")


def test_a_model_without_the_file_identifier_reads_as_tflm_runs_it():
    """Infineon's ModusToolbox ML packer writes *_packed_*.tflite without 'TFL3'; TFLM never checks the
    identifier and runs them, tinyq refused them as 'not a TFLite model'. Other bytes still are not one."""
    import flatbuffers

    from tinyq.tflite.builder import GraphBuilder
    from tinyq.tflite.schema import fb

    b = GraphBuilder("unmarked")
    x = b.input((1, 4), scale=0.1, zero_point=0)
    y = b.activation((1, 4), scale=0.1, zero_point=0)
    b.op("relu", [x], [y])
    marked = write_model(b.build([y]))
    builder = flatbuffers.Builder(1024)
    builder.Finish(fb.ModelT.InitFromPackedBuf(marked, 0).Pack(builder))
    unmarked = bytes(builder.Output())
    assert unmarked[4:8] != b"TFL3"
    assert [op.op for op in read_model(unmarked).operators] == ["relu"]
    records = [[np.arange(-2, 2, dtype=np.int8).reshape(1, 4)]]
    assert np.array_equal(tflm_run(unmarked, records)[0][0], tflm_run(marked, records)[0][0])
    for other in (b"\x08\x00\x00\x00" + b"\x00" * 60, b"# a text file, not a model\n" * 4):
        with pytest.raises(TinyqError, match="not a TFLite model"):
            read_model(other, where="other.bin")


def test_truncated_model_is_an_error():
    data = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite").read_bytes()
    for cut in (12, 100, len(data) // 2, len(data) - 1000):
        with pytest.raises(TinyqError):
            read_model(data[:cut], where="cut.tflite")
