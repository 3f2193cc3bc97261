"""`tinyq eval` end to end on real models and real data (../shared/quant's digits with labels, the MLPerf
Tiny models): every figure it prints is recomputed here from TFLM's own outputs, the float and the
quantized file side by side; under QEMU (--board qemu-m55, the generated firmware) and over a real
serial line to QEMU (--port socket://..., the benchmark firmware) the figures are those of the host,
exactly, because tinyq's code is bit-exact with TFLM. Bad input fails in one line before any run."""

import json
import math
import shutil

import numpy as np
import pytest

from conftest import shared_file
from tinyq.boards import get_board
from tinyq.build.project import generated_files
from tinyq.cli import main
from tinyq.codegen import write_output_dir
from tinyq.driver import compile_file
from tinyq.eval.data import quantize_input
from tinyq.golden import tflm_run
from tinyq.serial.firmware import build_dut_firmware
from tinyq.serial.qemu import QemuSerial, SerialSpec, free_port
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.reader import read_model_file
from tinyq.tflite.writer import write_model
from test_serial_link import ModelDevice, fake, small_model_file  # noqa: F401 (fake: the fixture)

QEMU = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                          reason="needs qemu-system-arm and arm-none-eabi-gcc")
BOARD = "qemu-m55"


def digits(model: str):
    """(float model, int8 model, x_test, y_test) of ../shared/quant."""
    return (shared_file("quant", "models", model, "float32.tflite"), shared_file("quant", "models", model,
                                                                                   "tfl_int8.tflite"),
            shared_file("quant", "data", "digits", "x_test.npy"), shared_file("quant", "data", "digits", "y_test.npy"))


def run_eval(capsys, *args) -> dict:
    main(["eval", *map(str, args), "--json"])
    return json.loads(capsys.readouterr().out)


def eval_error(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", *map(str, args)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tinyq: error: ") and "Traceback" not in "".join(err)
    return err[-1]


def tflm_values(model_path, x: np.ndarray) -> np.ndarray:
    """TFLM's dequantized first output per sample, the data quantized as the model's input takes it."""
    graph = read_model_file(model_path)
    t_in, t_out = graph.tensors[graph.inputs[0]], graph.tensors[graph.outputs[0]]
    records = [[quantize_input(x[i], t_in).reshape(t_in.shape)] for i in range(len(x))]
    raw = np.stack([out[0].reshape(-1) for out in tflm_run(model_path.read_bytes(), records)])
    if t_out.quant is None:
        return raw.astype(np.float64)
    return (raw.astype(np.float64) - t_out.quant.zp) * t_out.quant.s


def sqnr(y, ref):
    return 10 * math.log10(np.sum(ref ** 2) / np.sum((y - ref) ** 2))


@pytest.mark.parametrize("dtype,scale,zero_point", [("int8", 0.05, -7), ("int8", 1 / 255, -128), ("int16", 0.001, 0)])
def test_float_data_is_quantized_as_tflm_quantizes(dtype, scale, zero_point):
    """Float data for a quantized input: exactly what TFLM's QUANTIZE op makes of it (halves, clamping,
    values far out of range)."""
    b = GraphBuilder("q")
    x = b.input((1, 400), dtype="float32")
    q = b.activation((1, 400), dtype=dtype, scale=scale, zero_point=zero_point)
    b.op("quantize", [x], [q])
    graph = b.build([q])
    rng = np.random.default_rng(11)
    halves = (np.arange(-100, 100) + 0.5) * scale
    values = np.concatenate([halves, rng.uniform(-40, 40, 190) * scale * 10, [1e12, -1e12, 0.0, -0.0, 3e9, -3e9,
                                                                               1e-30, scale / 2, -scale / 2, 1.0]])
    values = values.astype(np.float32).reshape(1, 400)
    want = tflm_run(write_model(graph), [[values]])[0][0]
    assert np.array_equal(quantize_input(values, graph.tensors[graph.outputs[0]]), want)


def test_classifier_pair_on_labelled_digits_matches_tflm(capsys):
    float_path, int8_path, x_path, y_path = digits("cnn_digits")
    x, y = np.load(x_path), np.load(y_path)
    result = run_eval(capsys, float_path, int8_path, "--data", x_path, "--labels", y_path, "--top-k", 3)
    assert result["task"] == "classification" and result["samples"] == len(x)
    values = [tflm_values(float_path, x), tflm_values(int8_path, x)]
    for entry, v in zip(result["models"], values):
        c = entry["classification"]
        assert entry["runs_on"] == "host (TFLM)"
        assert c["top1"] == pytest.approx(np.mean(np.argmax(v, axis=1) == y))
        top3 = np.argsort(-v, axis=1, kind="stable")[:, :3]
        assert c["top3"] == pytest.approx(np.mean(np.any(top3 == y[:, None], axis=1)))
        confusion = np.array(c["confusion"])
        assert confusion.shape == (10, 10) and confusion.sum() == len(x)
        assert np.trace(confusion) / len(x) == pytest.approx(c["top1"])
        assert (confusion.sum(axis=1) == np.bincount(y, minlength=10)).all()  # rows are the true classes
    comparison = result["comparison"]
    assert comparison["top1_agreement"] == pytest.approx(np.mean(np.argmax(values[0], 1) == np.argmax(values[1], 1)))
    assert comparison["sqnr_db"] == pytest.approx(sqnr(values[1], values[0]))
    assert comparison["rmse"] == pytest.approx(np.sqrt(np.mean((values[1] - values[0]) ** 2)))
    assert comparison["mae"] == pytest.approx(np.mean(np.abs(values[1] - values[0])))


def test_one_hot_labels_score_as_class_indices(capsys, tmp_path):
    _, int8_path, x_path, y_path = digits("cnn_digits")
    y = np.load(y_path)
    np.save(tmp_path / "onehot.npy", np.eye(10, dtype=np.float32)[y])
    by_index = run_eval(capsys, int8_path, "--data", x_path, "--labels", y_path)
    by_row = run_eval(capsys, int8_path, "--data", x_path, "--labels", tmp_path / "onehot.npy")
    assert by_row["task"] == "classification" and by_row["models"] == by_index["models"]


def test_text_report_shows_the_table_comparison_and_confusion(capsys):
    float_path, int8_path, x_path, y_path = digits("cnn_digits")
    main(["eval", str(float_path), str(int8_path), "--data", str(x_path), "--labels", str(y_path), "--limit", "60"])
    out = capsys.readouterr().out
    assert "eval of 60 samples" in out and "top-1" in out
    assert "tfl_int8.tflite against float32.tflite: top-1 agreement" in out and "output SQNR" in out
    assert out.count("confusion matrix of") == 2


def test_many_classes_keep_the_confusion_matrix_to_json(capsys, tmp_path):
    """640 outputs ranked as classes: the text report names the matrix, --json holds it."""
    model = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    rng = np.random.default_rng(4)
    np.save(tmp_path / "x.npy", rng.normal(0, 4, (10, 640)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 640, 10))
    args = ["eval", str(model), "--data", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy")]
    main(args)
    out = capsys.readouterr().out
    assert "640 x 640, in --json" in out and len(out.splitlines()) < 10
    main(args + ["--json"])
    confusion = np.array(json.loads(capsys.readouterr().out)["models"][0]["classification"]["confusion"])
    assert confusion.shape == (640, 640) and confusion.sum() == 10


def test_regression_against_reference_outputs(capsys, tmp_path):
    """Labels that are the float model's own outputs: the float model scores perfectly, and the int8 model
    scores exactly what the side-by-side comparison says."""
    float_path, int8_path, x_path, _ = digits("mlp_digits")
    x = np.load(x_path)[:100].reshape(100, 64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "ref.npy", tflm_values(float_path, x).astype(np.float32))
    result = run_eval(capsys, float_path, int8_path, "--data", tmp_path / "x.npy", "--labels", tmp_path / "ref.npy")
    assert result["task"] == "regression"
    exact, quantized = (m["regression"] for m in result["models"])
    assert exact["rmse"] == pytest.approx(0, abs=1e-7) and exact["cosine"] == pytest.approx(1.0)
    for key in ("rmse", "mae", "l2_relative", "cosine"):
        assert quantized[key] == pytest.approx(result["comparison"][key], rel=1e-5)


def test_autoencoder_scored_against_its_input(capsys, tmp_path):
    """MLPerf Tiny's AD model without labels: reconstruction error against each sample's input."""
    float_path = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_float32.tflite")
    int8_path = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
    x = np.random.default_rng(3).normal(0, 4, (20, 640)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run_eval(capsys, float_path, int8_path, "--data", tmp_path / "x.npy")
    assert result["task"] == "regression" and result["comparison"]["top1_agreement"] is None
    for entry, path in zip(result["models"], (float_path, int8_path)):
        r, v = entry["regression"], tflm_values(path, x)
        assert r["against"] == "input"
        assert r["rmse"] == pytest.approx(np.sqrt(np.mean((v - x) ** 2)))
        assert r["l2_relative"] == pytest.approx(np.linalg.norm(v - x) / np.linalg.norm(x))


def test_hybrid_float_model_runs_under_litert(capsys, tmp_path):
    """MLPerf Tiny's float KWS has int8 weights in float convolutions, which TFLM refuses: LiteRT runs it."""
    float_path = shared_file("models", "mlperf-tiny", "kws_dscnn_float32.tflite")
    int8_path = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    x = np.random.default_rng(1).uniform(-60, 20, (6, 49, 10, 1)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    result = run_eval(capsys, float_path, int8_path, "--data", tmp_path / "x.npy")
    assert [m["runs_on"] for m in result["models"]] == ["host (LiteRT)", "host (TFLM)"]
    assert result["task"] == "classification" and 0 <= result["comparison"]["top1_agreement"] <= 1


def test_bad_input_is_one_line(capsys, tmp_path):
    float_path, int8_path, x_path, y_path = digits("cnn_digits")
    mlp = shared_file("quant", "models", "mlp_digits", "tfl_int8.tflite")
    assert "reshape it: x.reshape(540, 64)" in eval_error(capsys, mlp, "--data", x_path, "--labels", y_path)
    np.save(tmp_path / "short.npy", np.load(y_path)[:-1])
    assert "539 labels for 540 samples" in eval_error(capsys, int8_path, "--data", x_path, "--labels",
                                                      tmp_path / "short.npy")
    np.save(tmp_path / "x16.npy", np.zeros((4, 8, 8, 1), np.int16))
    assert "the data is int16; input 'serving_default_input:0' takes int8" in eval_error(
        capsys, int8_path, "--data", tmp_path / "x16.npy")
    np.save(tmp_path / "y11.npy", np.full(540, 11))
    assert "label 11 is outside the model's 10 classes" in eval_error(capsys, int8_path, "--data", x_path,
                                                                      "--labels", tmp_path / "y11.npy")
    np.save(tmp_path / "yf.npy", np.full(540, 0.5, np.float32))
    assert "value(s) per sample" in eval_error(capsys, int8_path, "--data", x_path, "--labels", tmp_path / "yf.npy")
    assert "nothing to score against" in eval_error(capsys, int8_path, "--data", x_path)
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    assert "not a readable .npy" in eval_error(capsys, int8_path, "--data", tmp_path / "junk.npy")
    assert "give one of them" in eval_error(capsys, int8_path, "--data", x_path, "--board", BOARD, "--port", "x")
    assert "one MODEL, or" in eval_error(capsys, float_path, int8_path, int8_path, "--data", x_path)
    dead = f"socket://127.0.0.1:{free_port()}"
    assert "nothing listens at this address" in eval_error(capsys, int8_path, "--data", x_path, "--labels", y_path,
                                                           "--port", dead)


def test_generated_host_code_gives_tflms_figures(capsys, tmp_path):
    """--board host: the models as tinyq compiles them, built with the host compiler, score exactly as
    under TFLM."""
    float_path, int8_path, x_path, y_path = digits("mlp_digits")
    np.save(tmp_path / "x.npy", np.load(x_path)[:80].reshape(80, 64))
    args = (float_path, int8_path, "--data", tmp_path / "x.npy", "--labels", y_path, "--limit", 80)
    with pytest.raises(SystemExit):  # 540 labels for 80 samples
        main(["eval", *map(str, args)])
    assert "540 labels for 80 samples" in capsys.readouterr().err
    np.save(tmp_path / "y.npy", np.load(y_path)[:80])
    args = (float_path, int8_path, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy")
    tflm, generated = run_eval(capsys, *args), run_eval(capsys, *args, "--board", "host")
    assert [m["runs_on"] for m in generated["models"]] == ["host (tinyq C)"] * 2
    for t, g in zip(tflm["models"], generated["models"]):
        assert g["classification"] == t["classification"]
    assert generated["comparison"] == tflm["comparison"]


def test_stateful_model_runs_as_one_sequence(capsys, tmp_path):
    """A streaming LSTM keeps its state across invokes: eval runs the samples as one sequence under TFLM
    and in tinyq's code alike, so outputs equal one interpreter's run over all frames."""
    from pathlib import Path

    model = Path(__file__).parent / "data" / "streaming" / "streaming_kws_lstm_int8.tflite"
    graph = read_model_file(model)
    t = graph.tensors[graph.inputs[0]]
    frames = np.load(model.parent / "keywords.npy").reshape((-1,) + t.shape[1:]).astype(np.float32)[:120]
    np.save(tmp_path / "x.npy", frames)
    np.save(tmp_path / "ref.npy", tflm_values(model, frames).astype(np.float32))
    args = (model, "--data", tmp_path / "x.npy", "--labels", tmp_path / "ref.npy", "--task", "regression")
    for extra in ((), ("--board", "host")):
        r = run_eval(capsys, *args, *extra)["models"][0]["regression"]
        assert r["rmse"] == 0 and r["sqnr_db"] is None  # exact: no noise at all


@pytest.mark.slow
@QEMU
def test_on_qemu_the_figures_are_the_hosts(capsys):
    """--board qemu-m55: both models compiled by tinyq into firmware and run in QEMU give exactly the
    host's figures (bit-exact outputs), with instructions per inference."""
    float_path, int8_path, x_path, y_path = digits("cnn_digits")
    args = (float_path, int8_path, "--data", x_path, "--labels", y_path, "--limit", 40, "--top-k", 2)
    host, qemu = run_eval(capsys, *args), run_eval(capsys, *args, "--board", BOARD)
    for h, q in zip(host["models"], qemu["models"]):
        assert q["runs_on"].startswith(BOARD) and q["instructions_median"] > 0
        assert q["classification"] == h["classification"]
    assert qemu["comparison"] == host["comparison"]


@pytest.mark.slow
@QEMU
def test_over_serial_to_the_benchmark_firmware(capsys, tmp_path):
    """--port: the int8 model's benchmark firmware in QEMU, reached over its TCP UART; the float model
    runs on the host; figures equal the all-host run. Firmware of another model is refused."""
    float_path, int8_path, x_path, y_path = digits("cnn_digits")
    board = get_board(BOARD)
    compiled = compile_file(int8_path, board)
    root = write_output_dir(tmp_path / "proj", generated_files(compiled, board, int8_path))
    elf = build_dut_firmware(root, board).elf
    args = (float_path, int8_path, "--data", x_path, "--labels", y_path, "--limit", 12)
    host = run_eval(capsys, *args)
    with QemuSerial(board, elf, SerialSpec("tcp", free_port())) as q:
        device = run_eval(capsys, *args, "--port", q.url, "--timeout", 60)
        assert "the device runs model" in eval_error(capsys, float_path, "--data", x_path, "--labels", y_path,
                                                     "--port", q.url)
    assert [m["runs_on"] for m in device["models"]] == ["host (TFLM)", q.url]
    assert device["models"][1]["instructions_median"] > 0  # QEMU's ticks count instructions
    for h, d in zip(host["models"], device["models"]):
        assert d["classification"] == h["classification"]
    assert device["comparison"] == host["comparison"]


def test_on_a_board_the_timer_ticks_become_cycles(fake, capsys, tmp_path):
    """A board (scripted as tests/test_serial_link.py's, its model run by TFLM) with a 1 MHz timer and a
    133 MHz clock: figures as on the host, cycles per inference from its ticks."""
    model = small_model_file(tmp_path)
    rng = np.random.default_rng(9)
    np.save(tmp_path / "x.npy", rng.uniform(-6, 6, (12, 8)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 4, 12))
    args = (model, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy")
    board = fake(ModelDevice(model))
    host, device = run_eval(capsys, *args), run_eval(capsys, *args, "--port", board.url, "--timeout", 8)
    assert device["models"][0]["cycles_median"] == 133_000  # 1000 ticks of 1 us at 133 MHz
    assert device["models"][0]["classification"] == host["models"][0]["classification"]


def test_invokes_that_end_early_are_one_line(capsys, tmp_path):
    """A CIRCULAR_BUFFER with cycles_max 2 ends every other invoke early, without outputs: tinyq's run of it
    has no values to score for those samples, and says so in one line."""
    from test_circular_buffer import buffer_graph

    model = tmp_path / "cb.tflite"
    model.write_bytes(write_model(buffer_graph(slots=4, cycles=2)))
    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.integers(-128, 128, (10, 1, 1, 6)).astype(np.int8))
    np.save(tmp_path / "y.npy", np.ones((10, 1, 4, 1, 6), np.float32))
    err = eval_error(capsys, model, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--board", "host")
    assert "invoke ended early on 5 of 10 samples" in err


def test_a_file_tflm_would_compute_in_part_is_refused(capsys, tmp_path):
    """A dilated convolution exported with an unknown batch size declares SPACE_TO_BATCH_ND's output batch 1
    where the blocks make 2: TFLM runs it but fills one block only, so its outputs are no reference. eval
    refuses it on the host as tinyq's compile (and verify) does; the same op with its true shape runs."""
    from test_space_depth_batch import _s2b

    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.uniform(-5, 5, (4, 15, 24)).astype(np.float32))
    for batch, ok in ((1, False), (2, True)):
        model = tmp_path / f"s2b{batch}.tflite"
        model.write_bytes(write_model(_s2b((1, 15, 24), (2,), (1, 0), (batch, 8, 24))))
        np.save(tmp_path / "y.npy", np.ones((4, batch * 8 * 24), np.float32))
        args = (model, "--data", tmp_path / "x.npy", "--labels", tmp_path / "y.npy", "--task", "regression")
        if ok:
            assert run_eval(capsys, *args)["models"][0]["runs_on"] == "host (TFLM)"
        else:
            assert "only the batch size is off" in eval_error(capsys, *args)


def test_regression_against_an_all_zero_reference():
    """No signal: SQNR and L2 relative error are unbounded, and JSON carries them as null."""
    from tinyq.eval.metrics import regression

    r = regression(np.ones((3, 4)), np.zeros((3, 4)))
    assert r.sqnr_db == -math.inf and r.l2_relative == math.inf and r.rmse == 1.0
    assert r.as_dict()["sqnr_db"] is None and r.as_dict()["l2_relative"] is None
    json.dumps(r.as_dict(), allow_nan=False)
    assert regression(np.zeros((2, 2)), np.zeros((2, 2))).sqnr_db == math.inf


def two_output_models(tmp_path):
    """A float model with a class head (softmax) and a regression head, and tinyq's int8 of it."""
    from tinyq.quantize import QuantizeConfig, quantize_graph

    rng = np.random.default_rng(5)
    b = GraphBuilder("two_heads")
    x = b.input((1, 16), "float32")
    logits, probs, value = (b.activation(s, "float32") for s in ((1, 5), (1, 5), (1, 1)))
    b.op("fully_connected", [x, b.const(rng.normal(size=(5, 16)).astype(np.float32)),
                             b.const(np.zeros(5, np.float32))], [logits])
    b.op("softmax", [logits], [probs], beta=1.0)
    b.op("fully_connected", [x, b.const(rng.normal(size=(1, 16)).astype(np.float32)),
                             b.const(rng.normal(size=1).astype(np.float32))], [value])
    graph = b.build([probs, value])
    float_path, int8_path = tmp_path / "float.tflite", tmp_path / "int8.tflite"
    float_path.write_bytes(write_model(graph))
    calib = rng.normal(size=(64, 16)).astype(np.float32)
    int8_path.write_bytes(write_model(quantize_graph(graph, [calib], QuantizeConfig(self_check=False)).graph))
    return float_path, int8_path, rng.normal(size=(40, 16)).astype(np.float32)


def test_every_output_is_compared_and_output_picks_the_scored_one(capsys, tmp_path):
    """A two-headed model: the class head by default, the regression head with --output 1 (or its name), and
    the float and int8 models compared on both, each figure recomputed from TFLM's outputs."""
    float_path, int8_path, x = two_output_models(tmp_path)
    np.save(tmp_path / "x.npy", x)
    graph = read_model_file(int8_path)
    names = [graph.tensors[t].name for t in graph.outputs]
    default = run_eval(capsys, float_path, int8_path, "--data", tmp_path / "x.npy")
    assert default["task"] == "classification" and default["output"] == names[0]
    by_name = run_eval(capsys, float_path, int8_path, "--data", tmp_path / "x.npy", "--output", names[1])
    assert by_name["task"] == "regression" and by_name["output"] == names[1]
    assert by_name == run_eval(capsys, float_path, int8_path, "--data", tmp_path / "x.npy", "--output", "1")
    t_in = graph.tensors[graph.inputs[0]]
    records = [[quantize_input(x[i], t_in).reshape(t_in.shape)] for i in range(len(x))]
    per_output = {o["output"]: o for o in default["comparison"]["outputs"]}
    assert list(per_output) == names
    for k, name in enumerate(names):
        t = graph.tensors[graph.outputs[k]]
        quantized = np.stack([(out[k].reshape(-1).astype(np.float64) - t.quant.zp) * t.quant.s
                              for out in tflm_run(int8_path.read_bytes(), records)])
        floats = np.stack([out[k].reshape(-1) for out in tflm_run(float_path.read_bytes(), [[r] for r in x[:, None]])])
        assert per_output[name]["sqnr_db"] == pytest.approx(sqnr(quantized, floats.astype(np.float64)), rel=1e-6)
    assert by_name["comparison"]["sqnr_db"] == pytest.approx(per_output[names[1]]["sqnr_db"])
    main(["eval", str(float_path), str(int8_path), "--data", str(tmp_path / "x.npy")])
    text = capsys.readouterr().out
    assert f"output {names[0]})" in text and "every output:" in text and names[1] in text
    assert "--output 2: the model has no such output" in eval_error(capsys, int8_path, "--data", tmp_path / "x.npy",
                                                                    "--output", "2")
