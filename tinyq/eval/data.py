"""The data `tinyq eval` runs a model on, and the labels it scores against.

`--data` is a .npy (N x the input's shape, its batch of 1 left out) for a single-input model, or an
.npz with one such array per input (named like the inputs, or in their order). Float data fed to a
quantized input is quantized with that input's scale and zero point, rounded half away from zero
as TFLite's QUANTIZE op does; integer data must already have the input's type. Everything is checked
before any model runs, so a wrong file fails with one line that names the input and both shapes.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyq.errors import TinyqError, path_error
from tinyq.ir import DTYPES, Graph, Tensor
from tinyq.qmath import INT32_MIN, round_half_away

SAVE_HINT = "write it with np.save(path, x), x an array of numbers (N x input shape)"


@dataclass(frozen=True, eq=False)
class Dataset:
    """One float-or-integer array per model input (N x sample shape), as the user gave them."""

    arrays: tuple[np.ndarray, ...]
    source: str

    @property
    def count(self) -> int:
        return len(self.arrays[0])

    def head(self, n: int | None) -> "Dataset":
        return self if n is None else Dataset(tuple(a[:n] for a in self.arrays), self.source)


def sample_shape(t: Tensor) -> tuple[int, ...]:
    """One sample's shape: the tensor's shape without its batch of 1."""
    return tuple(t.shape[1:]) if t.shape and t.shape[0] == 1 else tuple(t.shape)


def read_array(path: Path, what: str = "data") -> np.ndarray:
    """A .npy file as an array of numbers, or a one-line error saying what is wrong with it."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise TinyqError(f"{what} file not found", where=str(path)) from None
    except OSError as exc:
        raise (path_error(exc, str(path)) or TinyqError(f"cannot read the {what} ({exc})", where=str(path))) from None
    except ValueError as exc:  # pickled objects, a damaged header, a truncated body
        raise TinyqError(f"not a readable .npy array of numbers ({str(exc).splitlines()[0][:120]})",
                         where=str(path), hint=SAVE_HINT) from None
    if isinstance(array, np.lib.npyio.NpzFile):
        array.close()
        raise TinyqError(f"the {what} file is an .npz archive, not a .npy array", where=str(path),
                         hint="name it .npz (one array per model input)")
    if array.dtype.kind not in "biuf":
        raise TinyqError(f"the {what} holds {array.dtype} values, not numbers", where=str(path), hint=SAVE_HINT)
    return array


def read_npz(path: Path, names: list[str]) -> list[np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            stored = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise TinyqError(f"not a readable .npz archive ({str(exc).splitlines()[0][:120]})", where=str(path),
                         hint="write it with np.savez(path, input_name=x, ...)") from None
    if all(n in stored for n in names):
        return [stored[n] for n in names]
    if len(stored) == len(names):
        return list(stored.values())
    raise TinyqError(f"the .npz holds arrays {sorted(stored)}, the model has {len(names)} inputs {names}",
                     where=str(path), hint="name the arrays like the model inputs, or give one per input")


def load_data(path: Path, graph: Graph) -> Dataset:
    """`--data`: checked against every input of `graph` (shapes, kinds, a common sample count)."""
    path = Path(path)
    names = [graph.tensors[i].name for i in graph.inputs]
    if path.suffix.lower() == ".npz":
        arrays = read_npz(path, names)
    elif len(names) != 1:
        raise TinyqError(f"the model has {len(names)} inputs; a .npy holds data for one", where=str(path),
                         hint="pass an .npz with one array per input, named like the inputs")
    else:
        arrays = [read_array(path)]
    for array, index in zip(arrays, graph.inputs):
        check_array(array, graph.tensors[index], str(path))
    counts = sorted({len(a) for a in arrays})
    if len(counts) != 1:
        raise TinyqError(f"the inputs have different sample counts {counts}", where=str(path))
    if counts[0] == 0:
        raise TinyqError("the data holds no samples", where=str(path))
    return Dataset(tuple(arrays), str(path))


def check_array(array: np.ndarray, t: Tensor, where: str) -> None:
    """N samples for input `t`: the per-sample shape must match; float data only for float or quantized inputs."""
    want = sample_shape(t)
    label = f"input '{t.name}'"
    if array.ndim == 0 or tuple(array.shape[1:]) != want:
        got = tuple(array.shape)
        if got == want and want:
            hint = "that is one sample: stack samples along a new first axis"
        elif array.ndim >= 1 and int(np.prod(got[1:], dtype=np.int64)) == int(np.prod(want, dtype=np.int64)):
            hint = f"reshape it: x.reshape({', '.join(str(d) for d in (got[0],) + want)})"
        else:
            hint = "is this data for this model?"
        raise TinyqError(f"the data has shape {got}; {label} takes N x {want}", where=where, hint=hint)
    model_type = np.dtype(DTYPES.get(t.dtype, (np.void,))[0])
    if array.dtype.kind == "f" and model_type.kind != "f" and t.quant is None:
        raise TinyqError(f"the data is {array.dtype}; {label} takes unquantized {t.dtype}", where=where,
                         hint=f"give {t.dtype} values")
    if array.dtype.kind != "f" and array.dtype != model_type:
        hint = ("give the float values the model sees before quantization (they are quantized with the input's "
                "scale)" if t.quant is not None else f"give {t.dtype} values")
        raise TinyqError(f"the data is {array.dtype}; {label} takes {t.dtype}", where=where, hint=hint)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise TinyqError(f"the data holds {bad} NaN/Inf value(s)", where=where, hint="remove or fix those samples")


def quantize_input(values: np.ndarray, t: Tensor) -> np.ndarray:
    """Float values as tensor `t` takes them, as TFLM's QUANTIZE computes them: x / scale in float32,
    rounded half away from zero (values beyond int32 become INT32_MIN, as on x86), plus the zero point
    with int32 wrap-around, clamped to the type. Integer values and float inputs pass through."""
    np_type = np.dtype(DTYPES[t.dtype][0])
    if np_type.kind == "f" or values.dtype.kind != "f":
        return values.astype(np_type)
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values.astype(np.float32) / np.float32(t.quant.s)
    rounded = np.where(np.abs(scaled) < 2.0 ** 31, round_half_away(scaled), float(INT32_MIN)).astype(np.int64)
    wrapped = (rounded + t.quant.zp + 2 ** 31) % 2 ** 32 - 2 ** 31  # TFLM adds the zero point in int32
    info = np.iinfo(np_type)
    return np.clip(wrapped, info.min, info.max).astype(np_type)


def model_records(data: Dataset, graph: Graph) -> list[list[np.ndarray]]:
    """Per sample, one array per input, in the input's type and full shape (what TFLM and the device take)."""
    converted = [quantize_input(a, graph.tensors[i]) for a, i in zip(data.arrays, graph.inputs)]
    shapes = [graph.tensors[i].shape for i in graph.inputs]
    return [[np.ascontiguousarray(c[r].reshape(s)) for c, s in zip(converted, shapes)] for r in range(data.count)]


def load_labels(path: Path, count: int) -> np.ndarray:
    """`--labels`: one per sample (class indices, one-hot rows, or reference values)."""
    labels = read_array(Path(path), "labels")
    if labels.ndim == 0:
        raise TinyqError("the labels are a single value; give one per sample", where=str(path))
    if len(labels) != count:
        raise TinyqError(f"{len(labels)} labels for {count} samples", where=str(path),
                         hint="give one label per sample of --data, in the same order")
    return labels
