"""From model runs and labels to figures: which task, against which reference.

The task (`--task auto`): class indices or one-hot labels with a vector of scores make a
classification; float labels make a regression against them; without labels a second model is the
reference (MODEL, usually the float file, for MODEL2), and a model whose output has its input's shape
(an autoencoder, MLPerf Tiny's anomaly detection) is also scored against its own input, the
reconstruction error being its anomaly score. Every figure is for the first output of the model.
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


@dataclass(frozen=True)
class Evaluation:
    task: str
    samples: int
    models: tuple[ModelFigures, ...]
    comparison: Comparison | None


def _one_hot(labels: np.ndarray, classes: int) -> bool:
    if labels.ndim != 2 or labels.shape[1] != classes or classes < 2:
        return False
    return bool(np.all((labels == 0) | (labels == 1)) and np.all(labels.sum(axis=1) == 1))


def _first_output_size(graph: Graph) -> int:
    return graph.tensors[graph.outputs[0]].numel


def is_autoencoder(graph: Graph) -> bool:
    """One input, and a first output of the same size: scored against its own input without labels."""
    return len(graph.inputs) == 1 and graph.tensors[graph.inputs[0]].numel == _first_output_size(graph)


def resolve_task(task: str, labels: np.ndarray | None, graphs: list[Graph], labels_where: str = "labels") -> str:
    """`auto` -> classification or regression; a one-line error, before anything runs, when there is
    nothing to score against or the labels do not fit the output."""
    classes = _first_output_size(graphs[0])
    if len(graphs) == 2 and _first_output_size(graphs[1]) != classes:
        raise TinyqError(f"the models' first outputs differ in size ({classes} and {_first_output_size(graphs[1])} "
                         "values)", hint="compare two versions (float, quantized) of one model")
    autoencoder = is_autoencoder(graphs[0])
    if task == "auto" and labels is None:
        task = "regression" if autoencoder or classes < 2 else "classification"
    elif task == "auto":
        task = "classification" if labels.dtype.kind in "biu" or _one_hot(labels, classes) else "regression"
    if task == "classification":
        if classes < 2:
            raise TinyqError("the model's first output holds one value: no classes to rank",
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


def _scores(run: ModelRun) -> np.ndarray:
    first = run.values[0]
    return first.reshape(len(first), -1)


def evaluate(runs: list[ModelRun], labels: np.ndarray | None, task: str, k: int,
             inputs: np.ndarray | None) -> Evaluation:
    """Figures for each run (against labels, or an autoencoder's input) and, with two runs, the second
    against the first. `task` comes from resolve_task; `inputs`: the real values of the single model
    input per sample."""
    figures = []
    if task == "classification":
        truth = class_indices(labels, _scores(runs[0]).shape[1]) if labels is not None else None
        for run in runs:
            figures.append(ModelFigures(run, classification=classification(_scores(run), truth, k)
                                        if truth is not None else None))
    else:
        if labels is not None:
            reference, name = labels.reshape(len(labels), -1).astype(np.float64), "labels"
        elif inputs is not None and is_autoencoder(runs[0].graph):
            reference, name = inputs.reshape(len(inputs), -1), "input"
        else:
            reference, name = None, ""
        for run in runs:
            figures.append(ModelFigures(run, regression=regression(_scores(run), reference), reference=name)
                           if reference is not None else ModelFigures(run))
    comparison = None
    if len(runs) == 2:
        ref, other = _scores(runs[0]), _scores(runs[1])
        comparison = Comparison(agreement=agreement(other, ref) if task == "classification" else None,
                                regression=regression(other, ref))
    return Evaluation(task=task, samples=len(_scores(runs[0])), models=tuple(figures), comparison=comparison)
