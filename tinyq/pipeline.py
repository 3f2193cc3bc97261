"""Two models as one streaming classifier: a frontend run over sliding windows of a sample
stream, its outputs stacked as feature rows, a classifier over the last rows.

This is TFLM's micro_speech example (its evaluate.py and micro_speech_test.cc): the audio
preprocessor turns each 30 ms window of 16 kHz audio (480 int16 samples, every 20 ms: stride
320) into 40 int8 features, and the classifier reads the last 49 feature rows (1,960 int8 values)
and answers one score per label. `tinyq generate FRONTEND.tflite CLASSIFIER.tflite --stride N`
compiles both into one project (tinyq/build/pipeline.py) with the C glue (firmware/tq_pipeline.c)
that keeps the partial window and the feature rows between calls.

The glue's semantics, which `golden_classification` repeats with TFLM's interpreter:
- reset: the frontend's state (TFLM's MicroInterpreter::Reset()), no samples, no feature rows;
- samples are appended to the stream; each window of `window` samples starting at a multiple
  of `stride` runs the frontend once, in stream order; its output is a new feature row;
- classify: the classifier's input is the last `frames` rows, oldest first, rows not produced
  yet being zero bytes at the top; its first output holds the scores, and the label is the first
  index of the largest score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import DTYPES, Graph

DEFAULT_NAME = "pipeline"


@dataclass(frozen=True)
class PipelineShape:
    """What the glue needs to know of the two models."""

    window: int  # samples per frontend invoke (its input's elements)
    stride: int  # samples between window starts
    sample_dtype: str  # the frontend input's type
    feature_bytes: int  # bytes of one frontend output (a feature row)
    frames: int  # feature rows the classifier reads
    classes: int  # elements of the classifier's first output
    labels: tuple[str, ...]

    @property
    def sample_bytes(self) -> int:
        return DTYPES[self.sample_dtype][1]

    @property
    def audio_samples(self) -> int:
        """Samples from reset to the first complete set of feature rows."""
        return (self.frames - 1) * self.stride + self.window


def pipeline_shape(frontend: Graph, classifier: Graph, stride: int | None, labels: tuple[str, ...] | None,
                   where: str = "pipeline") -> PipelineShape:
    """Check that the classifier can read the frontend's rows; one-line errors say what does not fit."""
    if len(frontend.inputs) != 1 or len(frontend.outputs) != 1:
        raise TinyqError(f"the frontend has {len(frontend.inputs)} inputs and {len(frontend.outputs)} outputs; the "
                         "glue feeds one input of samples and stacks one output", where=where,
                         hint="export the frontend with one input (a window of samples) and one output (features)")
    if len(classifier.inputs) != 1 or not classifier.outputs:
        raise TinyqError(f"the classifier has {len(classifier.inputs)} inputs; the glue feeds it the stacked feature "
                         "rows as one input", where=where)
    x, row = frontend.tensors[frontend.inputs[0]], frontend.tensors[frontend.outputs[0]]
    cls_in, scores = classifier.tensors[classifier.inputs[0]], classifier.tensors[classifier.outputs[0]]
    if row.dtype != cls_in.dtype:
        raise TinyqError(f"the frontend writes {row.dtype} features and the classifier reads {cls_in.dtype}",
                         where=where, hint="the two models must agree on the feature type")
    if row.nbytes == 0 or cls_in.nbytes % row.nbytes:
        raise TinyqError(f"the classifier's input ({cls_in.nbytes} bytes) is not a whole number of feature rows "
                         f"({row.nbytes} bytes each)", where=where, hint="check that the models belong together")
    window = x.numel
    stride = window if stride is None else stride
    if not 1 <= stride <= 1 << 20:
        raise TinyqError(f"--stride {stride} is not a number of samples from 1 on", where=where,
                         hint=f"micro_speech: a window of {window} samples every 320 (20 ms at 16 kHz)")
    names = tuple(labels) if labels else tuple(str(i) for i in range(scores.numel))
    if len(names) != scores.numel:
        raise TinyqError(f"{len(names)} labels for the classifier's {scores.numel} scores", where=where,
                         hint="give one label per score, comma separated")
    for name in names:
        if not name or any(c in name for c in ",[]%") or not all(" " <= c < "\x7f" for c in name):
            raise TinyqError(f"label {name!r} is empty or holds a comma, a bracket, '%' or a non-ASCII character",
                             where=where, hint="labels travel in the serial protocol's lines")
    return PipelineShape(window=window, stride=stride, sample_dtype=x.dtype, feature_bytes=row.nbytes,
                         frames=cls_in.nbytes // row.nbytes, classes=scores.numel, labels=names)


def window_starts(shape: PipelineShape, samples: int) -> range:
    """Where the frontend's windows start in a stream of `samples` samples (each one complete)."""
    if samples < shape.window:
        return range(0)
    return range(0, samples - shape.window + 1, shape.stride)


@dataclass(frozen=True)
class Classification:
    features: bytes  # the classifier's input: the last `frames` rows, zero rows first
    outputs: bytes  # the classifier's first output, as the model writes it
    scores: tuple[float, ...]  # dequantized (float outputs as they are)
    index: int
    label: str
    frames: int  # feature rows produced since reset


def classification(shape: PipelineShape, classifier: Graph, rows: list[bytes], outputs: bytes) -> Classification:
    t = classifier.tensors[classifier.outputs[0]]
    values = np.frombuffer(outputs, dtype=DTYPES[t.dtype][0]).astype(np.float64)
    if t.quant is not None and t.dtype != "float32":
        values = (values - t.quant.zp) * t.quant.s
    index = int(np.argmax(values))
    return Classification(features=stacked(shape, rows), outputs=outputs, scores=tuple(float(v) for v in values),
                          index=index, label=shape.labels[index], frames=len(rows))


def stacked(shape: PipelineShape, rows: list[bytes]) -> bytes:
    """The classifier's input: the last `frames` rows, oldest first, zero rows where there are fewer."""
    last = rows[-shape.frames:]
    return bytes(shape.feature_bytes * (shape.frames - len(last))) + b"".join(last)


def golden_classification(frontend_model: bytes, classifier_model: bytes, shape: PipelineShape,
                          classifier: Graph, samples: np.ndarray) -> Classification:
    """TFLM's answer: its interpreter runs the frontend file over the windows (one sequence from a
    fresh interpreter, as after a reset) and the classifier file over the stacked rows."""
    from tinyq.golden import tflm_run

    frontend = _frontend_input(frontend_model)
    samples = np.asarray(samples).astype(DTYPES[shape.sample_dtype][0]).reshape(-1)
    records = [[samples[s:s + shape.window].reshape(frontend)] for s in window_starts(shape, samples.size)]
    rows = [np.ascontiguousarray(out[0]).tobytes() for out in tflm_run(frontend_model, records)] if records else []
    t = classifier.tensors[classifier.inputs[0]]
    features = np.frombuffer(stacked(shape, rows), dtype=DTYPES[t.dtype][0]).reshape(t.shape)
    (outputs, *_), = tflm_run(classifier_model, [[features]])
    return classification(shape, classifier, rows, np.ascontiguousarray(outputs).tobytes())


def _frontend_input(model: bytes) -> tuple[int, ...]:
    from tinyq.tflite.reader import read_model

    graph = read_model(model)
    return graph.tensors[graph.inputs[0]].shape
