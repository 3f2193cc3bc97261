"""TFLM's micro_speech end to end: its audio preprocessors (int8 and float: the signal-library ops
and their int32 / float tails) bit-exact with TFLM on the files' own bytes over long sequences of
synthesised audio (tones, chirps, noise, silence, clipping) on the host, qemu-m55 and ARMv6-M;
the preprocessor and the classifier generated into one project (tinyq generate PRE CLS --stride
320): the streaming glue on the host against TFLM running both models (chunked pushes, reset,
fewer rows than the classifier reads, a stride longer than the window), and the benchmark
firmware's audio commands in QEMU over the serial protocol (tinyq classify). TFLM's own .wav
files are not used here (they are TFLM's data); the report quotes a run on them by hand."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import QEMU_BOARDS, shared_file
from tinyq import driver
from tinyq.boards import get_board
from tinyq.build.pipeline import compile_pipeline, generate_pipeline, load_pipeline
from tinyq.cli import main
from tinyq.errors import TinyqError
from tinyq.pipeline import golden_classification, pipeline_shape
from tinyq.tflite.builder import GraphBuilder
from tinyq.tflite.writer import write_model

CORPUS = ("models", "tflm-corpus")
PRE = "examples_micro_speech_models_audio_preprocessor_{}.tflite"
CLASSIFIER = "examples_micro_speech_models_micro_speech_quantized.tflite"
LABELS = "silence,unknown,yes,no"
RATE = 16000
HOST_MAIN = Path(__file__).resolve().parent / "data" / "pipeline_host_main.c"
needs_qemu = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                                reason="needs qemu-system-arm and arm-none-eabi-gcc")


def synthesized(seconds: float, seed: int) -> np.ndarray:
    """16 kHz int16 audio: a chirp, tone bursts, noise, silence and a clipped stretch, in turn."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    chirp = 8000 * np.sin(2 * np.pi * (100 + 3000 * t / max(seconds, 1e-3)) * t)
    bursts = 12000 * np.sin(2 * np.pi * rng.uniform(200, 4000) * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    noise = rng.normal(0, 1500, n)
    part = np.arange(n) * 5 // max(n, 1)
    clipped = 40000 * np.sign(chirp)
    audio = np.select([part == 0, part == 1, part == 2, part == 3], [chirp, bursts, noise, 0 * t], clipped)
    return np.clip(np.round(audio), -32768, 32767).astype(np.int16)


def windows(audio: np.ndarray, window: int = 480, stride: int = 320) -> list[list[np.ndarray]]:
    return [[audio[s:s + window].reshape(1, window)] for s in range(0, audio.size - window + 1, stride)]


# --- the preprocessors ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["int8", "float"])
def test_audio_preprocessor_bit_exact_on_the_host(kind):
    """Two seconds of audio, 99 frames in one sequence (the noise estimate carries over)."""
    path = shared_file(*CORPUS, PRE.format(kind))
    _, graph = driver.read(path)
    assert {op.op for op in graph.operators} >= {
        "custom:SignalWindow", "custom:SignalFftAutoScale", "custom:SignalRfft", "custom:SignalEnergy",
        "custom:SignalFilterBank", "custom:SignalFilterBankSquareRoot", "custom:SignalFilterBankSpectralSubtraction",
        "custom:SignalPCAN", "custom:SignalFilterBankLog"}
    _assert_file_bit_exact(path, windows(synthesized(2.0, 1)), "host")


@needs_qemu
@pytest.mark.parametrize("kind", ["int8", "float"])
def test_audio_preprocessor_bit_exact_under_qemu(kind):
    path = shared_file(*CORPUS, PRE.format(kind))
    for board in QEMU_BOARDS:
        _assert_file_bit_exact(path, windows(synthesized(0.3, 2)), board)


def _assert_file_bit_exact(path: Path, records, board: str) -> None:
    """assert_same on the model read from `path`, with TFLM running the file's own bytes."""
    from tinyq.verify.compare import compare_outputs, summarize
    from tinyq.verify.runners import HostRunner, QemuRunner

    b = get_board(board)
    compiled = driver.compile_file(path, b)
    runner = HostRunner(b) if b.runner == "host" else QemuRunner(b)
    result = compare_outputs(compiled.model, compiled.graph, records, runner.run(compiled, records).outputs)
    assert result.ok, f"{board}: " + summarize(result, compiled.graph)


# --- the pipeline on the host --------------------------------------------------------------------

def host_pipeline(tmp_path: Path, frontend: Path, classifier: Path, stride: int, labels=None) -> Path:
    """The pipeline's host sources compiled with tests/data/pipeline_host_main.c."""
    out = tmp_path / "pipeline"
    generate_pipeline(frontend, classifier, out, False, get_board("host"), None, stride, labels)
    exe = tmp_path / "pipeline_host"
    sources = [str(p) for p in sorted(out.glob("*.c"))]
    subprocess.run(["gcc", "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-Wno-unused-function", f"-I{out}",
                    *sources, str(HOST_MAIN), "-o", str(exe), "-lm"], check=True, capture_output=True, text=True)
    return exe


def run_host(exe: Path, script: list[str]) -> list[str]:
    proc = subprocess.run([str(exe)], input="\n".join(script) + "\n", capture_output=True, text=True, check=True)
    return proc.stdout.splitlines()


def host_classify(exe: Path, samples: np.ndarray, chunk: int, reset: bool = True) -> tuple[bytes, bytes, int]:
    """(feature rows, classifier outputs, frames) after pushing `samples` `chunk` at a time."""
    data = samples.tobytes()
    step = chunk * samples.itemsize
    script = (["r"] if reset else []) + [f"p {data[i:i + step].hex()}" for i in range(0, len(data), step)] + ["c"]
    lines = run_host(exe, script)
    f = next(x for x in lines if x.startswith("f "))[2:]
    status, outputs = next(x for x in lines if x.startswith("o "))[2:].split(" ")
    assert status == "0"
    frames = int(next(x for x in lines if x.startswith("n ")).split(" ")[1])
    return bytes.fromhex(f), bytes.fromhex(outputs), frames


def micro_speech_paths(kind: str = "int8") -> tuple[Path, Path]:
    return shared_file(*CORPUS, PRE.format(kind)), shared_file(*CORPUS, CLASSIFIER)


@pytest.mark.parametrize("chunk", [1, 320, 777])
def test_pipeline_glue_on_the_host(tmp_path, chunk):
    """One second of audio pushed in chunks of 1, 320 and 777 samples: the feature rows and the scores
    equal TFLM running the two files as micro_speech's evaluate.py does."""
    frontend, classifier = micro_speech_paths()
    exe = host_pipeline(tmp_path, frontend, classifier, 320, tuple(LABELS.split(",")))
    p = compile_pipeline(frontend, classifier, get_board("host"), stride=320, labels=tuple(LABELS.split(",")))
    audio = synthesized(1.0, 3)
    features, outputs, frames = host_classify(exe, audio, chunk)
    want = golden_classification(frontend.read_bytes(), classifier.read_bytes(), p.shape, p.classifier.graph, audio)
    assert frames == want.frames == 49 and p.shape.audio_samples <= audio.size
    assert features == want.features and outputs == want.outputs


def test_pipeline_reset_and_short_streams_on_the_host(tmp_path):
    """A reset restores the frontend's noise estimate (the same clip twice gives the same rows); a
    0.4 s clip gives 19 rows below 30 zero rows, as the golden stacking says."""
    frontend, classifier = micro_speech_paths()
    exe = host_pipeline(tmp_path, frontend, classifier, 320)
    p = compile_pipeline(frontend, classifier, get_board("host"), stride=320)
    clip = synthesized(0.4, 4)
    script = ["r", f"p {clip.tobytes().hex()}", "c", "r", f"p {clip.tobytes().hex()}", "c"]
    lines = [x for x in run_host(exe, script) if x[0] in "fo"]
    assert lines[0] == lines[2] and lines[1] == lines[3]
    want = golden_classification(frontend.read_bytes(), classifier.read_bytes(), p.shape, p.classifier.graph, clip)
    assert want.frames == 19 and bytes.fromhex(lines[0][2:]) == want.features
    assert bytes.fromhex(lines[1].split(" ")[2]) == want.outputs
    later = synthesized(0.7, 5)  # pushed without a reset: one stream of 1.1 s
    lines = run_host(exe, ["r", f"p {clip.tobytes().hex()}", f"p {later.tobytes().hex()}", "c"])
    want = golden_classification(frontend.read_bytes(), classifier.read_bytes(), p.shape, p.classifier.graph,
                                 np.concatenate([clip, later]))
    assert want.frames == 54 and lines[-1].startswith("n 54 ")
    assert bytes.fromhex(next(x for x in lines if x.startswith("f "))[2:]) == want.features


def tiny_models(tmp_path: Path) -> tuple[Path, Path]:
    """A frontend of 6 int16 samples -> 6 int8 (a CAST) and a float classifier over 3 rows."""
    b = GraphBuilder("tiny_frontend")
    x = b.input((6,), "int16")
    y = b.activation((6,), "int8")
    b.op("cast", [x], [y])
    frontend = tmp_path / "tiny_frontend.tflite"
    frontend.write_bytes(write_model(b.build([y])))
    b = GraphBuilder("tiny_classifier")
    x = b.input((1, 18), "int8", scale=0.5, zero_point=3)
    w = b.const(np.random.default_rng(6).integers(-127, 128, (3, 18)), "int8", scale=0.02, zero_point=0)
    y = b.activation((1, 3), "int8", scale=0.25, zero_point=-5)
    b.op("fully_connected", [x, w, -1], [y])
    classifier = tmp_path / "tiny_classifier.tflite"
    classifier.write_bytes(write_model(b.build([y])))
    return frontend, classifier


@pytest.mark.parametrize("stride", [2, 6, 9])
def test_pipeline_strides_on_the_host(tmp_path, stride):
    """Overlapping windows, adjacent ones, and a stride beyond the window (samples between are skipped)."""
    frontend, classifier = tiny_models(tmp_path)
    exe = host_pipeline(tmp_path, frontend, classifier, stride)
    p = compile_pipeline(frontend, classifier, get_board("host"), stride=stride)
    rng = np.random.default_rng(stride)
    samples = rng.integers(-300, 300, 61).astype(np.int16)
    features, outputs, frames = host_classify(exe, samples, 5)
    want = golden_classification(frontend.read_bytes(), classifier.read_bytes(), p.shape, p.classifier.graph, samples)
    assert (features, outputs, frames) == (want.features, want.outputs, want.frames)


def test_pipeline_refusals(tmp_path):
    frontend, classifier = tiny_models(tmp_path)
    pre, cls = micro_speech_paths()
    with pytest.raises(TinyqError, match="not a whole number of feature rows"):
        compile_pipeline(frontend, cls, get_board("host"))
    with pytest.raises(TinyqError, match="2 labels for the classifier's 3 scores"):
        compile_pipeline(frontend, classifier, get_board("host"), labels=("a", "b"))
    with pytest.raises(TinyqError, match="holds a comma"):
        pipeline_shape(driver.read(frontend)[1], driver.read(classifier)[1], 6, ("a", "b[", "c"))
    with pytest.raises(TinyqError, match="both models are named"):
        compile_pipeline(pre, pre, get_board("host"))
    with pytest.raises(TinyqError, match="holds one model"):
        out = tmp_path / "single"
        main(["generate", str(classifier), "-o", str(out), "--board", "qemu-m0-an385"])
        load_pipeline(out)


@pytest.mark.parametrize("args, message", [
    (["--stride", "3"], "--stride and --labels describe a pipeline"),
    (["--name", "x", "CLS"], "--name names one model")])
def test_pipeline_usage_errors(tmp_path, capsys, args, message):
    frontend, classifier = tiny_models(tmp_path)
    args = [str(classifier) if a == "CLS" else a for a in args]
    with pytest.raises(SystemExit) as exit_info:
        main(["generate", str(frontend), "-o", str(tmp_path / "out"), *args])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


# --- the firmware, over the serial protocol in QEMU ---------------------------------------------

@pytest.mark.slow
@needs_qemu
def test_audio_in_label_out_over_serial_in_qemu(tmp_path, capsys):
    """`tinyq generate PRE CLS --board qemu-m55`, its benchmark firmware in QEMU, `tinyq classify` with a
    second of synthesised audio: the label, the scores and the 49 feature rows bit-exact with TFLM;
    then a reset and a shorter clip through the client (its rows zero-padded as TFLM's stacking)."""
    from tinyq.serial.firmware import build_dut_firmware
    from tinyq.serial.link import Link
    from tinyq.serial.pipeline import PipelineDevice
    from tinyq.serial.qemu import QemuSerial, SerialSpec, free_port

    pre, cls = micro_speech_paths()
    root = tmp_path / "micro_speech"
    main_args = ["generate", str(pre), str(cls), "-o", str(root), "--board", "qemu-m55", "--stride", "320",
                 "--labels", LABELS]
    main(main_args)
    board = get_board("qemu-m55")
    build = build_dut_firmware(root, board)
    audio = synthesized(1.0, 7)
    wav = tmp_path / "clip.npy"
    np.save(wav, audio)
    p = compile_pipeline(pre, cls, get_board("host"), stride=320, labels=tuple(LABELS.split(",")))
    with QemuSerial(board, build.elf, SerialSpec("tcp", free_port())) as q:
        with pytest.raises(SystemExit) as exit_info:
            main(["classify", "--port", q.url, "--model", str(root), "--timeout", "60", str(wav)])
        out = capsys.readouterr().out
        assert exit_info.value.code == 0, out
        want = golden_classification(pre.read_bytes(), cls.read_bytes(), p.shape, p.classifier.graph, audio)
        assert f"clip.npy: {want.label} (" in out and "49 frames; bit-exact with TFLM" in out
        assert "instructions" in out
        with pytest.raises(SystemExit) as exit_info:
            main(["classify", "--port", q.url, "--model", str(root), "--timeout", "60", str(wav), "--json"])
        report = json.loads(capsys.readouterr().out)
        assert exit_info.value.code == 0 and report["bit_exact"]
        (clip,) = report["clips"]
        assert clip["label"] == want.label == clip["tflm_label"] and clip["frames"] == 49 and clip["bit_exact"]
        assert set(clip["scores"]) == set(LABELS.split(",")) and clip["classifier_ticks"] > 0
        with Link(q.url, timeout=60) as link:
            link.sync()
            device = PipelineDevice(link)
            info = device.describe()
            assert (info.window, info.stride, info.frames, info.labels) == (480, 320, 49, tuple(LABELS.split(",")))
            clip = synthesized(0.25, 8)
            got = device.run(clip)
            want = golden_classification(pre.read_bytes(), cls.read_bytes(), p.shape, p.classifier.graph, clip)
            assert (got.features, got.outputs, got.frames, got.label) == (want.features, want.outputs, want.frames,
                                                                          want.label)
            assert got.frames == 12  # (4000 - 480) // 320 + 1
