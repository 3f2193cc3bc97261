"""Weight rounding that minimizes each layer's output error (GPTQ), checked on held-back samples.

Rounding every weight to its nearest grid point minimizes the weights' own
error, not the layer's output error. GPTQ (Frantar et al., 2022) rounds one
input column at a time and moves the error it made onto the columns not yet
rounded, weighted by the inverse Hessian H = E[x x^T] of the layer's inputs,
so the output error E|(Wq - W) x|^2 = sum over rows of d^T H d is what shrinks.
At int4 this is where most of the loss is; at int8 it gains little beside int8
activations, but beside int16 ones (16x8) the weights' rounding is most of the
noise again (QuantizeConfig.gptq_rounds).

Inputs x are the float model's (the patches a conv multiplies, one per output
position; per input channel for depthwise, whose output channels each see one)
on the calibration samples, split: three in four fit H, every fourth is held
back. Each output channel (rows are independent outputs) keeps the GPTQ
rounding only where it lowers the error on the held-back samples, else the
nearest one - so no layer gets worse on data GPTQ did not see (a GPTQ prototype
without that check lowered a small DS-CNN's first two layers). The quantizer
measures the error on uncentred inputs (H = E[x x^T], the mean output shift
included) even with bias correction on: the correction uses each input
channel's mean, not each tap's (zero padding at a conv's borders, clipped
weights), so the shift it leaves matters; measured on ResNet-8's op 9 alone
with int4 weights, centred H with the scale search gave 30.4 dB at the logits
and uncentred H 35.5 dB (`centred` remains for callers that want the covariance).

The scales are the ones given (max or MSE clip, raised for the bias) unless a
scale search is asked for (the MSE clip's setting): then each output channel
also tries the clip ratios in SEARCH_RATIOS of max|w| (never below the bias's
floor), GPTQ-rounded, and takes the one with the least output error on the fit
samples - the weights' own MSE, which picks the MSE clip, is not the output's.
The held-back check then compares that channel with nearest rounding at the
given scale, as above, and the layer keeps the searched scales only if its
held-back error is lower than without the search (one scale per tensor - int4
fully connected layers - is searched for the whole layer). GPTQ's integers are
then refined by a few coordinate descent passes on the same error (refine).
H's damping grows with K / patches seen (DAMP_PER_RATIO): a fully connected
layer sees one input per sample, so with 48 samples and 128 inputs its H is
rank-deficient and GPTQ would fit noise (measured on the AD autoencoder's
128-input layers: 0.4-1.2 dB less held-back error, 0.5 dB more at the output
with every layer int4; no change on the conv models). Work per layer is
about K^2 (patches + 8 rows x 12 scale choices) + 8 K^3 floating point
operations for K inputs per row (a conv takes at most MAX_PATCHES output
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
from tinyq.qmath import round_half_away
from tinyq.passes.graph_edit import option
from tinyq.quantize.data import CalibrationSet
from tinyq.quantize.floatrun import FloatRunner
from tinyq.quantize.qparams import WEIGHT_QMAX
from tinyq.quantize.weights import QuantizedWeights, weight_tensor

HOLDOUT_EVERY = 4  # every fourth calibration sample is held back for the acceptance check
DAMP = 0.01  # of the mean diagonal, added to H: keeps the inverse finite where inputs are (nearly) dependent
DAMP_PER_RATIO = 0.05  # more damping, times K / patches in the fit: H from few samples is shrunk toward its diagonal
SEARCH_RATIOS = tuple(np.linspace(0.5, 1.0, 11))  # clip ratios of max|w| per channel the scale search tries
GPTQ_BLOCK = 128  # columns per lazy batch (the result is the same; the update of later columns is one product)
REFINE_PASSES = 3  # coordinate descent passes over GPTQ's integers (each at most GPTQ's cost)
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


def factor(h: np.ndarray, damp: float = DAMP) -> Factor:
    h = np.array(h, dtype=np.float64)
    k = h.shape[1]
    diag = np.einsum("gkk->gk", h)
    for g, i in zip(*np.nonzero(diag <= 0)):
        h[g, i, i] = 1.0  # an input that is always 0: any weight works, keep it from breaking the inverse
    diag = np.einsum("gkk->gk", h)
    h += damp * diag.mean(axis=1)[:, None, None] * np.eye(k)
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
    for start in range(0, k, GPTQ_BLOCK):  # GPTQ's lazy batches: within a block column by column, then
        end = min(start + GPTQ_BLOCK, k)      # the block's errors onto the columns after it in one product
        errs = np.zeros((rows, end - start))
        for i in range(start, end):
            col = wp[:, i]
            q[:, i] = np.clip(np.rint(col / s), -qmax, qmax)
            if group is None:
                err = (col - q[:, i] * s) / f.u[0, i, i]
                wp[:, i + 1:end] -= err[:, None] * f.u[0, i, i + 1:end][None, :]
            else:
                err = (col - q[:, i] * s) / u_rows[:, i, i]
                wp[:, i + 1:end] -= err[:, None] * u_rows[:, i, i + 1:end]
            errs[:, i - start] = err
        if end < k:
            wp[:, end:] -= (errs @ f.u[0, start:end, end:] if group is None
                            else np.einsum("rb,rbk->rk", errs, u_rows[:, start:end, end:], optimize=True))
    result = np.empty_like(q)
    np.put_along_axis(result, row_order, q, axis=1)
    return result.astype(np.int8)


def refine(q: np.ndarray, w: np.ndarray, scales: np.ndarray, h: np.ndarray, group, qmax: int,
           passes: int = REFINE_PASSES) -> np.ndarray:
    """GPTQ's integers [R, K] improved by coordinate descent on each row's output error d^T H d (d = s q - w):
    column by column, the integer step that lowers it most given the others (GPTQ decides each column once,
    looking only at the columns after it; this revisits every column with all the others fixed)."""
    q = np.array(q, dtype=np.float64)
    s = np.asarray(scales, dtype=np.float64).reshape(-1, 1)
    hr = h[0][None] if group is None else h[group]  # [1 or R, K, K]
    d = q * s - w
    g = np.einsum("rk,rkl->rl", d, hr, optimize=True) if group is not None else d @ h[0]
    diag = np.einsum("rkk->rk", hr)
    for _ in range(passes):
        moved = False
        for j in range(q.shape[1]):
            hjj = diag[:, j] * s[:, 0] ** 2
            step = np.where(hjj > 0, np.rint(-g[:, j] * s[:, 0] / np.where(hjj > 0, hjj, 1.0)), 0.0)
            step = np.clip(q[:, j] + step, -qmax, qmax) - q[:, j]
            if not step.any():
                continue
            moved = True
            delta = step * s[:, 0]
            q[:, j] += step
            g += delta[:, None] * (hr[:, j, :] if group is not None else h[0][j][None, :])
        if not moved:
            break
    return q


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
    _factors: dict = field(default_factory=dict)  # (op, centred) -> (Factor of the fit H, fit H damped, held-back H)

    def round(self, op: Operator, w: np.ndarray, qw: QuantizedWeights, centred: bool,
              floor: np.ndarray | None = None, search: bool = False) -> QuantizedWeights:
        """qw with GPTQ's integers where they lower the held-back output error; with `search`, per-channel
        scales (not below `floor`, the bias's) searched for the least output error too (module doc)."""
        if op.index not in self.fit or qw.dtype not in self.dtypes:
            return qw
        if floor is not None and search:  # a floor below every scale tried changes nothing: one cache entry
            absmax = np.abs(as_rows(op, np.asarray(w, dtype=np.float64))).max(axis=1)
            lowest = (absmax.max() if qw.scales.size == 1 else absmax) * min(SEARCH_RATIOS) / WEIGHT_QMAX[qw.dtype]
            floor = None if np.all(np.asarray(floor, dtype=np.float64) < lowest) else floor
        key = (op.index, qw.dtype, qw.scales.tobytes(), centred, search, None if floor is None else floor.tobytes())
        if key not in self._cache:
            self._cache[key] = self._round(op, np.asarray(w, dtype=np.float64), qw, centred, floor, search)
        return self._cache[key]

    def _round(self, op: Operator, w: np.ndarray, qw: QuantizedWeights, centred: bool, floor, search: bool
               ) -> QuantizedWeights:
        start = time.perf_counter()
        qmax = WEIGHT_QMAX[qw.dtype]
        rows = as_rows(op, w)
        groups = self.fit[op.index].xx.shape[0]  # depthwise: output channel o reads input channel o // m
        group = None if groups == 1 else np.arange(rows.shape[0]) // (rows.shape[0] // groups)
        scales = _row_scales(qw, rows.shape[0])
        if (op.index, centred) not in self._factors:
            moments = self.fit[op.index]
            damp = DAMP + DAMP_PER_RATIO * moments.xx.shape[1] / max(moments.n, 1)
            h = moments.hessian(centred)
            damped = h + damp * np.einsum("gkk->gk", h).mean(axis=1)[:, None, None] * np.eye(h.shape[1])
            self._factors[op.index, centred] = (factor(h, damp), damped, self.holdout[op.index].hessian(centred))
        fit, fit_h, hold = self._factors[op.index, centred]
        nearest = as_rows(op, qw.q.astype(np.float64))
        tuned = refine(gptq(rows, fit, group, scales, qmax), rows, scales, fit_h, group, qmax)
        chosen, kept_scales, keep, err_nearest, err = _keep_better(rows, tuned, scales, nearest, scales, hold, group)
        shared = qw.scales.size == 1  # one scale for the tensor: searched for the layer's least error
        if search:
            tuned, tuned_scales = _search_scales(rows, fit, fit_h, group, scales, floor, qmax, tuned, shared)
            tuned = refine(tuned, rows, tuned_scales, fit_h, group, qmax)
            base = nearest if not shared else np.clip(round_half_away(rows / tuned_scales[:, None]), -qmax, qmax)
            found = _keep_better(rows, tuned, tuned_scales, base, scales if not shared else tuned_scales, hold, group)
            if found[4].sum() < err.sum():
                chosen, kept_scales, keep, _, err = found
        q = from_rows(op, chosen, qw.q.shape).astype(np.int8)
        kept_scales = kept_scales.astype(np.float32)[:qw.scales.size].reshape(qw.scales.shape)
        result = QuantizedWeights(q=q, scales=kept_scales, axis=qw.axis, dtype=qw.dtype)
        seconds = time.perf_counter() - start
        self.spent += seconds
        self.outcomes[op.index, q.tobytes()] = LayerRounding(
            op.index, rows.shape[0], int(keep.sum()), float(err_nearest.sum()), float(err.sum()), seconds)
        return result

    def outcome(self, op: int, q: np.ndarray) -> LayerRounding | None:
        return self.outcomes.get((op, np.asarray(q, dtype=np.int8).tobytes()))


def _keep_better(rows, tuned, tuned_scales, nearest, nearest_scales, hold, group) -> tuple:
    """Per row, GPTQ's rounding where its held-back output error is lower than nearest's: (integers, scales,
    rows kept, nearest's errors, the kept rows' errors)."""
    err_nearest = row_errors(nearest * nearest_scales[:, None] - rows, hold, group)
    err_tuned = row_errors(tuned * tuned_scales[:, None] - rows, hold, group)
    keep = err_tuned < err_nearest
    return (np.where(keep[:, None], tuned, nearest), np.where(keep, tuned_scales, nearest_scales), keep,
            err_nearest, np.where(keep, err_tuned, err_nearest))


def _search_scales(rows: np.ndarray, fit: Factor, fit_h: np.ndarray, group, scales: np.ndarray, floor, qmax: int,
                   tuned: np.ndarray, shared: bool) -> tuple[np.ndarray, np.ndarray]:
    """GPTQ integers and per-row scales: of the given scales and each clip ratio in SEARCH_RATIOS (scales
    as float32, as stored, and not below the floor), per row (`shared`: for the whole layer) the one with the
    least output error on the fit samples."""
    absmax = np.abs(rows).max(axis=1)
    if shared:
        absmax = np.full_like(absmax, absmax.max())
    low = np.zeros_like(scales) if floor is None else np.asarray(floor, dtype=np.float64).reshape(-1)
    best_s, best_q = scales.copy(), tuned
    best_err = row_errors(tuned * scales[:, None] - rows, fit_h, group)
    n, r = len(SEARCH_RATIOS), len(rows)
    s_all = np.where(absmax > 0, absmax * np.asarray(SEARCH_RATIOS)[:, None] / qmax, scales)  # [ratios, R]
    s_all = np.maximum(s_all, low).astype(np.float32).astype(np.float64)
    stacked = None if group is None else np.tile(group, n)  # every ratio's rows in one GPTQ pass
    q_all = gptq(np.tile(rows, (n, 1)), fit, stacked, s_all.reshape(-1), qmax).astype(np.float64).reshape(n, r, -1)
    err_all = row_errors((q_all * s_all[:, :, None] - rows).reshape(n * r, -1), fit_h, stacked).reshape(n, r)
    for q, s, err in zip(q_all, s_all, err_all):
        better = np.full(len(err), err.sum() < best_err.sum()) if shared else err < best_err
        best_err = np.where(better, err, best_err)
        best_s = np.where(better, s, best_s)
        best_q = np.where(better[:, None], q, best_q)
    return best_q, best_s


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
    searched = 8 * rows * (1 + len(SEARCH_RATIOS))  # GPTQ at the given scales and at each ratio searched
    return 2.0 * k * k * (patches_seen * groups + searched) + 8.0 * groups * k ** 3


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
