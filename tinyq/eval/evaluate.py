"""From model runs and labels to figures: which task, against which reference.

The task (`--task auto`): class indices or one-hot labels with a vector of scores make a
classification; float labels make a regression against them; without labels a second model is the
reference (MODEL, usually the float file, for MODEL2), and a model whose output has its input's shape
(an autoencoder, MLPerf Tiny's anomaly detection) is also scored against its own input, the
reconstruction error being its anomaly score. The labels and the task are for one output (`--output`,
the first by default); two models are also compared output by output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq.errors import TinyqError
from tinyq.eval.execute import ModelRun
from tinyq.ir import Graph
from tinyq.eval.metrics import Classification, Regression, agreement, class_indices, classification, regression

TASKS = ("auto", "classification", "regression")


@dataclass(frozen=True)
class ModelFigures:
    run: ModelRun
    classification: Classification | None = None  # against the labels
    regression: Regression | None = None  # against `reference`
    reference: str = ""  # "labels" or "input"


@dataclass(frozen=True)
class Comparison:
    """MODEL2 against MODEL, sample by sample."""

    agreement: float | None  # top-1 agreement (classification outputs)
    regression: Regression  # its sqnr_db is the output SQNR
    per_output: tuple[tuple[str, Regression], ...] = ()  # every output by name, when there are several


@dataclass(frozen=True)
class Evaluation:
    task: str
    samples: int
    models: tuple[ModelFigures, ...]
    comparison: Comparison | None
    output: str = ""  # the scored output's name, when the model has several


def _one_hot(labels: np.ndarray, classes: int) -> bool:
    if labels.ndim != 2 or labels.shape[1] != classes or classes < 2:
        return False
    return bool(np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1))


def output_index(graph: Graph, chosen: str) -> int:
    """`--output`: a position among the model's outputs or an output tensor's name."""
    names = [graph.tensors[t].name for t in graph.outputs]
    if chosen in names:
        return names.index(chosen)
    if chosen.isdigit() and int(chosen) < len(names):
        return int(chosen)
    listed = ", ".join(f"{k} ({n})" for k, n in enumerate(names))
    raise TinyqError(f"--output {chosen}: the model has no such output", hint=f"its outputs: {listed}")


def _output_size(graph: Graph, output: int) -> int:
    return graph.tensors[graph.outputs[output]].numel


def is_autoencoder(graph: Graph, output: int = 0) -> bool:
    """One input, and an output of the same size: scored against its own input without labels."""
    return len(graph.inputs) == 1 and graph.tensors[graph.inputs[0]].numel == _output_size(graph, output)


def resolve_task(task: str, labels: np.ndarray | None, graphs: list[Graph], labels_where: str = "labels",
                 output: int = 0) -> str:
    """`auto` -> classification or regression; a one-line error, before anything runs, when there is
    nothing to score against or the labels do not fit the output."""
    if len(graphs) == 2 and len(graphs[0].outputs) != len(graphs[1].outputs):
        raise TinyqError(f"the models have {len(graphs[0].outputs)} and {len(graphs[1].outputs)} outputs",
                         hint="compare two versions (float, quantized) of one model")
    sizes = [[_output_size(g, k) for k in range(len(g.outputs))] for g in graphs]
    if len(graphs) == 2 and sizes[0] != sizes[1]:
        raise TinyqError(f"the models' outputs differ in size ({sizes[0]} and {sizes[1]} values)",
                         hint="compare two versions (float, quantized) of one model")
    classes = sizes[0][output]
    autoencoder = is_autoencoder(graphs[0], output)
    if task == "auto" and labels is None:
        task = "regression" if autoencoder or classes < 2 else "classification"
    elif task == "auto":
        task = "classification" if labels.dtype.kind in "biu" or _one_hot(labels, classes) else "regression"
    if task == "classification":
        if classes < 2:
            raise TinyqError("the scored output holds one value: no classes to rank",
                             hint="use --task regression")
        if labels is not None:
            class_indices(labels, classes, labels_where)
        elif len(graphs) == 1:
            raise TinyqError("nothing to score against: no labels and no second model",
                             hint="give --labels Y.npy, or a float and a quantized model to compare")
    elif labels is not None:
        per_sample = int(np.prod(labels.shape[1:], dtype=np.int64))
        if per_sample != classes:
            raise TinyqError(f"the labels hold {per_sample} value(s) per sample, the model's output {classes}",
                             where=labels_where, hint="give reference outputs shaped like the model's output")
    elif len(graphs) == 1 and not autoencoder:
        raise TinyqError("nothing to score against: no labels, no second model, and the output is not "
                         "shaped like the input (not an autoencoder)",
                         hint="give --labels Y.npy with reference outputs, or a second model")
    return task


def _output_scores(run: ModelRun, output: int) -> np.ndarray:
    values = run.values[output]
    return values.reshape(len(values), -1)


def evaluate(runs: list[ModelRun], labels: np.ndarray | None, task: str, k: int,
             inputs: np.ndarray | None, output: int = 0) -> Evaluation:
    """Figures for each run (against labels, or an autoencoder's input) and, with two runs, the second
    against the first. `task` comes from resolve_task; `inputs`: the real values of the single model
    input per sample; `output`: the scored output's position."""
    scores = [_output_scores(run, output) for run in runs]
    figures = []
    if task == "classification":
        truth = class_indices(labels, scores[0].shape[1]) if labels is not None else None
        for run, score in zip(runs, scores):
            figures.append(ModelFigures(run, classification=classification(score, truth, k)
                                        if truth is not None else None))
    else:
        if labels is not None:
            reference, name = labels.reshape(len(labels), -1).astype(np.float64), "labels"
        elif inputs is not None and is_autoencoder(runs[0].graph, output):
            reference, name = inputs.reshape(len(inputs), -1), "input"
        else:
            reference, name = None, ""
        for run, score in zip(runs, scores):
            figures.append(ModelFigures(run, regression=regression(score, reference), reference=name)
                           if reference is not None else ModelFigures(run))
    graph = runs[0].graph
    several = len(graph.outputs) > 1
    comparison = None
    if len(runs) == 2:
        ref, other = scores
        compared = [regression(other, ref) if j == output else
                    regression(_output_scores(runs[1], j), _output_scores(runs[0], j)) for j in range(len(graph.outputs))]
        comparison = Comparison(agreement=agreement(other, ref) if task == "classification" else None,
                                regression=compared[output],
                                per_output=tuple(zip((graph.tensors[t].name for t in graph.outputs), compared))
                                if several else ())
    return Evaluation(task=task, samples=len(scores[0]), models=tuple(figures), comparison=comparison,
                      output=graph.tensors[graph.outputs[output]].name if several else "")
