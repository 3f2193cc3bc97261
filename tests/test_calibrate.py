"""`tinyq calibrate` end to end: the benchmark firmware's capture mode in QEMU (mps3-an547), its sensor
the UART stand-in fed with real samples (../shared/quant's digits, MLPerf Tiny's KWS frames), the
records back over QEMU's TCP port; the file it writes is what the device saw, `tinyq quantize --calib`
takes it as is, and the model quantized from it is scored with `tinyq eval`. Bad input is one line."""

import json
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
from tinyq.serial.capture import CaptureDevice
from tinyq.serial.dut import Dut
from tinyq.serial.firmware import build_dut_firmware
from tinyq.serial.link import DeviceError, Link
from tinyq.serial.qemu import QemuSerial, SerialSpec, free_port
from tinyq.tflite.reader import read_model_file
from test_serial_link import fake, info_reply, protocol  # noqa: F401 (fake: the fixture)

QEMU = pytest.mark.skipif(shutil.which("qemu-system-arm") is None or shutil.which("arm-none-eabi-gcc") is None,
                          reason="needs qemu-system-arm and arm-none-eabi-gcc")
BOARD = "qemu-m55"
TIMEOUT = 60.0  # QEMU's UART is slow on a loaded machine


def cli_error(capsys, *args) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(["calibrate", *map(str, args)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tinyq: error: ") and "Traceback" not in "".join(err)
    return err[-1]


def firmware(tmp_path, model_path):
    board = get_board(BOARD)
    compiled = compile_file(model_path, board)
    root = write_output_dir(tmp_path / compiled.source.name, generated_files(compiled, board, model_path))
    return build_dut_firmware(root, board).elf


def as_input(x: np.ndarray, model_path) -> tuple[np.ndarray, object]:
    graph = read_model_file(model_path)
    t = graph.tensors[graph.inputs[0]]
    return quantize_input(x, t), t


@pytest.mark.slow
@QEMU
def test_capture_in_qemu_then_quantize_and_eval(capsys, tmp_path):
    float_path = shared_file("quant", "models", "cnn_digits", "float32.tflite")
    int8_path = shared_file("quant", "models", "cnn_digits", "tfl_int8.tflite")
    x_test = shared_file("quant", "data", "digits", "x_test.npy")
    y_test = shared_file("quant", "data", "digits", "y_test.npy")
    x = np.load(shared_file("quant", "data", "digits", "x_calib.npy"))[:24]
    np.save(tmp_path / "sensor.npy", x)
    calib = tmp_path / "calib.npy"
    main(["calibrate", str(int8_path), "--board", BOARD, "--sensor", str(tmp_path / "sensor.npy"), "-o", str(calib),
          "--timeout", str(TIMEOUT)])
    out = capsys.readouterr().out
    assert f"captured {len(x)} frames" in out and "tinyq quantize" in out
    q, t = as_input(x, int8_path)
    got = np.load(calib)
    assert got.dtype == np.float32 and got.shape == x.shape  # N x the input's shape without its batch
    assert np.array_equal(got, ((q.astype(np.float64) - t.quant.zp) * t.quant.s).astype(np.float32))

    quantized = tmp_path / "from_device.tflite"
    main(["quantize", str(float_path), "--calib", str(calib), "-o", str(quantized)])
    capsys.readouterr()
    main(["eval", str(float_path), str(quantized), "--data", str(x_test), "--labels", str(y_test), "--json"])
    result = json.loads(capsys.readouterr().out)
    top1 = [m["classification"]["top1"] for m in result["models"]]
    assert top1[1] >= top1[0] - 0.02  # calibrated on 24 device frames, within 2 points of float


@pytest.mark.slow
@QEMU
def test_capture_from_a_float_model_firmware(capsys, tmp_path):
    """A device that runs the float model: its float32 inputs come back bit for bit, as calibration data."""
    float_path = shared_file("quant", "models", "mlp_digits", "float32.tflite")
    x = np.load(shared_file("quant", "data", "digits", "x_calib.npy"))[:10].reshape(10, 64)
    x[0, :3] = (np.float32(1e-40), np.float32(-0.0), np.float32(3.4e38))  # subnormal, -0, near max
    np.save(tmp_path / "sensor.npy", x)
    main(["calibrate", str(float_path), "--board", BOARD, "--sensor", str(tmp_path / "sensor.npy"), "-o",
          str(tmp_path / "c.npy"), "--timeout", str(TIMEOUT)])
    got = np.load(tmp_path / "c.npy")
    assert got.dtype == np.float32 and got.tobytes() == x.tobytes()
    assert "dequantized" not in capsys.readouterr().out


@pytest.mark.slow
@QEMU
def test_capture_over_the_port_of_a_kws_firmware(capsys, tmp_path):
    """MLPerf Tiny's KWS firmware served by QEMU on a TCP port: raw int8 frames from a .bin come back
    byte for byte, the model ran on each (its outputs are TFLM's for the last record), a device whose
    sensor has nothing to give and firmware of another model are refused in one line."""
    model = shared_file("models", "mlperf-tiny", "kws_dscnn_int8.tflite")
    frames = np.random.default_rng(5).integers(-128, 128, size=(8, 49, 10, 1), dtype=np.int8)
    (tmp_path / "frames.bin").write_bytes(frames.tobytes())
    with QemuSerial(get_board(BOARD), firmware(tmp_path, model), SerialSpec("tcp", free_port())) as q:
        out = tmp_path / "calib.npy"
        main(["calibrate", str(model), "--port", q.url, "--sensor", str(tmp_path / "frames.bin"), "-o", str(out),
              "--raw", "-n", "8", "--timeout", str(TIMEOUT)])
        assert "captured 8 frames" in capsys.readouterr().out
        got = np.load(out)
        assert got.dtype == np.int8 and np.array_equal(got, frames)

        with Link(q.url, timeout=TIMEOUT) as link:
            link.sync()
            dut, device = Dut(link), CaptureDevice(link)
            spec, = device.inputs()
            assert (spec.dtype, spec.shape, spec.name) == ("int8", (1, 49, 10, 1), "input_1")
            dut.load(frames[3].tobytes())
            records = device.capture(3, TIMEOUT)  # the stand-in sensor holds one frame: one record
            assert records == [frames[3].tobytes()]
            outputs = link.command("tinyq-outputs", answers=True)
            want = tflm_run(model.read_bytes(), [[frames[3].reshape(1, 49, 10, 1)]])[0][0]
            assert outputs == [f"m-tinyq-outputs-[{want.tobytes().hex()}]"]
            for count in ("0", "x", "1000001", "99999999999"):  # digits only, 1-1000000, no overflow
                with pytest.raises(DeviceError, match="Capture needs a frame count 1-1000000"):
                    link.command(f"tinyq-capture {count}")

        assert "the device's sensor gave no frame" in cli_error(capsys, "--port", q.url, "-o", tmp_path / "c.npy",
                                                                "--timeout", TIMEOUT)
        other = shared_file("models", "mlperf-tiny", "ad_fc_autoencoder_int8.tflite")
        assert "wrong firmware" in cli_error(capsys, other, "--port", q.url, "-o", tmp_path / "c.npy")
        np.save(tmp_path / "bad.npy", np.zeros((4, 49, 10), np.float32))
        assert "takes N x (49, 10, 1)" in cli_error(capsys, "--port", q.url, "--sensor", tmp_path / "bad.npy",
                                                    "-o", tmp_path / "c.npy")
        assert "holds 8 frames; -n asks for 9" in cli_error(capsys, "--port", q.url, "--sensor",
                                                            tmp_path / "frames.bin", "-n", 9, "-o", tmp_path / "c.npy")
        (tmp_path / "odd.bin").write_bytes(b"\0" * 491)
        assert "not whole frames of 490 bytes" in cli_error(capsys, "--port", q.url, "--sensor", tmp_path / "odd.bin",
                                                            "-o", tmp_path / "c.npy")
    assert not (tmp_path / "c.npy").exists()  # nothing half-written


@pytest.mark.slow
@QEMU
def test_capture_of_a_two_input_model_into_an_npz(capsys, tmp_path):
    """Each input described by the firmware, each record split per input: an .npz with one array per
    input, named like it, dequantized with that input's own scale; a .npy cannot hold two inputs."""
    from tinyq.tflite.builder import GraphBuilder
    from tinyq.tflite.writer import write_model

    b = GraphBuilder("two_inputs")
    x1 = b.input((1, 4, 4, 2), scale=0.05, zero_point=3, name="image")
    x2 = b.input((1, 8), scale=0.25, zero_point=-10, name="extra")
    y1, y2 = b.activation((1, 4, 4, 2), scale=0.05, zero_point=3), b.activation((1, 8), scale=0.25, zero_point=-10)
    b.op("relu", [x1], [y1])
    b.op("relu", [x2], [y2])
    model = tmp_path / "two_inputs.tflite"
    model.write_bytes(write_model(b.build([y1, y2])))
    rng = np.random.default_rng(2)
    image = rng.integers(-128, 128, (3, 4, 4, 2), dtype=np.int8)
    extra = rng.integers(-128, 128, (3, 8), dtype=np.int8)
    (tmp_path / "frames.bin").write_bytes(b"".join(image[i].tobytes() + extra[i].tobytes() for i in range(3)))
    with QemuSerial(get_board(BOARD), firmware(tmp_path, model), SerialSpec("tcp", free_port())) as q:
        main(["calibrate", "--port", q.url, "--sensor", str(tmp_path / "frames.bin"), "-o", str(tmp_path / "c.npz"),
              "--timeout", str(TIMEOUT)])
        capsys.readouterr()
        assert "a .npy holds one" in cli_error(capsys, "--port", q.url, "--sensor", tmp_path / "frames.bin",
                                               "-o", tmp_path / "c.npy", "--timeout", TIMEOUT)
    with np.load(tmp_path / "c.npz") as got:
        assert sorted(got.files) == ["extra", "image"]
        scale = float(np.float32(0.05))  # the file's float32 scale
        assert np.array_equal(got["image"], ((image.astype(np.float64) - 3) * scale).astype(np.float32))
        assert np.array_equal(got["extra"], ((extra.astype(np.float64) + 10) * 0.25).astype(np.float32))
    assert not (tmp_path / "c.npy").exists()


SENSOR_C = """#include <stdint.h>
/* An application's sensor: frame k holds the bytes k, k+1, k+2, ... (a board would read its camera). */
int tq_sensor_read(uint8_t *input, uint32_t bytes) {
  static uint8_t frame;
  for (uint32_t i = 0; i < bytes; ++i) input[i] = (uint8_t)(frame + i);
  ++frame;
  return 1;
}
"""


@pytest.mark.slow
@QEMU
def test_capture_from_the_applications_own_sensor(capsys, tmp_path):
    """A project whose application defines tq_sensor_read (a .c file in its model/ folder replaces the
    UART stand-in): `tinyq calibrate --port P -n N` with no --sensor collects what that sensor gives."""
    model = shared_file("quant", "models", "mlp_digits", "tfl_int8.tflite")
    board = get_board(BOARD)
    compiled = compile_file(model, board)
    root = write_output_dir(tmp_path / "proj", generated_files(compiled, board, model))
    (root / "model" / "my_sensor.c").write_text(SENSOR_C)
    elf = build_dut_firmware(root, board).elf
    with QemuSerial(board, elf, SerialSpec("tcp", free_port())) as q:
        main(["calibrate", str(root), "--port", q.url, "-n", "5", "--raw", "-o", str(tmp_path / "c.npy"),
              "--timeout", str(TIMEOUT)])
    assert "captured 5 frames" in capsys.readouterr().out
    want = np.array([[(k + i) % 256 for i in range(64)] for k in range(5)], np.uint8).view(np.int8)
    assert np.array_equal(np.load(tmp_path / "c.npy"), want)


def test_bad_usage_is_one_line(capsys, tmp_path):
    model = shared_file("quant", "models", "cnn_digits", "tfl_int8.tflite")
    assert "give --port P" in cli_error(capsys, "-o", tmp_path / "c.npy")
    assert "give --port P" in cli_error(capsys, model, "--port", "x", "--board", BOARD, "-o", tmp_path / "c.npy")
    assert "--board needs the MODEL" in cli_error(capsys, "--board", BOARD, "-o", tmp_path / "c.npy")
    assert "QEMU has no sensor" in cli_error(capsys, model, "--board", BOARD, "-o", tmp_path / "c.npy")
    dead = f"socket://127.0.0.1:{free_port()}"
    assert "nothing listens at this address" in cli_error(capsys, "--port", dead, "-o", tmp_path / "c.npy")
    assert not (tmp_path / "c.npy").exists()


@pytest.mark.slow
@QEMU
def test_a_pipeline_captures_the_features_its_frontend_computed(capsys, tmp_path):
    """TFLM's micro_speech as one firmware (audio preprocessor + classifier) in QEMU: its sensor is the
    frontend, so each record is the classifier's input computed on the device from an audio clip sent
    over the UART, byte for byte the feature rows TFLM computes from the same clip."""
    from test_micro_speech import LABELS, micro_speech_paths, synthesized
    from tinyq.build.pipeline import compile_pipeline
    from tinyq.pipeline import golden_classification

    pre, cls = micro_speech_paths()
    root = tmp_path / "micro_speech"
    main(["generate", str(pre), str(cls), "-o", str(root), "--board", BOARD, "--stride", "320", "--labels", LABELS])
    clips = np.stack([synthesized(0.25, seed) for seed in (1, 2, 3)])
    np.save(tmp_path / "clips.npy", clips)
    main(["calibrate", str(root), "--board", BOARD, "--sensor", str(tmp_path / "clips.npy"), "--raw",
          "-o", str(tmp_path / "c.npy"), "--timeout", str(TIMEOUT)])
    assert "captured 3 frames" in capsys.readouterr().out
    got = np.load(tmp_path / "c.npy")
    p = compile_pipeline(pre, cls, get_board("host"), stride=320, labels=tuple(LABELS.split(",")))
    for record, clip in zip(got, clips):
        want = golden_classification(pre.read_bytes(), cls.read_bytes(), p.shape, p.classifier.graph, clip)
        assert record.tobytes() == want.features
    np.save(tmp_path / "short.npy", clips[:, :400])
    assert "shorter than the frontend's window (480)" in cli_error(capsys, root, "--board", BOARD, "--sensor",
                                                                   tmp_path / "short.npy", "-o", tmp_path / "d.npy")


class SensorBoard:
    """A scripted board (as tests/test_serial_link.py's) with the capture commands over a UART sensor:
    the captures numbered in `tear` (from 0) are answered with a torn line."""

    INPUT = "int8,1x8,0.5,-3,x"

    def __init__(self, capture_mode=True, tear=(), record_bytes=8):
        self.capture_mode, self.tear, self.record_bytes = capture_mode, tear, record_bytes
        self.db, self.expect, self.captures = bytearray(), 0, 0

    def __call__(self, cmd):
        parts = cmd.split(" ")
        if parts[0] == "tinyq-inputs" and self.capture_mode:
            return f"m-tinyq-input-[{self.INPUT}]\r\n"
        if parts[:2] == ["db", "load"]:
            self.expect, self.db = int(parts[2]), bytearray()
            return f"m-[Expecting {self.expect} bytes]\r\n"
        if parts[0] == "db":
            self.db += bytes.fromhex(parts[1])
            return "m-load-done\r\n" if len(self.db) == self.expect else ""
        if parts[0] == "tinyq-capture" and self.capture_mode:
            record = bytes(self.db[:self.record_bytes]).hex()
            self.db = bytearray()
            self.captures += 1
            if self.captures - 1 in self.tear:
                return f"m-tinyq-rec\x00\xff[{record}]\r\nm-tinyq-captured-[1]\r\n"
            return f"m-tinyq-record-[{record}]\r\nm-tinyq-captured-[1]\r\n"
        return protocol({"tinyq": lambda c: info_reply(input_bytes=8)})(cmd)


def test_a_torn_capture_reply_is_resynced_and_the_frame_fed_again(fake, tmp_path, capsys):
    frames = np.arange(-40, 40, dtype=np.int8).reshape(10, 8)
    (tmp_path / "f.bin").write_bytes(frames.tobytes())
    board = fake(SensorBoard(tear=(0, 6)))
    main(["calibrate", "--port", board.url, "--sensor", str(tmp_path / "f.bin"), "-o", str(tmp_path / "c.npy"),
          "--timeout", "8"])
    got = np.load(tmp_path / "c.npy")
    assert np.array_equal(got, ((frames.astype(np.float64) + 3) * 0.5).astype(np.float32))
    assert sum(c.startswith("tinyq-sync-") for c in board.commands) >= 2  # one resync per torn reply
    assert board.commands.count("tinyq-capture 1") == 12


def test_json_says_what_was_captured_and_written(fake, tmp_path, capsys):
    frames = np.arange(-20, 20, dtype=np.int8).reshape(5, 8)
    (tmp_path / "f.bin").write_bytes(frames.tobytes())
    for raw in ([], ["--raw"]):
        board = fake(SensorBoard())  # a scripted board serves one connection
        out = tmp_path / f"c{len(raw)}.npy"
        main(["calibrate", "--port", board.url, "--sensor", str(tmp_path / "f.bin"), "-o", str(out), "--timeout", "8",
              "--json", *raw])
        report = json.loads(capsys.readouterr().out)  # stdout is the JSON alone
        saved = np.load(out)
        assert report["output"] == str(out) and report["frames"] == 5 and report["port"] == board.url
        (spec,) = report["inputs"]
        assert (spec["dtype"], spec["shape"], spec["scale"], spec["zero_point"]) == ("int8", [1, 8], 0.5, -3)
        assert (spec["saved_dtype"], spec["saved_shape"]) == (str(saved.dtype), list(saved.shape))
        assert spec["saved_dtype"] == ("int8" if raw else "float32")


def test_capture_faults_are_one_line(fake, tmp_path, capsys):
    (tmp_path / "f.bin").write_bytes(bytes(16))
    old = fake(SensorBoard(capture_mode=False))
    assert "the firmware has no capture mode" in cli_error(capsys, "--port", old.url, "-o", tmp_path / "c.npy",
                                                           "--timeout", 8)
    short = fake(SensorBoard(record_bytes=5))
    assert "a record of 5 bytes; the inputs take 8" in cli_error(capsys, "--port", short.url, "--sensor",
                                                                 tmp_path / "f.bin", "-o", tmp_path / "c.npy",
                                                                 "--timeout", 8)
    noisy = fake(SensorBoard(tear=(1, 2)))  # the same frame torn twice: one retry only
    assert "garbled reply to 'tinyq-capture 1'" in cli_error(capsys, "--port", noisy.url, "--sensor",
                                                             tmp_path / "f.bin", "-o", tmp_path / "c.npy",
                                                             "--timeout", 8)
    assert not (tmp_path / "c.npy").exists()
