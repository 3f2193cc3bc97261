"""Weight rounding that minimizes each layer's output error (GPTQ), checked on held-back samples.

Rounding every weight to its nearest grid point minimizes the weights' own
error, not the layer's output error. GPTQ (Frantar et al., 2022) rounds one
input column at a time and moves the error it made onto the columns not yet
rounded, weighted by the inverse Hessian H = E[x x^T] of the layer's inputs,
so the output error E|(Wq - W) x|^2 = sum over rows of d^T H d is what shrinks.
At int4 this is where most of the loss is; at int8 it gains little.

Inputs x are the float model's (the patches a conv multiplies, one per output
position; per input channel for depthwise, whose output channels each see one)
on the calibration samples, split: three in four fit H, every fourth is held
back. Each output channel (rows are independent outputs) keeps the GPTQ
rounding only where it lowers the error on the held-back samples, else the
nearest one - so no layer gets worse on data GPTQ did not see (a GPTQ prototype
without that check lowered a small DS-CNN's first two layers). With bias
correction on, the mean output shift is the bias's job, so the error measured
is on centred inputs (H the covariance).

The scales are the ones given (max or MSE clip, raised for the bias); only the
integers change. Work per layer is about K^2 (patches + 8 rows) + 8 K^3 floating
point operations for K inputs per row (a conv takes at most MAX_PATCHES output
positions of each sample, a seeded random choice); layers are taken in order until
WORK_BUDGET operations are planned, the rest keep nearest rounding and the
progress line says so. A budget in operations, not seconds, so the same model
and data give the same integers on any machine.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinyq.ir import Graph, Operator
from tinyq.passes.graph_edit import option
from tinyq.quantize.data import CalibrationSet
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.qparams import WEIGHT_QMAX
from tinyq.quantize.weights import QuantizedWeights, weight_tensor

HOLDOUT_EVERY = 4  # every fourth calibration sample is held back for the acceptance check
DAMP = 0.01  # of the mean diagonal, added to H: keeps the inverse finite where inputs are (nearly) dependent
WORK_BUDGET = 4e11  # floating point operations per float graph (~1-2 minutes on one loaded core)
MAX_PATCHES = 256  # output positions per sample and layer that H is summed over
ROUNDED_OPS = ("conv_2d", "depthwise_conv_2d", "fully_connected")
MAX_INPUTS = 2304  # K of a 3x3x256 conv: H (K x K, twice) and the K^3 factorization stay small; wider rows round to nearest


@dataclass
class _Moments:
    """Sums of x x^T and x over the patches of some samples: [groups, K, K] and [groups, K]."""

    xx: np.ndarray
    x: np.ndarray
    n: int = 0

    def add(self, p: np.ndarray) -> None:
        if p.ndim == 2:  # [patches, K]: one group
            self.xx[0] += p.T @ p
            self.x[0] += p.sum(axis=0)
        else:  # [patches, K, groups]
            self.xx += np.einsum("pkc,plc->ckl", p, p, optimize=True)
            self.x += p.sum(axis=0).T
        self.n += p.shape[0]

    def hessian(self, centred: bool) -> np.ndarray:
        n = max(self.n, 1)
        h = self.xx / n
        if centred:
            mean = self.x / n
            h = h - mean[:, :, None] * mean[:, None, :]
        return h


@dataclass(frozen=True)
class LayerRounding:
    """What the acceptance check kept for one layer's weights."""

    op: int
    rows: int
    accepted: int  # rows (output channels) that kept the GPTQ rounding
    nearest_error: float  # output error power on the held-back samples, nearest rounding
    error: float  # the same with the rows kept
    seconds: float

    @property
    def gain_db(self) -> float:
        if self.error <= 0 or self.nearest_error <= 0:
            return 0.0
        return float(10.0 * np.log10(self.nearest_error / self.error))


def _window(op: Operator, w_shape, x_shape, out_shape) -> tuple:
    kh, kw = w_shape[1], w_shape[2]
    sh, sw = option(op, "stride_h", 1), option(op, "stride_w", 1)
    dh, dw = option(op, "dilation_h_factor", 1), option(op, "dilation_w_factor", 1)
    oh, ow = out_shape[1], out_shape[2]
    pad_h = max((oh - 1) * sh + (kh - 1) * dh + 1 - x_shape[1], 0)
    pad_w = max((ow - 1) * sw + (kw - 1) * dw + 1 - x_shape[2], 0)
    return kh, kw, sh, sw, dh, dw, oh, ow, pad_h, pad_w


def patches(op: Operator, w_shape, x: np.ndarray, out_shape) -> np.ndarray:
    """The inputs each output is computed from, in the weights' order: conv [P, kh*kw*C], depthwise
    [P, kh*kw, C] (one group per input channel), fully connected [batch, inputs]. Padding is 0, as the
    integer kernels pad with the input zero point."""
    x = np.asarray(x, dtype=np.float64)
    if op.op == "fully_connected":
        return x.reshape(-1, w_shape[-1])
    kh, kw, sh, sw, dh, dw, oh, ow, pad_h, pad_w = _window(op, w_shape, x.shape, out_shape)
    rows = []
    for image in x:
        padded = np.pad(image, ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
        taps = [padded[ky * dh: ky * dh + (oh - 1) * sh + 1: sh, kx * dw: kx * dw + (ow - 1) * sw + 1: sw, :]
                for ky in range(kh) for kx in range(kw)]
        p = np.stack(taps, axis=2)  # [oh, ow, kh*kw, C]
        rows.append(p.reshape(oh * ow, kh * kw * p.shape[-1]) if op.op == "conv_2d" else p.reshape(oh * ow, kh * kw, -1))
    return np.concatenate(rows, axis=0)


def as_rows(op: Operator, w: np.ndarray) -> np.ndarray:
    """Weights as [rows = output channels, K]."""
    if op.op == "depthwise_conv_2d":  # [1, kh, kw, C * m]
        return w.reshape(w.shape[1] * w.shape[2], -1).T
    return w.reshape(w.shape[0], -1)


def from_rows(op: Operator, rows: np.ndarray, shape) -> np.ndarray:
    if op.op == "depthwise_conv_2d":
        return rows.T.reshape(shape)
    return rows.reshape(shape)


@dataclass(frozen=True, eq=False)
class Factor:
    """What GPTQ needs of H, computed once per layer: the column order and the Cholesky factor of H^-1."""

    order: np.ndarray  # [G, K] columns by decreasing diagonal of H (act order)
    u: np.ndarray  # [G, K, K] upper triangular, H^-1 = U^T U in that order


def factor(h: np.ndarray) -> Factor:
    h = np.array(h, dtype=np.float64)
    k = h.shape[1]
    diag = np.einsum("gkk->gk", h)
    for g, i in zip(*np.nonzero(diag <= 0)):
        h[g, i, i] = 1.0  # an input that is always 0: any weight works, keep it from breaking the inverse
    diag = np.einsum("gkk->gk", h)
    h += DAMP * diag.mean(axis=1)[:, None, None] * np.eye(k)
    order = np.argsort(-diag, axis=1, kind="stable")
    hp = np.take_along_axis(np.take_along_axis(h, order[:, :, None], axis=1), order[:, None, :], axis=2)
    return Factor(order, inverse_factor(hp))


def gptq(w: np.ndarray, f: Factor, group: np.ndarray | None, scales: np.ndarray, qmax: int) -> np.ndarray:
    """Integer weights [R, K] for rows w [R, K] with per-row scales (row r uses group[r]'s H, or the only
    one when group is None): column by column in act order, each rounded to nearest and its error spread
    over the columns after it through the Cholesky factor of H^-1."""
    rows, k = w.shape
    row_order = f.order[0][None].repeat(rows, 0) if group is None else f.order[group]
    wp = np.take_along_axis(np.asarray(w, dtype=np.float64), row_order, axis=1)
    s = np.broadcast_to(np.asarray(scales, dtype=np.float64).reshape(-1), (rows,))
    q = np.zeros((rows, k))
    u_rows = None if group is None else f.u[group]  # [R, K, K], only for per-group H (small K)
    for i in range(k):
        col = wp[:, i]
        q[:, i] = np.clip(np.rint(col / s), -qmax, qmax)
        if group is None:
            err = (col - q[:, i] * s) / f.u[0, i, i]
            wp[:, i + 1:] -= err[:, None] * f.u[0, i, i + 1:][None, :]
        else:
            err = (col - q[:, i] * s) / u_rows[:, i, i]
            wp[:, i + 1:] -= err[:, None] * u_rows[:, i, i + 1:]
    result = np.empty_like(q)
    np.put_along_axis(result, row_order, q, axis=1)
    return result.astype(np.int8)


def inverse_factor(h: np.ndarray) -> np.ndarray:
    """Upper triangular U with H^-1 = U^T U, for a stack of positive definite H: with J the order-reversing
    permutation, J H J = L L^T gives H^-1 = (J L^-1 J)^T (J L^-1 J), and J L^-1 J is upper triangular."""
    flipped = h[:, ::-1, ::-1]
    lower = np.linalg.cholesky(flipped)
    eye = np.broadcast_to(np.eye(h.shape[1]), h.shape)
    inv_lower = np.linalg.solve(lower, eye)  # L^-1 (lower triangular)
    return np.ascontiguousarray(inv_lower[:, ::-1, ::-1])


def row_errors(delta: np.ndarray, h: np.ndarray, group: np.ndarray | None) -> np.ndarray:
    """d_r^T H d_r per row: the output error power each row's weight error causes."""
    if group is None:
        return ((delta @ h[0]) * delta).sum(axis=1)
    return np.einsum("rk,rkl,rl->r", delta, h[group], delta, optimize=True)


@dataclass
class Rounder:
    """GPTQ rounding for the weight ops of one float graph, on one calibration set (see the module doc)."""

    graph: Graph
    fit: dict[int, _Moments]
    holdout: dict[int, _Moments]
    progress: Callable[[str], None] | None = None
    dtypes: tuple[str, ...] = ("int4",)  # the weight types it rounds
    spent: float = 0.0  # seconds
    outcomes: dict = field(default_factory=dict)  # (op, q bytes) -> LayerRounding
    _cache: dict = field(default_factory=dict)
    _factors: dict = field(default_factory=dict)  # (op, centred) -> (Factor of the fit H, held-back H)

    def round(self, op: Operator, w: np.ndarray, qw: QuantizedWeights, centred: bool) -> QuantizedWeights:
        """qw with GPTQ's integers where they lower the held-back output error (same scales)."""
        if op.index not in self.fit or qw.dtype not in self.dtypes:
            return qw
        key = (op.index, qw.dtype, qw.scales.tobytes(), centred)
        if key not in self._cache:
            self._cache[key] = self._round(op, np.asarray(w, dtype=np.float64), qw, centred)
        return self._cache[key]

    def _round(self, op: Operator, w: np.ndarray, qw: QuantizedWeights, centred: bool) -> QuantizedWeights:
        start = time.perf_counter()
        qmax = WEIGHT_QMAX[qw.dtype]
        rows = as_rows(op, w)
        groups = self.fit[op.index].xx.shape[0]  # depthwise: output channel o reads input channel o // m
        group = None if groups == 1 else np.arange(rows.shape[0]) // (rows.shape[0] // groups)
        scales = _row_scales(qw, rows.shape[0])
        if (op.index, centred) not in self._factors:
            self._factors[op.index, centred] = (factor(self.fit[op.index].hessian(centred)),
                                                self.holdout[op.index].hessian(centred))
        fit, hold = self._factors[op.index, centred]
        nearest = as_rows(op, qw.q.astype(np.float64))
        tuned = gptq(rows, fit, group, scales, qmax).astype(np.float64)
        s = scales[:, None]
        err_nearest = row_errors(nearest * s - rows, hold, group)
        err_tuned = row_errors(tuned * s - rows, hold, group)
        keep = err_tuned < err_nearest
        chosen = np.where(keep[:, None], tuned, nearest)
        q = from_rows(op, chosen, qw.q.shape).astype(np.int8)
        result = QuantizedWeights(q=q, scales=qw.scales, axis=qw.axis, dtype=qw.dtype)
        seconds = time.perf_counter() - start
        self.spent += seconds
        self.outcomes[op.index, q.tobytes()] = LayerRounding(
            op.index, rows.shape[0], int(keep.sum()), float(err_nearest.sum()),
            float(np.where(keep, err_tuned, err_nearest).sum()), seconds)
        return result

    def outcome(self, op: int, q: np.ndarray) -> LayerRounding | None:
        return self.outcomes.get((op, np.asarray(q, dtype=np.int8).tobytes()))


def _row_scales(qw: QuantizedWeights, rows: int) -> np.ndarray:
    s = np.asarray(qw.scales, dtype=np.float64).reshape(-1)
    return s if s.size == rows else np.full(rows, s[0])


def roundable(graph: Graph, op: Operator) -> bool:
    """Conv (not grouped), depthwise and fully connected ops with 4-D / 2-D weights."""
    if op.op not in ROUNDED_OPS:
        return False
    w = weight_tensor(graph, op)
    x = graph.tensors[op.inputs[0]]
    if w.numel // max(w.shape[0], 1) > MAX_INPUTS and op.op != "depthwise_conv_2d":
        return False
    if op.op == "fully_connected":
        return len(w.shape) == 2 and x.numel % w.shape[1] == 0
    if len(w.shape) != 4 or len(x.shape) != 4:
        return False
    if op.op == "conv_2d":
        return w.shape[3] == x.shape[3]
    return w.shape[3] % x.shape[3] == 0


def work(graph: Graph, op: Operator, samples: int) -> float:
    """Floating point operations GPTQ spends on one layer (module doc)."""
    w = weight_tensor(graph, op)
    out = graph.tensors[op.outputs[0]]
    if op.op == "depthwise_conv_2d":
        k, rows, groups = w.shape[1] * w.shape[2], w.shape[3], graph.tensors[op.inputs[0]].shape[3]
    else:
        k, rows, groups = w.numel // w.shape[0], w.shape[0], 1
    positions = out.numel // max(out.shape[-1], 1)
    patches_seen = samples * min(positions, MAX_PATCHES)
    return 2.0 * k * k * (patches_seen * groups + 8 * rows) + 8.0 * groups * k ** 3


def collect(graph: Graph, calib: CalibrationSet, ops: list[Operator], dtypes: tuple[str, ...] = ("int4",),
            progress=None, budget: float = WORK_BUDGET) -> Rounder:
    """One float pass over the calibration samples, summing each op's input moments (fit and held back)."""
    planned, taken, skipped = 0.0, [], []
    for op in ops:
        if not roundable(graph, op):
            continue
        cost = work(graph, op, calib.count)
        (taken if planned + cost <= budget else skipped).append(op)
        planned += cost if planned + cost <= budget else 0.0
    if skipped and progress:
        progress(f"GPTQ rounding: {len(skipped)} layer(s) past its budget of {budget:.0e} operations keep nearest "
                 f"rounding: " + ", ".join(f"op {op.index}" for op in skipped))
    ops = taken
    fit, holdout = {}, {}
    for op in ops:
        w = weight_tensor(graph, op)
        groups = graph.tensors[op.inputs[0]].shape[3] if op.op == "depthwise_conv_2d" else 1
        k = w.shape[1] * w.shape[2] if op.op == "depthwise_conv_2d" else w.numel // w.shape[0]
        for table in (fit, holdout):
            table[op.index] = _Moments(np.zeros((groups, k, k)), np.zeros((groups, k)))
    if not ops:
        return Rounder(graph, fit, holdout, progress, dtypes)
    start = time.perf_counter()
    runner = FloatRunner(graph)
    wanted = sorted({op.inputs[0] for op in ops})
    for i in range(calib.count):
        values = runner.run(calib.record(i, graph), wanted)
        table = holdout if i % HOLDOUT_EVERY == HOLDOUT_EVERY - 1 else fit
        for op in ops:
            w = weight_tensor(graph, op)
            p = patches(op, w.shape, values[op.inputs[0]], graph.tensors[op.outputs[0]].shape)
            if len(p) > MAX_PATCHES and op.op != "fully_connected":  # a strided pick would miss borders
                p = p[np.sort(np.random.default_rng([i, op.index]).choice(len(p), MAX_PATCHES, replace=False))]
            table[op.index].add(p)
    rounder = Rounder(graph, fit, holdout, progress, dtypes)
    rounder.spent = time.perf_counter() - start
    if progress:
        progress(f"GPTQ rounding: input statistics of {len(ops)} layers from {calib.count} samples "
                 f"({rounder.spent:.1f} s; every {HOLDOUT_EVERY}th held back to check each layer)")
    return rounder


def describe(layers: tuple[LayerRounding, ...]) -> str:
    """One line per quantization: how many output channels kept GPTQ's rounding, the held-back gain, the time."""
    rows = sum(r.rows for r in layers)
    kept = sum(r.accepted for r in layers)
    nearest = sum(r.nearest_error for r in layers)
    parts = ", ".join(f"op {r.op} {r.accepted}/{r.rows} {r.gain_db:+.1f} dB" for r in layers)
    return (f"GPTQ rounding: {kept} of {rows} output channels in {len(layers)} layer(s) kept it (lower output error "
            f"on held-back samples; {sum(r.seconds for r in layers):.1f} s): {parts}" if nearest else "")
