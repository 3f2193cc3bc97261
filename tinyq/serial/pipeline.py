"""`tinyq classify`: audio in, label out, on a board (or in QEMU) running a pipeline's firmware.

The firmware of a project generated from a frontend and a classifier (tinyq/build/pipeline.py)
answers the streaming commands of firmware/tq_pipeline_dut.c. The client resets the stream, sends
the samples (`tinyq-audio`, 120 bytes a line), asks for the classification, and checks it against
TFLM running the project's two .tflite files on the same samples (tinyq/pipeline.py): the
classifier's output bytes and the feature rows must be equal.
"""

from __future__ import annotations

import json
import re
import sys
import wave
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from tinyq.commands.options import json_format
from tinyq.errors import TinyqError
from tinyq.serial.dut import HEX, TINYQ_LINE, Dut
from tinyq.serial.link import MAX_LINE, GarbledReply, Link

AUDIO_BYTES_PER_LINE = 120  # "tinyq-audio " + 240 hex digits fit the firmware's 255-character commands
SHAPE_FIELDS = {"window": "window", "stride": "stride", "frames": "frames", "feature-bytes": "feature_bytes",
                "sample-bytes": "sample_bytes", "classes": "classes"}
PAIR = re.compile(r"^([a-z-]+)=([0-9]+)$")


@dataclass(frozen=True)
class PipelineInfo:
    window: int
    stride: int
    frames: int
    feature_bytes: int
    sample_bytes: int
    classes: int
    labels: tuple[str, ...]
    frontend_hash: str
    classifier_hash: str


@dataclass(frozen=True)
class DeviceClassification:
    label: str
    index: int
    scores: tuple[float, ...]  # as the device prints them (%0.3f)
    outputs: bytes  # every classifier output, back to back
    frames: int
    classifier_ticks: int
    frontend_ticks: int  # all frontend invokes of the audio sent
    features: bytes


def _values(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        m = TINYQ_LINE.match(line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


class PipelineDevice:
    """The streaming commands over a Link (one exchange per command, strict parsing)."""

    def __init__(self, link: Link):
        self.link = link
        self.info: PipelineInfo | None = None

    def _need(self, values: dict[str, str], key: str, cmd: str) -> str:
        if key not in values:
            raise GarbledReply(f"the reply to '{cmd}' has no m-tinyq-{key}-[...] line", where=self.link.url)
        return values[key]

    def _int(self, values: dict[str, str], key: str, cmd: str) -> int:
        text = self._need(values, key, cmd)
        if not text.isdigit():
            raise GarbledReply(f"bad m-tinyq-{key} value '{text[:40]}'", where=self.link.url)
        return int(text)

    def describe(self) -> PipelineInfo:
        from tinyq.serial.link import DeviceError

        try:
            values = _values(self.link.command("tinyq-pipeline", answers=True))
        except DeviceError:
            raise TinyqError("the device runs no pipeline firmware (it does not know 'tinyq-pipeline')",
                             where=self.link.url, hint="generate the project from a frontend and a classifier: "
                             "tinyq generate FRONTEND CLASSIFIER -o DIR --board B --stride N") from None
        shape = {}
        for item in self._need(values, "pipeline", "tinyq-pipeline").split(","):
            m = PAIR.match(item)
            if m and m.group(1) in SHAPE_FIELDS:
                shape[SHAPE_FIELDS[m.group(1)]] = int(m.group(2))
        if len(shape) != len(SHAPE_FIELDS):
            raise GarbledReply("the tinyq-pipeline reply lacks a field", where=self.link.url)
        labels = tuple(self._need(values, "labels", "tinyq-pipeline").split(","))
        self.info = PipelineInfo(**shape, labels=labels,
                                 frontend_hash=self._need(values, "frontend-hash", "tinyq-pipeline"),
                                 classifier_hash=self._need(values, "classifier-hash", "tinyq-pipeline"))
        return self.info

    def reset(self) -> None:
        values = _values(self.link.command("tinyq-audio-reset", answers=True))
        if self._int(values, "frames", "tinyq-audio-reset") != 0:
            raise GarbledReply("the device still counts frames after 'tinyq-audio-reset'", where=self.link.url)

    def push(self, data: bytes) -> tuple[int, int]:
        """Send the samples' bytes; (frames since reset, ticks the frontend took)."""
        per_line = AUDIO_BYTES_PER_LINE - AUDIO_BYTES_PER_LINE % self.info.sample_bytes
        frames, ticks = 0, 0
        for start in range(0, len(data), per_line):
            cmd = "tinyq-audio " + data[start:start + per_line].hex()
            values = _values(self.link.command(cmd, answers=True))
            frames = self._int(values, "frames", "tinyq-audio")
            ticks += self._int(values, "frontend-ticks", "tinyq-audio")
        return frames, ticks

    def classify(self, frontend_ticks: int = 0) -> DeviceClassification:
        rows = self.info.frames * self.info.feature_bytes
        values = _values(self.link.command("tinyq-classify", answers=True))
        scores_text = self._need(values, "scores", "tinyq-classify")
        try:
            scores = tuple(float(x) for x in scores_text.split(","))
        except ValueError:
            raise GarbledReply(f"bad scores '{scores_text[:60]}'", where=self.link.url) from None
        outputs = self._need(values, "outputs", "tinyq-classify")
        if not HEX.match(outputs) or len(outputs) % 2:
            raise GarbledReply("bad outputs line", where=self.link.url)
        features = _values(self.link.command("tinyq-features", answers=True, max_line=max(MAX_LINE, 2 * rows + 64)))
        rows_hex = self._need(features, "features", "tinyq-features")
        if not HEX.match(rows_hex) or len(rows_hex) != 2 * rows:
            raise GarbledReply(f"the features line holds {len(rows_hex) // 2} bytes, not {rows}", where=self.link.url)
        cmd = "tinyq-classify"
        return DeviceClassification(label=self._need(values, "label", cmd), index=self._int(values, "class", cmd),
                                    scores=scores, outputs=bytes.fromhex(outputs),
                                    frames=self._int(values, "frames", cmd),
                                    classifier_ticks=self._int(values, "classifier-ticks", cmd),
                                    frontend_ticks=frontend_ticks, features=bytes.fromhex(rows_hex))

    def run(self, samples: np.ndarray) -> DeviceClassification:
        """Reset, send every sample, classify."""
        self.reset()
        _, ticks = self.push(np.ascontiguousarray(samples).tobytes())
        return self.classify(ticks)


def read_audio(path: Path, dtype) -> np.ndarray:
    """Samples of a 16-bit PCM mono .wav, or of a .npy array (any shape: flattened)."""
    path = Path(path)
    try:
        if path.suffix.lower() == ".npy":
            data = np.load(path, allow_pickle=False).reshape(-1)
            if data.dtype != np.dtype(dtype):
                raise TinyqError(f"holds {data.dtype} samples; the frontend reads {np.dtype(dtype).name}",
                                 where=str(path), hint=f"save the samples as {np.dtype(dtype).name}")
            return data
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1:
                raise TinyqError(f"is {8 * w.getsampwidth()}-bit audio with {w.getnchannels()} channel(s); the "
                                 "frontend reads 16-bit mono samples", where=str(path),
                                 hint="convert it: sox IN -b 16 -c 1 OUT.wav")
            data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        if np.dtype(dtype) != np.int16:
            raise TinyqError(f"is 16-bit audio; the frontend reads {np.dtype(dtype).name}", where=str(path),
                             hint="give the samples as a .npy of that type")
        return data.astype(np.int16)
    except (OSError, EOFError, wave.Error, ValueError) as exc:
        raise TinyqError(f"cannot read the audio ({type(exc).__name__}: {str(exc)[:120]})", where=str(path),
                         hint="a 16-bit PCM mono .wav or a .npy of samples") from None


def _clock(info):
    """Ticks as instructions (QEMU -icount) or cycles at the board clock."""
    if info.on_qemu:
        per_tick = 1e9 / info.tick_hz / (1 << info.qemu_icount_shift)
        return lambda ticks: f"{round(ticks * per_tick):,} instructions"
    return lambda ticks: f"{round(ticks * info.clock_hz / info.tick_hz):,} cycles"


@click.command("classify")
@click.argument("audio", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--port", required=True, help="The device or QEMU: /dev/ttyACM0, socket://127.0.0.1:5555 (tinyq qemu).")
@click.option("--model", "project_dir", required=True, type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The project generated from the frontend and the classifier: the golden models.")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds one command may take.")
@click.option("--baud", default=115200, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="One line per clip, or JSON: label, scores, frames, bit-exact and timing per clip.")
@json_format
def classify_command(audio: tuple[Path, ...], port: str, project_dir: Path, timeout: float, baud: int, fmt: str):
    """Send AUDIO (16-bit mono .wav or .npy samples) through a pipeline firmware: the frontend over
    its windows, the classifier over the rows; print the label and scores and compare them with
    TFLM running the project's two models on the same samples, byte for byte.

    Exits 0 when every classification (scores and feature rows) is bit-exact, 1 otherwise.
    """
    from tinyq.build.pipeline import file_hash, load_pipeline
    from tinyq.pipeline import golden_classification, pipeline_shape
    from tinyq.tflite.reader import read_model_file

    project = load_pipeline(project_dir)
    frontend, classifier = read_model_file(project.frontend_path), read_model_file(project.classifier_path)
    shape = pipeline_shape(frontend, classifier, project.stride, project.labels)
    dtype = np.dtype(np.int16 if shape.sample_dtype == "int16" else shape.sample_dtype)
    exact, records = True, []
    with Link(port, baud=baud, timeout=timeout) as link:
        link.sync()
        clock = _clock(Dut(link).info())
        device = PipelineDevice(link)
        info = device.describe()
        if (info.frontend_hash, info.classifier_hash) != (file_hash(project.frontend_path),
                                                          file_hash(project.classifier_path)):
            raise TinyqError("the device runs another pipeline (its models' hashes differ from the project's)",
                             where=port, hint=f"flash the firmware built from {project.root}")
        for path in audio:
            samples = read_audio(path, dtype)
            click.echo(f"{path.name}: sending {samples.size:,} samples ...", err=True)
            got = device.run(samples)
            want = golden_classification(project.frontend_path.read_bytes(), project.classifier_path.read_bytes(),
                                         shape, classifier, samples)
            same = got.outputs[:len(want.outputs)] == want.outputs and got.features == want.features
            exact &= same
            records.append({"file": str(path), "label": got.label, "tflm_label": want.label,
                            "scores": dict(zip(shape.labels, (float(v) for v in got.scores))), "frames": got.frames,
                            "bit_exact": same, "frontend_ticks": got.frontend_ticks,
                            "classifier_ticks": got.classifier_ticks})
            if fmt == "json":
                continue
            scores = ", ".join(f"{label} {score:.3f}" for label, score in zip(shape.labels, got.scores))
            click.echo(f"{path.name}: {got.label} ({scores}); {got.frames} frames; "
                       f"{'bit-exact with TFLM' if same else 'DIFFERS from TFLM (' + want.label + ')'}; "
                       f"frontend {clock(got.frontend_ticks)} ({got.frames} invokes), classifier "
                       f"{clock(got.classifier_ticks)}")
    if fmt == "json":
        click.echo(json.dumps({"port": port, "project": str(project_dir), "bit_exact": exact, "clips": records},
                              indent=2))
    sys.exit(0 if exact else 1)
