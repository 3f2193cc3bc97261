"""finetune in one screen: prepare -> split off held-out samples -> tinyq quantize (the start) -> fake-quant
training -> the quantizer's rewrite of the learned values -> both integer models measured on the held-out
samples in TFLM: the finetuned one kept unless the post-training one is clearly better there (distilling:
better there).

    graph = read_model_file("float.tflite")
    data = load_calibration("x.npy", prepare_float_graph(graph))
    result = finetune_graph(graph, data, labels=np.load("y.npy"), weights="int4")
    Path("int4.tflite").write_bytes(write_model(result.graph))
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from tinyq.errors import TinyqError
from tinyq.golden import tflm_available, tflm_run
from tinyq.ir import Graph
from tinyq.qat.blend import blends
from tinyq.qat.ops import check_ops
from tinyq.qat.config import TrainConfig
from tinyq.quantize import CalibrationSet, QuantizeConfig, quantize_graph
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.masks import finite_masks
from tinyq.quantize.prepare import prepare_float_graph

if TYPE_CHECKING:  # torch is imported only when fine-tuning runs
    from tinyq.qat.train import Targets, TrainResult

Progress = Callable[[str], None]
# torch splits some sums across threads, so the same data and seed would give other integers on a machine
# with other cores (the hard case's first four seeds won back 70% on one thread, 32% on two): one thread,
# as fast as two for models of these sizes
TRAIN_THREADS = 1
MIN_SAMPLES = 10  # fewer cannot be split into training and held-out samples
MIN_HOLDOUT = 5


@dataclass(frozen=True, eq=False)
class FinetuneResult:
    graph: Graph  # the integer graph kept (finetuned, or post-training when that measured better)
    post_training: Graph  # tinyq quantize's graph for the same settings (the start)
    finetuned: Graph
    kept: str  # "finetuned" | "post-training"
    holdout: int  # held-out samples
    scores: dict  # "float", "post-training", "finetuned" -> held-out score (None: not measured)
    losses: dict  # "post-training", "finetuned" -> held-out loss of the integer model (empty: not measured)
    score_name: str  # "accuracy" | "float top-1 agreement" | "output SQNR (dB)"
    training: TrainResult
    seconds: float


def check_labels(labels, count: int, where: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or len(labels) != count:
        raise TinyqError(f"shape {list(labels.shape)} does not match the {count} data samples", where=where,
                         hint="one integer class per sample: np.save(path, y) with y of shape (N,)")
    if not np.issubdtype(labels.dtype, np.integer):
        if not np.issubdtype(labels.dtype, np.floating) or np.any(labels != np.round(labels)):
            raise TinyqError(f"labels are {labels.dtype}, not class numbers", where=where,
                             hint="one integer class per sample")
    if labels.min() < 0:
        raise TinyqError(f"label {int(labels.min())} is negative", where=where)
    return labels.astype(np.int64)


def split_holdout(count: int, fraction: float, seed: int) -> np.ndarray:
    if count < MIN_SAMPLES:
        raise TinyqError(f"{count} samples are too few to fine-tune on", where="--data",
                         hint=f"give at least {MIN_SAMPLES} (some are held out to stop training)")
    n = min(count - 1, max(MIN_HOLDOUT, math.ceil(count * fraction)))
    return np.sort(np.random.default_rng(seed).permutation(count)[:n])


def float_outputs(graph: Graph, data: CalibrationSet) -> list[np.ndarray]:
    """The float model's outputs (LiteRT) for every sample: (N, ...) per graph output."""
    runner = FloatRunner(graph)
    rows = [runner.outputs(data.record(i, graph)) for i in range(data.count)]
    return [np.stack([r[k].reshape(-1) for r in rows]).astype(np.float32) for k in range(len(graph.outputs))]


def finetune_graph(graph: Graph, data: CalibrationSet, labels=None, distill: bool = False, weights: str = "int4",
                   io: str = "int", train_config: TrainConfig = TrainConfig(), holdout_fraction: float = 0.2,
                   progress: Progress | None = None, where: str = "model", show_progress: bool = True
                   ) -> FinetuneResult:
    import torch

    from tinyq.qat.export import quantized_graph, start_from
    from tinyq.qat.model import QatGraph
    from tinyq.qat.train import EpochRow, Targets, train, worse

    start = time.perf_counter()
    if (labels is None) == (not distill):
        raise TinyqError("give --labels Y.npy (classification) or --distill (match the float model's outputs)")
    prepared = finite_masks(prepare_float_graph(graph, where), data)  # attention masks' -inf, as quantize does
    check_ops(prepared, where)
    holdout = split_holdout(data.count, holdout_fraction, train_config.seed)
    arrays = [np.asarray(a, dtype=np.float32).reshape((data.count,) + graph_shape(prepared, t))
              for a, t in zip(data.arrays, prepared.inputs)]

    teacher = float_outputs(prepared, data)
    softmax_out = tuple(_made_by(prepared, t) == "softmax" for t in prepared.outputs)
    if labels is not None:
        targets = Targets(check_labels(labels, data.count), teacher, softmax_out)  # labels and the float model
        classes = int(np.prod(prepared.tensors[prepared.outputs[0]].shape))
        if targets.labels.max() >= classes:
            raise TinyqError(f"label {int(targets.labels.max())} is not one of the model's {classes} outputs",
                             where="--labels")
    else:
        targets = Targets(None, teacher, softmax_out)

    # the start is what `tinyq quantize --calib DATA` writes: calibration uses every sample (no labels)
    config = QuantizeConfig(weights=weights, io=io)
    if progress:
        progress(f"quantizing ({weights} weights) on the {data.count} samples: the start")
    result = quantize_graph(graph, data, config, progress=progress, where=where)

    if train_config.blends:
        pool = np.setdiff1d(np.arange(data.count), holdout)
        extra = blends(arrays, pool, train_config.blends, train_config.seed)
        if progress:
            progress(f"blending {len(extra[0])} pairs of training samples, labelled by the float model")
        targets = targets.extended(float_outputs(prepared, CalibrationSet(tuple(extra))))
        arrays = [np.concatenate(pair) for pair in zip(arrays, extra)]  # appended: holdout's indices hold

    model = QatGraph(start_from(result))
    torch.manual_seed(train_config.seed)

    def on_epoch(row: EpochRow) -> None:
        if progress:
            what = "start (post-training)" if row.epoch == 0 else f"epoch {row.epoch}/{train_config.epochs}"
            loss = "" if row.epoch == 0 else f"train loss {row.train_loss:.4f}, "
            progress(f"{what}: {loss}held-out loss {row.holdout_loss:.4f}, "
                     f"{_score_words(targets, row.holdout_score)}")

    threads = torch.get_num_threads()
    torch.set_num_threads(TRAIN_THREADS)
    try:
        training = train(model, arrays, targets, holdout, train_config, on_epoch, show_progress)
    finally:
        torch.set_num_threads(threads)
    finetuned = quantized_graph(model, result, training.best_epoch)

    hold = targets.take(holdout)
    scores: dict = {"float": _score([t[holdout] for t in teacher], hold)}
    losses: dict = {}
    kept = "finetuned"
    if tflm_available():
        hold_data = [a[holdout] for a in arrays]
        ptq_out, ft_out = int_outputs(result.graph, hold_data), int_outputs(finetuned, hold_data)
        scores["post-training"], scores["finetuned"] = _score(ptq_out, hold), _score(ft_out, hold)
        ptq_losses, ft_losses = _holdout_losses(ptq_out, hold), _holdout_losses(ft_out, hold)
        losses["post-training"], losses["finetuned"] = float(ptq_losses.mean()), float(ft_losses.mean())
        # as the epochs were chosen (train.worse): with labels the held-out samples overrule training only
        # when they are sure (a few dozen cannot rank models a sample or two apart); distilling, the lower loss
        if worse(ft_losses, ptq_losses, targets.labels is None):
            kept = "post-training"
    else:
        scores["post-training"] = scores["finetuned"] = None
    return FinetuneResult(graph=finetuned if kept == "finetuned" else result.graph, post_training=result.graph,
                          finetuned=finetuned, kept=kept, holdout=len(holdout), scores=scores, losses=losses,
                          score_name=_score_name(targets), training=training, seconds=time.perf_counter() - start)


def graph_shape(graph: Graph, t: int) -> tuple[int, ...]:
    return tuple(graph.tensors[t].shape[1:])


def _made_by(graph: Graph, t: int) -> str | None:
    return next((op.op for op in graph.operators if t in op.outputs), None)


def int_outputs(qgraph: Graph, arrays: list[np.ndarray]) -> list[np.ndarray]:
    """The integer model's outputs in TFLM, dequantized: float inputs quantized as its inputs say."""
    from tinyq.qmath import round_half_away

    records = []
    for i in range(len(arrays[0])):
        record = []
        for a, t in zip(arrays, qgraph.inputs):
            tensor = qgraph.tensors[t]
            x = a[i].reshape(tensor.shape)
            if tensor.dtype != "float32":
                info = np.iinfo(tensor.dtype)
                x = np.clip(round_half_away(x / tensor.quant.s) + tensor.quant.zp, info.min, info.max)
            record.append(np.asarray(x, dtype=tensor.dtype))
        records.append(record)
    from tinyq.tflite.writer import write_model

    runs = tflm_run(write_model(qgraph), records)
    outputs = []
    for k, t in enumerate(qgraph.outputs):
        tensor = qgraph.tensors[t]
        values = np.stack([r[k].reshape(-1) for r in runs]).astype(np.float64)
        if tensor.dtype != "float32":
            values = (values - tensor.quant.zp) * tensor.quant.s
        outputs.append(values.astype(np.float32))
    return outputs


def _holdout_losses(outputs: list[np.ndarray], targets: Targets) -> np.ndarray:
    """The training loss of an integer model's outputs per sample (a softmax's probabilities stand in for its
    logits)."""
    import torch

    from tinyq.qat.train import Targets, sample_losses

    outs = [torch.from_numpy(o.astype(np.float64)) for o in outputs]
    logits = [torch.log(torch.clamp(o, min=1.0 / 512)) if soft else o
              for o, soft in zip(outs, targets.softmax_outputs)]
    teacher = None if targets.teacher is None else [t.astype(np.float64) for t in targets.teacher]
    return sample_losses(outs, logits, Targets(targets.labels, teacher, targets.softmax_outputs)).numpy()


def _score(outputs: list[np.ndarray], targets: Targets) -> float:
    """accuracy, float top-1 agreement, or output SQNR in dB (distilling a regressor or an autoencoder)."""
    first = outputs[0].reshape(len(outputs[0]), -1)
    if targets.labels is not None:
        return float(np.mean(first.argmax(axis=1) == targets.labels))
    if targets.softmax_outputs and targets.softmax_outputs[0]:
        return float(np.mean(first.argmax(axis=1) == targets.teacher[0].reshape(len(first), -1).argmax(axis=1)))
    from tinyq.quantize.qparams import sqnr_db

    return min(sqnr_db(t, o) for t, o in zip(targets.teacher, outputs))


def _score_name(targets: Targets) -> str:
    if targets.labels is not None:
        return "accuracy"
    if targets.softmax_outputs and targets.softmax_outputs[0]:
        return "float top-1 agreement"
    return "output SQNR (dB)"


def _score_words(targets: Targets, score: float) -> str:
    if targets.labels is not None:
        return f"accuracy {100 * score:.2f}%"
    if targets.softmax_outputs and targets.softmax_outputs[0]:
        return f"float top-1 agreement {100 * score:.2f}%"
    return f"relative error {-score:.5f}"
