"""Observers: what the calibration runs record per tensor, and the ranges chosen from it.

While the float model runs, `StatsCollector` keeps per tensor the exact min and
max, the per-channel mean (last axis; bias correction uses it) and a fixed-size
random subsample of values. The observers then pick a range from those:

- minmax: the exact range seen (TFLiteConverter's choice).
- percentile: the 0.01st / 99.99th percentiles: drops rare outliers.
- mse: the range whose int8 fake-quantization of the sampled values has the
  least squared error (clipping traded against resolution).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinyq.quantize.qparams import affine_params

SAMPLE_VALUES = 1 << 21  # values kept per tensor, spread over all samples (small models: all)
PERCENTILE = 99.99


@dataclass(frozen=True, eq=False)
class TensorStats:
    lo: float
    hi: float
    channel_mean: np.ndarray  # mean over everything but the last axis
    sample: np.ndarray  # subsample of the values seen (float32, 1-D)
    count: int  # samples observed


class StatsCollector:
    def __init__(self, tensors: list[int], n_samples: int, seed: int = 0):
        self._rng = np.random.default_rng(seed)
        self._per_sample = max(16, -(-SAMPLE_VALUES // max(n_samples, 1)))
        self._lo = {t: np.inf for t in tensors}
        self._hi = {t: -np.inf for t in tensors}
        self._sum: dict[int, np.ndarray] = {}
        self._rows = {t: 0 for t in tensors}
        self._samples: dict[int, list[np.ndarray]] = {t: [] for t in tensors}
        self._count = 0

    def update(self, values: dict[int, np.ndarray]) -> None:
        self._count += 1
        for t, array in values.items():
            flat = np.asarray(array, dtype=np.float32).reshape(-1)
            if flat.size == 0:
                continue
            # np.minimum keeps a NaN (Python's min drops it when it comes second): calibrate refuses it
            self._lo[t] = float(np.minimum(self._lo[t], flat.min()))
            self._hi[t] = float(np.maximum(self._hi[t], flat.max()))
            channels = array.shape[-1] if array.ndim else 1
            rows = np.asarray(array, dtype=np.float64).reshape(-1, channels)
            self._sum[t] = self._sum.get(t, 0) + rows.sum(axis=0)
            self._rows[t] += rows.shape[0]
            if flat.size <= self._per_sample:
                self._samples[t].append(flat.copy())
            else:
                self._samples[t].append(flat[self._rng.integers(0, flat.size, self._per_sample)])

    def finish(self) -> dict[int, TensorStats]:
        result = {}
        for t in self._lo:
            if not self._samples[t]:
                continue
            result[t] = TensorStats(lo=self._lo[t], hi=self._hi[t],
                                    channel_mean=self._sum[t] / max(self._rows[t], 1),
                                    sample=np.concatenate(self._samples[t]), count=self._count)
        return result


def minmax_range(stats: TensorStats) -> tuple[float, float]:
    return stats.lo, stats.hi


def percentile_range(stats: TensorStats) -> tuple[float, float]:
    lo = float(np.percentile(stats.sample, 100 - PERCENTILE)) if stats.lo < 0 else stats.lo
    hi = float(np.percentile(stats.sample, PERCENTILE)) if stats.hi > 0 else stats.hi
    return max(lo, stats.lo), min(hi, stats.hi)


HISTOGRAM_BINS = 8192  # 32 bins per int8 step at full range: fine enough to rank clipping choices


def _fq_error(x: np.ndarray, weight: np.ndarray, lo: float, hi: float) -> float:
    scale, zp = affine_params(lo, hi)
    q = np.clip(np.rint(x / scale) + zp, -128, 127)  # rint: the error estimate does not need std::round
    return float(np.dot(weight, ((q - zp) * scale - x) ** 2))


def _histogram(stats: TensorStats) -> tuple[np.ndarray, np.ndarray]:
    """(value, weight) points: bin centres of the non-zero values, plus exact zeros (ReLU) as one point."""
    values = stats.sample[stats.sample != 0]
    # float64 edges: float32 ones (numpy's choice for float32 values) coincide when the range is under 8192
    # float32 steps wide (a LayerNorm's variance of an already normalized tensor: 0.999988 to 0.999992)
    counts, edges = np.histogram(values.astype(np.float64), bins=HISTOGRAM_BINS, range=(stats.lo, stats.hi))
    used = counts > 0
    x = np.append(((edges[:-1] + edges[1:]) / 2)[used], 0.0)
    w = np.append(counts[used], stats.sample.size - values.size) / stats.sample.size
    return x, w


def mse_range(stats: TensorStats) -> tuple[float, float]:
    """Shrink both ends together, then each end alone, keeping the least-error range.

    The error is evaluated on a fine histogram of the sampled values (bin
    centres weighted by counts), so every candidate costs the same.
    """
    if stats.hi - stats.lo <= 0:
        return stats.lo, stats.hi
    x, w = _histogram(stats)

    def error(lo: float, hi: float) -> float:
        return _fq_error(x, w, lo, hi)

    best = (stats.lo, stats.hi)
    best_err = error(*best)
    for f in np.linspace(0.3, 1.0, 71):
        err = error(stats.lo * f, stats.hi * f)
        if err < best_err:
            best, best_err = (stats.lo * f, stats.hi * f), err
    for end in (0, 1):
        for f in np.linspace(0.5, 1.0, 51):
            cand = (best[0] * f, best[1]) if end == 0 else (best[0], best[1] * f)
            err = error(*cand)
            if err < best_err:
                best, best_err = cand, err
    return best


OBSERVERS: dict[str, Callable[[TensorStats], tuple[float, float]]] = {
    "minmax": minmax_range,
    "percentile": percentile_range,
    "mse": mse_range,
}
