"""The figures `tinyq eval` reports, computed with numpy from dequantized outputs.

Classification (a vector of class scores per sample): top-1 and top-k accuracy against labels, the
confusion matrix (rows: true class, columns: predicted), and between two models the share of samples
whose top-1 class agrees. Regression and anomaly detection (any output): RMSE, MAE, the L2 relative
error ||y - ref|| / ||ref||, the cosine similarity of y and ref and the SQNR 10 log10(sum ref^2 /
sum (y - ref)^2), all over every value of every sample at once (as ST's `validate` reports them),
against a reference: the labels, the first model's outputs, or an autoencoder's own input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyq.errors import TinyqError


@dataclass(frozen=True)
class Classification:
    count: int
    top1: float
    k: int
    topk: float  # equals top1 when k == 1
    confusion: np.ndarray  # classes x classes, rows true, columns predicted

    def as_dict(self) -> dict:
        return {"samples": self.count, "top1": self.top1, "k": self.k, f"top{self.k}": self.topk,
                "confusion": self.confusion.tolist()}


@dataclass(frozen=True)
class Regression:
    count: int
    rmse: float
    mae: float
    l2_relative: float
    cosine: float
    sqnr_db: float  # inf when y equals ref exactly

    def as_dict(self) -> dict:
        values = {"rmse": self.rmse, "mae": self.mae, "l2_relative": self.l2_relative, "cosine": self.cosine,
                  "sqnr_db": self.sqnr_db}
        return {"samples": self.count, **{k: v if math.isfinite(v) else None for k, v in values.items()}}  # JSON numbers


def class_indices(labels: np.ndarray, classes: int, where: str = "labels") -> np.ndarray:
    """Labels as class indices: integers (N,) or (N, 1), or one-hot / score rows (N, classes)."""
    if labels.ndim == 2 and labels.shape[1] == classes and classes > 1:
        return np.argmax(labels, axis=1)
    flat = labels.reshape(len(labels), -1)
    if flat.shape[1] != 1:
        raise TinyqError(f"labels of shape {tuple(labels.shape)} are neither class indices (N,) nor one-hot rows "
                         f"(N, {classes})", where=where, hint="give one class index per sample")
    values = flat[:, 0]
    if values.dtype.kind == "f" and not np.all(values == np.round(values)):
        raise TinyqError("the labels are not whole numbers: they look like regression targets", where=where,
                         hint="add --task regression to compare outputs with them")
    indices = values.astype(np.int64)
    bad = (indices < 0) | (indices >= classes)
    if bad.any():
        raise TinyqError(f"label {int(indices[bad][0])} is outside the model's {classes} classes (0-{classes - 1})",
                         where=where, hint="are these labels for this model?")
    return indices


def ranked(scores: np.ndarray) -> np.ndarray:
    """Classes by descending score per sample; ties keep the lower class first (as argmax)."""
    return np.argsort(-scores, axis=1, kind="stable")


def classification(scores: np.ndarray, truth: np.ndarray, k: int = 1) -> Classification:
    """`scores` N x classes, `truth` N class indices."""
    classes = scores.shape[1]
    order = ranked(scores)
    k = max(1, min(k, classes))
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth, order[:, 0]), 1)
    hits_k = np.any(order[:, :k] == truth[:, None], axis=1)
    return Classification(count=len(truth), top1=float(np.mean(order[:, 0] == truth)), k=k,
                          topk=float(np.mean(hits_k)), confusion=confusion)


def agreement(scores: np.ndarray, reference: np.ndarray) -> float:
    """The share of samples whose top-1 class is the reference's."""
    return float(np.mean(ranked(scores)[:, 0] == ranked(reference)[:, 0]))


def regression(values: np.ndarray, reference: np.ndarray) -> Regression:
    y = values.reshape(len(values), -1).astype(np.float64)
    ref = reference.reshape(len(reference), -1).astype(np.float64)
    if y.shape != ref.shape:
        raise TinyqError(f"the reference has {ref.shape[1]} values per sample, the output {y.shape[1]}",
                         hint="give references shaped like the model's output")
    err = y - ref
    signal, noise = float(np.sum(ref * ref)), float(np.sum(err * err))
    norms = math.sqrt(float(np.sum(y * y))) * math.sqrt(signal)
    return Regression(count=len(y), rmse=math.sqrt(noise / err.size), mae=float(np.mean(np.abs(err))),
                      l2_relative=math.sqrt(noise / signal) if signal > 0 else math.inf,
                      cosine=float(np.sum(y * ref)) / norms if norms > 0 else 0.0,
                      sqnr_db=_sqnr_db(signal, noise))


def _sqnr_db(signal: float, noise: float) -> float:
    """inf for an exact match, -inf for any error against an all-zero reference."""
    if noise == 0:
        return math.inf
    return 10 * math.log10(signal / noise) if signal > 0 else -math.inf
