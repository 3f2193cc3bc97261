"""The fine-tuning loop: Adam with a cosine schedule, early stopping on held-out data, a progress bar.

Loss: with labels, cross-entropy (on the logits a final softmax reads) plus the KL divergence from the float
model's class probabilities, which holds a model that quantizes well where it is (labels alone moved the
digits MLP, whose post-training int4 already matches float, 0.9 point below it on one seed of three; with
the float model's outputs it stayed); without labels (distillation), the float model's outputs alone: KL
divergence for a softmax output, squared error relative to the output's power otherwise. Blends of two
training samples (tinyq.qat.blend) join the training samples with the float model's outputs as their only
target.

Epoch 0 is the model as the quantizer made it, measured on the held-out samples before any step (`worse`
says when held-out losses reject a model). With labels, the held-out samples overrule the schedule only
when they are sure: an epoch is kept unless its held-out loss is clearly worse (CLEARLY standard errors of
the paired per-sample differences) than the lowest one measured, and training stops after `patience` such
epochs in a row. A few dozen labelled samples, often ones the float model was trained on, cannot rank
models this close: on the narrow MobileNet (tinyq.qat.bench) the held-out accuracy of 40 samples stayed
flat and the lowest held-out loss fell at epochs 0-4 while test accuracy rose from 75.4% to 79% over the
ten; keeping the lowest won back 0-82% of post-training's loss. Distilling, the held-out loss is the
objective itself - how far the integer model is from the float one on the user's samples - so the epoch
with the lowest is kept (the start included): on MLPerf's KWS with 64 random inputs, every epoch's
held-out loss was 2.5-4.8 times the start's, none clearly so on 13 samples, and the model kept was 6.8 dB
below post-training at the output.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from tinyq.qat.config import TrainConfig
from tinyq.progress import Progress
from tinyq.qat.model import QatGraph

NO_LABEL = -1
CLEARLY = 2.0  # standard errors of a paired mean: a held-out difference smaller than this is noise


@dataclass(frozen=True)
class Targets:
    """What the loss compares with: class labels, or the float model's outputs (distillation)."""

    labels: np.ndarray | None  # int64 (N,); NO_LABEL: the float model's outputs alone (a blend)
    teacher: list[np.ndarray] | None  # per graph output, (N, ...) float32
    softmax_outputs: tuple[bool, ...] = ()  # per output: produced by a softmax (distill those with KL)

    def take(self, idx: np.ndarray) -> "Targets":
        return Targets(None if self.labels is None else self.labels[idx],
                       None if self.teacher is None else [t[idx] for t in self.teacher], self.softmax_outputs)

    def extended(self, teacher: list[np.ndarray]) -> "Targets":
        """These targets followed by samples the float model's `teacher` outputs alone label."""
        count = len(teacher[0])
        labels = None if self.labels is None else np.concatenate([self.labels, np.full(count, NO_LABEL)])
        return Targets(labels, [np.concatenate([t, u]) for t, u in zip(self.teacher, teacher)], self.softmax_outputs)


@dataclass(frozen=True)
class EpochRow:
    epoch: int
    train_loss: float
    holdout_loss: float
    holdout_score: float  # accuracy (labels) or top-1 agreement with the float model / -loss (distill)
    seconds: float
    holdout_losses: np.ndarray | None = field(default=None, compare=False)  # per held-out sample (mean: holdout_loss)


@dataclass(frozen=True)
class TrainResult:
    rows: tuple[EpochRow, ...]
    best_epoch: int
    stopped_early: bool
    seconds: float


def loss_of(outputs, logits, targets: Targets) -> torch.Tensor:
    return sample_losses(outputs, logits, targets).mean()


def sample_losses(outputs, logits, targets: Targets) -> torch.Tensor:
    """The loss of each sample, (N,)."""
    if targets.labels is not None:
        scores = logits[0].reshape(len(targets.labels), -1)
        labels = torch.from_numpy(targets.labels)
        ce = F.cross_entropy(scores, labels.clamp(min=0), reduction="none") * (labels != NO_LABEL)
        if targets.teacher is None:
            return ce
        t = torch.from_numpy(targets.teacher[0]).reshape(scores.shape).to(scores.dtype)
        probs = t if targets.softmax_outputs[0] else F.softmax(t, dim=1)
        return ce + F.kl_div(F.log_softmax(scores, dim=1), probs, reduction="none").sum(dim=1)
    total = torch.zeros(outputs[0].shape[0], dtype=outputs[0].dtype)
    for out, logit, teacher, is_softmax in zip(outputs, logits, targets.teacher, targets.softmax_outputs):
        t = torch.from_numpy(teacher).reshape(out.shape[0], -1)
        if is_softmax:  # KL(float || quantized) over the classes
            log_q = F.log_softmax(logit.reshape(out.shape[0], -1), dim=1)
            total = total + F.kl_div(log_q, t, reduction="none").sum(dim=1)
        else:  # squared error relative to the float output's power: the noise an SQNR measures
            power = torch.clamp((t ** 2).mean(), min=1e-12)
            total = total + ((out.reshape(out.shape[0], -1) - t) ** 2).mean(dim=1) / power
    return total


def worse(losses: np.ndarray, than: np.ndarray, distilling: bool) -> bool:
    """Do held-out `losses` reject a model for the one that scored `than` on the same samples? Distilling,
    any higher mean loss does (it is the objective itself); with labels only a clearly higher one."""
    if distilling:
        return float(np.mean(losses)) > float(np.mean(than))
    return clearly_worse(losses, than)


def clearly_worse(losses: np.ndarray, than: np.ndarray) -> bool:
    """Are `losses` higher than `than`, on the same samples, by more than chance would make them?"""
    d = np.asarray(losses, dtype=np.float64) - np.asarray(than, dtype=np.float64)
    if len(d) < 2 or not np.any(d):
        return False
    return bool(d.mean() > CLEARLY * d.std(ddof=1) / np.sqrt(len(d)))


def score_of(outputs, targets: Targets, loss: float) -> float:
    """Higher is better: accuracy, agreement with the float model's top-1, or minus the loss."""
    if targets.labels is not None:
        pred = outputs[0].reshape(len(targets.labels), -1).argmax(dim=1).numpy()
        return float(np.mean(pred == targets.labels))
    if targets.softmax_outputs and targets.softmax_outputs[0]:
        pred = outputs[0].reshape(outputs[0].shape[0], -1).argmax(dim=1).numpy()
        return float(np.mean(pred == targets.teacher[0].reshape(len(pred), -1).argmax(axis=1)))
    return -loss


def _tensors(arrays: list[np.ndarray], idx) -> list[torch.Tensor]:
    return [torch.from_numpy(np.ascontiguousarray(a[idx], dtype=np.float32)) for a in arrays]


def evaluate(model: QatGraph, arrays: list[np.ndarray], targets: Targets, batch: int = 256
             ) -> tuple[float, float, np.ndarray]:
    """(loss, score, per-sample losses) of the fake-quantized model over all of `arrays`."""
    n = len(arrays[0])
    outs, logits = [], []
    with torch.no_grad():
        for start in range(0, n, batch):
            idx = np.arange(start, min(n, start + batch))
            o, lg = model(_tensors(arrays, idx))
            outs.append(o)
            logits.append(lg)
    cat = [torch.cat([o[i] for o in outs]) for i in range(len(outs[0]))]
    cat_logits = [torch.cat([lg[i] for lg in logits]) for i in range(len(logits[0]))]
    losses = sample_losses(cat, cat_logits, targets).double().numpy()
    loss = float(losses.mean())
    return loss, score_of(cat, targets, loss), losses


def train(model: QatGraph, arrays: list[np.ndarray], targets: Targets, holdout: np.ndarray,
          config: TrainConfig = TrainConfig(), on_epoch: Callable[[EpochRow], None] | None = None,
          show_progress: bool = True) -> TrainResult:
    """Fine-tune `model` in place on the samples not in `holdout`; it ends in the last state the held-out
    samples did not reject (`worse`)."""
    start_time = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    n = len(arrays[0])
    train_idx = np.setdiff1d(np.arange(n), holdout)
    hold_arrays = [a[holdout] for a in arrays]
    hold_targets = targets.take(holdout)

    steps_per_epoch = max(1, math.ceil(len(train_idx) / config.batch_size),
                          math.ceil(config.min_steps / config.epochs))
    optimizer = torch.optim.Adam([{"params": model.weight_params(), "lr": config.lr},
                                  {"params": model.range_params(), "lr": config.range_lr}])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)

    loss0, score0, losses0 = evaluate(model, hold_arrays, hold_targets)
    best = EpochRow(0, float("nan"), loss0, score0, 0.0, losses0)
    rows = [best]
    lowest = best  # the lowest held-out loss so far: what later epochs must not be clearly worse than
    if on_epoch:
        on_epoch(best)
    best_state = copy.deepcopy(model.state_dict())
    stale = 0
    stopped = False
    pending = np.zeros(0, dtype=np.int64)  # the rest of the current pass over the training samples
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        total, count = 0.0, 0
        # a bar per epoch on a terminal, named with the last epoch's figures (off a terminal the caller's
        # line per epoch says it: the bar's own plain lines are kept quiet)
        last = rows[-1]
        label = (f"epoch {epoch}/{config.epochs} (epoch {last.epoch}: held-out loss {last.holdout_loss:.4f}, "
                 f"{_score_text(last.holdout_score, targets)})")
        with Progress(label, steps_per_epoch, quiet=float("inf")) if show_progress else _NoBar() as bar:
            for _ in range(steps_per_epoch):
                idx, pending = _batch(pending, train_idx, config.batch_size, rng)
                outputs, logits = model(_tensors(arrays, idx))
                loss = loss_of(outputs, logits, targets.take(idx))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * len(idx)
                count += len(idx)
                bar.advance()
        h_loss, h_score, h_losses = evaluate(model, hold_arrays, hold_targets)
        row = EpochRow(epoch, total / max(count, 1), h_loss, h_score, time.perf_counter() - t0, h_losses)
        rows.append(row)
        if on_epoch:
            on_epoch(row)
        lowest = row if row.holdout_loss < lowest.holdout_loss else lowest
        if not worse(row.holdout_losses, lowest.holdout_losses, targets.labels is None):
            best, stale = row, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
            if stale >= config.patience:
                stopped = True
                break
    model.load_state_dict(best_state)
    return TrainResult(tuple(rows), best.epoch, stopped, time.perf_counter() - start_time)


def _batch(pending: np.ndarray, train_idx: np.ndarray, size: int, rng: np.random.Generator
           ) -> tuple[np.ndarray, np.ndarray]:
    """The next batch of a stream of shuffled passes (a pass shorter than an epoch runs on into the next):
    every batch full, every sample once per pass."""
    while len(pending) < min(size, len(train_idx)):
        pending = np.concatenate([pending, rng.permutation(train_idx)])
    return pending[:size], pending[size:]


def _score_text(score: float, targets: Targets) -> str:
    if targets.labels is not None:
        return f"accuracy {100 * score:.2f}%"
    if targets.softmax_outputs and targets.softmax_outputs[0]:
        return f"float top-1 agreement {100 * score:.2f}%"
    return f"loss {-score:.5f}"


class _NoBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def advance(self, steps: int = 1) -> None:
        pass
