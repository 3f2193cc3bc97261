"""`tinyq calibrate`: calibration data captured where the model is deployed ("calibrate on the edge").

The benchmark firmware's capture mode (firmware/tq_capture.h) sends back every frame its sensor gives
the model; N of them become calib.npy, which `tinyq quantize --calib` takes as is: the records of a
quantized input are dequantized with its scale and zero point into the float values the float model
takes (N x the input's shape without its batch), or kept in the input's type with --raw.
`--board qemu-*` builds the firmware of MODEL (or a project folder) and boots it in QEMU, whose sensor
is the UART stand-in: the frames of --sensor FILE are fed over the emulated UART one by one. A
pipeline's firmware (frontend + classifier) captures the classifier's input, the feature rows its
frontend computed on the device; its --sensor is audio, one clip per frame.
"""

from __future__ import annotations

import io
import json
import tempfile
from functools import partial
from pathlib import Path

import click
import numpy as np

from tinyq.errors import TinyqError
from tinyq.serial.capture import CaptureDevice, InputSpec

DEFAULT_FRAMES = 100


def _echo_err(message: str) -> None:
    click.echo(message, err=True)


def sensor_frames(path: Path, specs: tuple[InputSpec, ...]) -> list[bytes]:
    """The frames of --sensor FILE as the model's input bytes: a .bin of whole frames back to back, or a .npy
    (single input) / .npz (one array per input) of N samples, float values quantized as the input takes them."""
    from tinyq.eval.data import check_array, quantize_input, read_array, read_npz

    frame_bytes = sum(s.nbytes for s in specs)
    if path.suffix.lower() == ".bin":
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise TinyqError(f"cannot read the sensor file ({exc.strerror})", where=str(path)) from None
        if not data or len(data) % frame_bytes:
            raise TinyqError(f"holds {len(data):,} bytes, not whole frames of {frame_bytes} bytes (the model's inputs)",
                             where=str(path), hint="a .bin of raw input frames back to back, or a .npy of samples")
        return [data[i:i + frame_bytes] for i in range(0, len(data), frame_bytes)]
    if len(specs) != 1 and path.suffix.lower() != ".npz":
        raise TinyqError(f"the model has {len(specs)} inputs; a .npy holds frames for one", where=str(path),
                         hint="give a .bin of whole frames")
    if path.suffix.lower() == ".npz":
        arrays = read_npz(path, [s.name for s in specs])
    else:
        arrays = [read_array(path, "sensor data")]
    converted = []
    for array, spec in zip(arrays, specs):
        check_array(array, spec.tensor(), str(path))
        converted.append(quantize_input(array, spec.tensor()))
    return [b"".join(np.ascontiguousarray(c[i]).tobytes() for c in converted) for i in range(len(converted[0]))]


def capture(url: str, frames: int | None, sensor: Path | None, baud: int, timeout: float,
            model: Path | None = None) -> tuple[CaptureDevice, list[np.ndarray], str]:
    """N frames from the device at `url`: (the device, one array per input, what runs there)."""
    from tinyq.progress import Progress
    from tinyq.serial.dut import Dut
    from tinyq.serial.firmware import model_hash
    from tinyq.serial.link import Link

    with Link(url, baud=baud, timeout=timeout) as link:
        link.sync()
        dut = Dut(link)
        info = dut.info()
        if model is not None:
            dut.check_model(info, model, model_hash(model))
        device = CaptureDevice(link)
        specs = device.inputs()
        stream = _pipeline(link)
        feeds = None
        if sensor is not None and stream is not None:  # a pipeline's sensor is its frontend: audio clips
            feeds = [partial(_stream_clip, stream, clip) for clip in audio_clips(sensor, stream.info)]
        elif sensor is not None:  # the UART stand-in: one frame loaded into db per capture
            feeds = [partial(dut.load, frame) for frame in sensor_frames(sensor, specs)]
        if feeds is not None and frames is not None and frames > len(feeds):
            raise TinyqError(f"the sensor file holds {len(feeds)} frames; -n asks for {frames}", where=str(sensor))
        count = frames or (len(feeds) if feeds is not None else DEFAULT_FRAMES)
        records: list[bytes] = []
        progress = Progress(f"capturing from {info.model}")
        try:
            for k in range(count):
                records.append(device.take(feeds[k] if feeds is not None else None, timeout))
                progress.update(len(records), count)
        finally:
            progress.close()
    return device, device.decode(records), f"{info.model} on {info.board}"


def _pipeline(link):
    """The device's streaming commands when it runs a frontend + classifier pipeline, else None."""
    from tinyq.serial.link import DeviceError
    from tinyq.serial.pipeline import PipelineDevice

    try:
        link.command("tinyq-pipeline", answers=True)
    except DeviceError:  # not a pipeline (the link has read the refusal's m-ready)
        return None
    stream = PipelineDevice(link)
    stream.describe()
    return stream


def audio_clips(path: Path, info) -> list[bytes]:
    """A pipeline's --sensor: a .npy of clips (one per row; 1-D: one clip) of the frontend's samples, or
    a 16-bit mono .wav (one clip); each clip must fill at least one window."""
    from tinyq.eval.data import read_array

    if path.suffix.lower() == ".wav":
        from tinyq.serial.pipeline import read_audio

        clips = [read_audio(path, np.int16)]
    else:
        array = read_array(path, "audio")
        if array.dtype.itemsize != info.sample_bytes or array.ndim not in (1, 2):
            raise TinyqError(f"holds {array.dtype} values of shape {tuple(array.shape)}; the frontend takes "
                             f"{info.sample_bytes}-byte samples, one clip per row", where=str(path),
                             hint="a .npy of N x samples (int16 audio) or a 16-bit mono .wav")
        clips = list(array) if array.ndim == 2 else [array]
    short = [len(c) for c in clips if len(c) < info.window]
    if short:
        raise TinyqError(f"a clip of {short[0]} samples is shorter than the frontend's window ({info.window})",
                         where=str(path), hint="give clips of at least one window, e.g. a second of audio")
    return [np.ascontiguousarray(c).tobytes() for c in clips]


def _stream_clip(stream, clip: bytes) -> None:
    """A fresh stream with this clip's audio pushed through the frontend (its rows: the next frame)."""
    stream.reset()
    stream.push(clip)


def calibration_arrays(device: CaptureDevice, arrays: list[np.ndarray], raw: bool) -> list[np.ndarray]:
    """Quantized inputs dequantized to float32 (what `tinyq quantize --calib` takes), unless `raw`."""
    out = []
    for spec, array in zip(device.specs, arrays):
        if raw or spec.scale <= 0 or array.dtype.kind == "f":
            out.append(np.array(array))
        else:
            out.append(((array.astype(np.float64) - spec.zero_point) * spec.scale).astype(np.float32))
    return out


def save(path: Path, specs: tuple[InputSpec, ...], arrays: list[np.ndarray]) -> None:
    from tinyq.codegen.output import write_output_file

    buffer = io.BytesIO()
    if path.suffix.lower() == ".npz":
        np.savez(buffer, **{s.name: a for s, a in zip(specs, arrays)})
    elif len(arrays) == 1:
        np.save(buffer, arrays[0])
    else:
        raise TinyqError(f"the model has {len(arrays)} inputs: a .npy holds one", where=str(path),
                         hint="name the output .npz (one array per input)")
    write_output_file(path, buffer.getvalue())  # renamed over it: never half-written


@click.command("calibrate")
@click.argument("model", metavar="[MODEL|PROJECT]", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--port", default=None, help="The device running the benchmark firmware (/dev/ttyACM0, "
              "socket://127.0.0.1:5555 for tinyq qemu).")
@click.option("--board", default=None, help="Boot MODEL's (or PROJECT's) benchmark firmware in QEMU (qemu-m55, ...) "
              "and capture there; its sensor is --sensor FILE fed over the UART.")
@click.option("--sensor", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Frames for a firmware whose sensor is the UART stand-in: .npy/.npz samples (floats are quantized "
                   "as the input takes them) or a .bin of raw input frames.")
@click.option("-o", "--output", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="calib.npy (one input) or calib.npz (one array per input).")
@click.option("-n", "--frames", type=click.IntRange(min=1), default=None,
              help=f"Frames to capture (default: every frame of --sensor, else {DEFAULT_FRAMES}).")
@click.option("--raw", is_flag=True, help="Keep quantized inputs in their integer type (default: dequantized float32, "
              "what tinyq quantize --calib takes).")
@click.option("--baud", default=115200, show_default=True)
@click.option("--timeout", default=30.0, show_default=True, help="Seconds a frame (or an exchange) may take.")
@click.option("--json", "as_json", is_flag=True, help="Print what was captured and written as JSON.")
def calibrate_command(model: Path | None, port: str | None, board: str | None, sensor: Path | None, out_path: Path,
                      frames: int | None, raw: bool, baud: int, timeout: float, as_json: bool):
    """Collect the inputs a device's model sees into calibration data for tinyq quantize.

    \b
    tinyq calibrate --port /dev/ttyACM0 -o calib.npy -n 200          a board and its sensor
    tinyq calibrate kws_int8.tflite --board qemu-m55 --sensor x.npy -o calib.npy
    tinyq quantize kws_float.tflite --calib calib.npy -o kws_int8.tflite
    """
    from tinyq.codegen.output import check_output_file

    if (port is None) == (board is None):
        raise click.UsageError("give --port P (a device) or --board B with MODEL (QEMU)")
    if board is not None and model is None:
        raise click.UsageError("--board needs the MODEL (or PROJECT) whose firmware to boot")
    if board is not None and sensor is None:
        raise click.UsageError("QEMU has no sensor: --board needs --sensor FILE (the frames fed over its UART)")
    check_output_file(out_path)
    if port is not None:
        model_file = _model_file(model) if model is not None else None
        device, arrays, source = capture(port, frames, sensor, baud, timeout, model_file)
    else:
        device, arrays, source = _capture_in_qemu(model, board, frames, sensor, baud, timeout)
    values = calibration_arrays(device, arrays, raw)
    save(out_path, device.specs, values)
    if as_json:
        click.echo(json.dumps({"output": str(out_path), "frames": len(arrays[0]), "source": source, "port": port,
                               "inputs": [{"name": spec.name, "dtype": spec.dtype, "shape": list(spec.shape),
                                           "scale": spec.scale, "zero_point": spec.zero_point,
                                           "saved_dtype": str(v.dtype), "saved_shape": list(v.shape)}
                                          for spec, v in zip(device.specs, values)]}, indent=2))
        return
    shapes = ", ".join(f"{v.dtype} {tuple(v.shape)}" for v in values)
    via = f" via {port}" if port else ""
    click.echo(f"captured {len(arrays[0])} frames from {source}{via} into {out_path}: {shapes}")
    for spec in device.specs:
        if spec.scale > 0 and not raw:
            click.echo(f"  input {spec.describe()}: dequantized to the float values the float model takes")
    click.echo(f"  use them: tinyq quantize FLOAT_MODEL.tflite --calib {out_path} -o MODEL_int8.tflite")


def _model_file(path: Path) -> Path:
    if path.is_dir():
        from tinyq.build.project import load_project

        return load_project(path).model_path
    return path


def _capture_in_qemu(path: Path, board_name: str, frames, sensor, baud, timeout):
    """Build the firmware (a project folder, or MODEL generated into a temporary one), serve it from QEMU
    on a free local port, and capture over that port."""
    from tinyq.boards import get_board
    from tinyq.run.qemu import qemu_board_for
    from tinyq.serial.firmware import build_dut_firmware
    from tinyq.serial.qemu import QemuSerial, SerialSpec

    board = qemu_board_for(get_board(board_name))
    with tempfile.TemporaryDirectory(prefix="tinyq-calibrate-") as tmp:
        root = path if path.is_dir() else _generate(path, board, Path(tmp))
        _echo_err(f"building the benchmark firmware of {root.name} for {board.name} ...")
        build = build_dut_firmware(root, board)
        with QemuSerial(board, build.elf, SerialSpec("tcp", 0)) as q:
            _echo_err(f"QEMU {board.qemu.machine} serves it on {q.url}")
            return capture(q.url, frames, sensor, baud, timeout)


def _generate(model: Path, board, tmp: Path) -> Path:
    from tinyq.build.project import generated_files
    from tinyq.codegen import write_output_dir
    from tinyq.driver import compile_file

    compiled = compile_file(model, board)
    return write_output_dir(tmp / compiled.source.name, generated_files(compiled, board, model))
