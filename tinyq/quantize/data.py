"""Calibration data: a .npy (N x input shape), a .npz (one array per input) or a folder of .npy.

Everything is checked against the float model's inputs before any run, so a
wrong file fails with one line naming the input, the shape it wants and the
shape it got.
"""

from __future__ import annotations

import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from numpy.lib import format as npy_format

from tinyq.errors import TinyqError, path_error
from tinyq.ir import DTYPES, Graph, Tensor

MIN_SAMPLES = 8  # fewer samples than this give ranges that depend on which ones were picked
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK"
# Version 3.0 differs from 2.0 only in the header's text encoding (UTF-8 for field names).
HEADER_READERS = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0,
                  (3, 0): npy_format.read_array_header_2_0}
SAVE_HINT = "write it with np.save(path, x), x an array of numbers"
NPZ_HINT = "write it with np.savez(path, input_name=x, ...), one array of numbers per model input"


@dataclass(frozen=True, eq=False)
class CalibrationSet:
    """One array per graph input, each N x (the input's shape without its batch of 1)."""

    arrays: tuple[np.ndarray, ...]
    source: str = ""

    @property
    def count(self) -> int:
        return len(self.arrays[0]) if self.arrays else 0

    def record(self, i: int, graph: Graph) -> list[np.ndarray]:
        """Sample i, shaped as the graph's inputs."""
        return [a[i].reshape(graph.tensors[t].shape) for a, t in zip(self.arrays, graph.inputs)]

    def records(self, graph: Graph, limit: int | None = None) -> list[list[np.ndarray]]:
        n = self.count if limit is None else min(limit, self.count)
        return [self.record(i, graph) for i in range(n)]

    def head(self, n: int) -> "CalibrationSet":
        return CalibrationSet(tuple(a[:n] for a in self.arrays), self.source)


def load_calibration(path: str | Path, graph: Graph) -> CalibrationSet:
    path = Path(path)
    where = str(path)
    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise TinyqError("calibration folder holds no .npy files", where=where)
        if len(graph.inputs) != 1:
            raise TinyqError(f"the model has {len(graph.inputs)} inputs; a folder of .npy files can only "
                             "calibrate a single-input model", where=where, hint="pass an .npz with one array per input")
        per_sample = sample_shape(graph.tensors[graph.inputs[0]])
        parts = []
        for f in files:  # one sample per file, or a batch of them
            a = _load_npy(f)
            parts.append(a[None] if tuple(a.shape) == per_sample else a)
        try:
            arrays = [np.concatenate(parts, axis=0)]
        except ValueError:
            shapes = sorted({tuple(p.shape[1:]) for p in parts})
            raise TinyqError(f"the .npy files in the folder have different shapes {shapes}", where=where) from None
    elif path.suffix.lower() == ".npz":
        arrays = _npz_arrays(path, graph)
    elif path.suffix.lower() == ".npy":
        if len(graph.inputs) != 1:
            raise TinyqError(f"the model has {len(graph.inputs)} inputs; a .npy holds data for one",
                             where=where, hint="pass an .npz with one array per input, named like the inputs")
        arrays = [_load_npy(path)]
    elif not path.exists():
        raise TinyqError("calibration data not found", where=where)
    else:
        raise TinyqError("calibration data must be a .npy, an .npz or a folder of .npy files", where=where)
    return check_calibration(arrays, graph, where)


def _load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            return _read_npy(f, os.fstat(f.fileno()).st_size, str(path), "the file")
    except OSError as exc:
        raise (path_error(exc, str(path)) or TinyqError(f"cannot read it ({exc})", where=str(path))) from None


def _read_npy(f: BinaryIO, size: int, where: str, what: str) -> np.ndarray:
    """One .npy array from `f` (`size` bytes), checked piece by piece so a bad file says what is wrong."""
    if size == 0:
        raise TinyqError(f"{what} is empty (0 bytes)", where=where, hint=SAVE_HINT)
    prefix = f.read(len(NPY_MAGIC) + 2)
    if not prefix.startswith(NPY_MAGIC):
        if prefix.startswith(ZIP_MAGIC):
            raise TinyqError(f"{what} is an .npz archive, not a .npy array", where=where, hint="name it .npz")
        raise TinyqError(f"{what} is not a NumPy .npy array (no .npy header)", where=where, hint=SAVE_HINT)
    reader = HEADER_READERS.get(tuple(prefix[len(NPY_MAGIC):]))
    if reader is None:
        raise TinyqError(f"{what} is truncated or in an unknown .npy format version", where=where, hint=SAVE_HINT)
    try:
        shape, fortran, dtype = reader(f)
    except (ValueError, EOFError, SyntaxError) as exc:
        raise TinyqError(f"{what} has a truncated or damaged .npy header ({exc})", where=where,
                         hint=SAVE_HINT) from None
    if dtype.hasobject:
        raise TinyqError(f"{what} holds Python objects (pickled), not numbers", where=where,
                         hint="save a numeric array, e.g. np.save(path, np.asarray(x, np.float32))")
    count = int(np.prod(shape, dtype=np.int64))
    need, have = count * dtype.itemsize, size - (len(NPY_MAGIC) + 2) - _header_bytes(f, prefix)
    if have < need:
        raise TinyqError(f"{what} is truncated: its header announces {' x '.join(map(str, shape)) or 'one'} "
                         f"{dtype} values ({need:,} B), it holds {max(have, 0):,} B of data", where=where,
                         hint="write it again (was the copy or download complete?)")
    flat = np.empty(count, dtype)
    got = _read_into(f, flat.view(np.uint8)) if need else 0
    if got < need:
        raise TinyqError(f"{what} is truncated: {got:,} of {need:,} B of data", where=where, hint=SAVE_HINT)
    return flat.reshape(shape[::-1]).T if fortran else flat.reshape(shape)


def _header_bytes(f: BinaryIO, prefix: bytes) -> int:
    """The length of the header after the magic and version: what the reader consumed."""
    return f.tell() - len(prefix) if f.seekable() else 0


def _read_into(f: BinaryIO, buffer: np.ndarray) -> int:
    view, got = memoryview(buffer), 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def _npz_arrays(path: Path, graph: Graph) -> list[np.ndarray]:
    where = str(path)
    try:
        with zipfile.ZipFile(path) as zf:
            stored = {}
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
                if name == info.filename:
                    raise TinyqError(f"the archive holds {name}, which is not a .npy array", where=where,
                                     hint=NPZ_HINT)
                try:
                    with zf.open(info) as f:
                        stored[name] = _read_npy(f, info.file_size, where, f"array '{name}'")
                        f.read()  # to its end: the zip checks the CRC there
                except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                    raise TinyqError(f"array '{name}' is damaged ({exc})", where=where, hint=NPZ_HINT) from None
    except zipfile.BadZipFile:
        empty = path.is_file() and path.stat().st_size == 0
        what = "the file is empty (0 bytes)" if empty else "the file is truncated or not an .npz (zip) archive"
        raise TinyqError(what, where=where, hint=NPZ_HINT) from None
    except OSError as exc:
        raise (path_error(exc, where) or TinyqError(f"cannot read it ({exc})", where=where)) from None
    if not stored:
        raise TinyqError("the archive holds no arrays", where=where, hint=NPZ_HINT)
    names = [graph.tensors[i].name for i in graph.inputs]
    if all(n in stored for n in names):
        return [stored[n] for n in names]
    if len(stored) == len(names):
        return [stored[k] for k in sorted(stored, key=_positional_key)]
    raise TinyqError(f"the .npz holds arrays {sorted(stored)}, the model has {len(names)} inputs {names}",
                     where=str(path), hint="name the arrays like the model inputs, or give one per input")


def _positional_key(name: str):
    digits = "".join(c for c in name if c.isdigit())
    return (int(digits) if digits else 0, name)


def check_calibration(arrays, graph: Graph, where: str = "calibration data") -> CalibrationSet:
    """Arrays (N x per-sample shape, one per input) -> a CalibrationSet, or a one-line error."""
    if len(arrays) != len(graph.inputs):
        raise TinyqError(f"{len(arrays)} calibration arrays for {len(graph.inputs)} model inputs", where=where)
    checked = []
    for array, index in zip(arrays, graph.inputs):
        checked.append(_check_one(np.asarray(array), graph.tensors[index], where))
    counts = {len(a) for a in checked}
    if len(counts) != 1:
        raise TinyqError(f"the inputs have different sample counts {sorted(counts)}", where=where)
    n = counts.pop()
    if n < MIN_SAMPLES:
        raise TinyqError(f"only {n} calibration sample(s); at least {MIN_SAMPLES} are needed", where=where,
                         hint="pass a few hundred representative inputs for good ranges")
    return CalibrationSet(tuple(checked), where)


def sample_shape(t: Tensor) -> tuple[int, ...]:
    """One sample's shape: the input's shape without its batch of 1."""
    return tuple(t.shape[1:]) if t.shape and t.shape[0] == 1 else tuple(t.shape)


def _check_one(array: np.ndarray, t: Tensor, where: str) -> np.ndarray:
    want = sample_shape(t)
    label = f"input '{t.name}'"
    expected_dtype = DTYPES.get(t.dtype, (None,))[0]
    is_float_input = expected_dtype is not None and np.issubdtype(expected_dtype, np.floating)
    kinds = "b" if t.dtype == "bool" else "fiu"  # a SELECT's condition takes True/False, nothing else
    if array.dtype.kind not in kinds or (is_float_input and array.dtype.kind != "f"):
        raise TinyqError(f"calibration data for {label} is {array.dtype}, the model takes {t.dtype}", where=where,
                         hint="pass True/False values (e.g. x.astype(bool))" if t.dtype == "bool" else
                         "pass the float values the float model takes (e.g. x.astype(np.float32))")
    if not is_float_input and array.dtype.kind == "f":
        raise TinyqError(f"calibration data for {label} is {array.dtype}, the model takes {t.dtype}", where=where)
    if array.ndim == 0:
        raise TinyqError(f"calibration data for {label} is a single value; the model wants N x {want}", where=where,
                         hint="stack the samples along a new first axis")
    if tuple(array.shape[1:]) != want:
        if tuple(array.shape) == want and want:
            hint = "the array looks like one sample: stack samples along a new first axis"
        elif array.ndim >= 1 and int(np.prod(array.shape[1:], dtype=np.int64)) == int(np.prod(want, dtype=np.int64)):
            hint = f"reshape it, e.g. x.reshape({array.shape[0]}, {', '.join(str(d) for d in want)})"
        else:
            hint = "the data does not belong to this model"
        raise TinyqError(f"calibration data for {label} has shape {tuple(array.shape)}; the model wants "
                         f"N x {want}", where=where, hint=hint)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise TinyqError(f"calibration data for {label} holds {bad} NaN/Inf value(s)", where=where,
                         hint="remove or fix those samples")
    return array.astype(expected_dtype) if expected_dtype is not None else array
