"""GATHER, GATHER_ND and EMBEDDING_LOOKUP: int8/float32 data (arena or flash), int32 indices.

With constant indices (the common case) every source position is known offline: the op
is a copy through the remap tables (tinyq/ops/remap.py), and an index TFLM would reject
or read out of bounds with is refused here. Indices computed at run time go to kernels
that check each one as TFLM does, and where TFLM has no check tinyq still has one:

* GATHER: TFLM only DCHECKs the range (compiled out: it reads outside the input). tinyq's
  kernel stops and the model's invoke returns non-zero.
* GATHER_ND: TFLM fails Eval when a slice's flat position falls outside the params (it
  checks the flat position, not each index, in int arithmetic that wraps); so does tinyq.
* EMBEDDING_LOOKUP: TFLM fails Eval for a row outside [0, rows); so does tinyq. int8 rows
  into a float32 output (the hybrid path) are dequantized with the table's scale.

A failing op returns its position + 1 from invoke (0 means success), as TFLM's invoke fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyq import qmath
from tinyq.ir import DTYPES, Graph, Operator, Tensor
from tinyq.ops import remap
from tinyq.ops.base import Lowered, OpSpec, QuantRule, reference_kernel, unsupported
from tinyq.ops.common import io
from tinyq.ops.operands import operand_sources

DATA_DTYPES = ("int8", "float32")  # what TFLM's three kernels copy
MAX_INDICES_ND = 5  # TFLM's GATHER_ND limit


@dataclass(frozen=True)
class GatherOptions:
    axis: int = 0
    batch_dims: int = 0


@dataclass(frozen=True)
class GatherNdOptions:
    pass


@dataclass(frozen=True)
class GatherParams:
    """Runtime indices: batches x outer x indices runs of `chunk` bytes from an axis of `axis_size`."""

    batches: int
    outer: int
    indices: int
    axis_size: int
    chunk: int
    sources: tuple[int, ...]  # (data, indices): arena slot or -1 for a flash array


@dataclass(frozen=True)
class GatherNdParams:
    slices: int
    index_depth: int
    slice_size: int  # elements
    flat_size: int  # elements of the params
    item: int  # bytes per element
    counts: tuple[int, ...]  # elements per step of each indexed dimension (MAX_INDICES_ND entries)
    sources: tuple[int, ...]


@dataclass(frozen=True)
class EmbeddingHybridParams:
    lookups: int
    rows: int
    columns: int
    scale: float  # the table's float32 scale (its zero point is 0)
    sources: tuple[int, ...]


def _data_dtype(graph: Graph, op: Operator, x: Tensor, y: Tensor, what: str) -> int:
    if x.dtype not in DATA_DTYPES:
        raise unsupported(graph, op, f"{what} is {x.dtype}; TFLM's kernel takes int8 or float32",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    if y.dtype != x.dtype:
        raise unsupported(graph, op, f"output is {y.dtype}, {what} {x.dtype}; TFLM's output takes the {what}'s type",
                          "the model's types are inconsistent; re-export it")
    return DTYPES[x.dtype][1]


def _int32_indices(graph: Graph, op: Operator, t: Tensor, role: str) -> None:
    if t.dtype != "int32":
        raise unsupported(graph, op, f"{role} are {t.dtype}; TFLM's kernel takes int32 {role} only",
                          "convert them to int32: TFLM refuses the model otherwise")


def _indices(t: Tensor) -> np.ndarray | None:
    return None if not t.is_const else np.asarray(t.data, dtype=np.int64).reshape(-1)


def _out_of_range(graph: Graph, op: Operator, value: int, size: int, what: str) -> Exception:
    return unsupported(graph, op, f"constant index {value} is outside [0, {size}) {what}",
                       "TFLM reads outside the input or fails at every run with it")


# --- GATHER ---

def lower_gather(graph: Graph, op: Operator) -> Lowered:
    (x, coords, *_), (y,) = io(graph, op, 2)
    item = _data_dtype(graph, op, x, y, "input")
    _int32_indices(graph, op, coords, "positions")
    rank, coords_rank = len(x.shape), len(coords.shape)
    opts: GatherOptions = op.options
    axis = opts.axis + rank if opts.axis < 0 else opts.axis
    batch_dims = opts.batch_dims + coords_rank if opts.batch_dims < 0 else opts.batch_dims
    if not 0 <= axis < rank:
        raise unsupported(graph, op, f"axis {opts.axis} is outside the input's rank {rank}",
                          "the model's shapes are inconsistent; re-export it")
    if not (0 <= batch_dims <= axis and batch_dims < rank and batch_dims <= coords_rank):
        raise unsupported(graph, op, f"batch_dims {opts.batch_dims} with axis {opts.axis}: TFLM needs "
                                     "0 <= batch_dims <= axis and batch_dims within both ranks",
                          "the model's shapes are inconsistent; re-export it")
    if tuple(x.shape[:batch_dims]) != tuple(coords.shape[:batch_dims]):
        raise unsupported(graph, op, f"input {list(x.shape)} and positions {list(coords.shape)} differ in "
                                     f"their first {batch_dims} (batch) dimensions",
                          "the model's shapes are inconsistent; re-export it")
    expected = (*x.shape[:axis], *coords.shape[batch_dims:], *x.shape[axis + 1:])
    if tuple(y.shape) != expected:
        raise unsupported(graph, op, f"output {list(y.shape)} is not {list(expected)} (input {list(x.shape)} "
                                     f"gathered along axis {axis} by positions {list(coords.shape)})",
                          "the model's shapes are inconsistent; re-export it")
    if x.numel == 0:
        raise unsupported(graph, op, f"the input {list(x.shape)} is empty", "there is nothing to gather")
    size = lambda dims: int(np.prod(dims, dtype=np.int64))  # noqa: E731
    batches, outer = size(x.shape[:batch_dims]), size(x.shape[batch_dims:axis])
    per_batch, axis_size, inner = size(coords.shape[batch_dims:]), x.shape[axis], size(x.shape[axis + 1:])
    chunk = inner * item
    values = _indices(coords)
    if values is None:
        sources, inputs, consts = operand_sources((x, coords))
        params = GatherParams(batches=batches, outer=outer, indices=per_batch, axis_size=axis_size, chunk=chunk,
                              sources=sources)
        return Lowered(op=op, kernel="gather", params=params, inputs=inputs, outputs=(y.index,), consts=consts)
    bad = values[(values < 0) | (values >= axis_size)]
    if bad.size:
        raise _out_of_range(graph, op, int(bad[0]), axis_size, f"of axis {axis}")
    rows = (np.arange(batches * outer) * axis_size) * chunk
    return remap.lowered(op, x, y, batches, chunk, rows, values * chunk, per_batch_cols=True)


# --- GATHER_ND ---

def lower_gather_nd(graph: Graph, op: Operator) -> Lowered:
    (x, indices, *_), (y,) = io(graph, op, 2)
    item = _data_dtype(graph, op, x, y, "params")
    _int32_indices(graph, op, indices, "indices")
    if not x.shape or not indices.shape:
        raise unsupported(graph, op, "params and indices must be at least vectors (TFLM)",
                          "the model's shapes are inconsistent; re-export it")
    depth = indices.shape[-1]
    if depth > len(x.shape) or depth > MAX_INDICES_ND:
        raise unsupported(graph, op, f"index depth {depth} is above the params' rank {len(x.shape)} or TFLM's "
                                     f"limit of {MAX_INDICES_ND}", "reshape the params to fewer leading dimensions")
    expected = (*indices.shape[:-1], *x.shape[depth:])
    if tuple(y.shape) != expected:
        raise unsupported(graph, op, f"output {list(y.shape)} is not {list(expected)} (params {list(x.shape)} "
                                     f"gathered by indices {list(indices.shape)})",
                          "the model's shapes are inconsistent; re-export it")
    if x.numel == 0:
        raise unsupported(graph, op, f"the params {list(x.shape)} are empty", "there is nothing to gather")
    slices = int(np.prod(indices.shape[:-1], dtype=np.int64))
    slice_size = int(np.prod(x.shape[depth:], dtype=np.int64))
    counts, remaining = [], x.numel
    for d in x.shape[:depth]:  # TFLM's dims_to_count
        remaining //= d
        counts.append(remaining)
    values = _indices(indices)
    if values is None:
        sources, inputs, consts = operand_sources((x, indices))
        params = GatherNdParams(slices=slices, index_depth=depth, slice_size=slice_size, flat_size=x.numel,
                                item=item, counts=tuple(counts) + (0,) * (MAX_INDICES_ND - depth), sources=sources)
        return Lowered(op=op, kernel="gather_nd", params=params, inputs=inputs, outputs=(y.index,), consts=consts)
    positions = []
    for s in range(slices):
        pos = 0
        for j in range(depth):  # int arithmetic as TFLM's (it wraps on the hardware it runs on)
            pos = qmath.wrap_int32(pos + qmath.wrap_int32(int(values[s * depth + j]) * counts[j]))
        if pos < 0 or pos + slice_size > x.numel:
            raise unsupported(graph, op, f"constant indices {values[s * depth:(s + 1) * depth].tolist()} fall "
                                         f"outside params {list(x.shape)}", "TFLM fails at every run with them")
        positions.append(pos * item)
    return remap.lowered(op, x, y, 1, slice_size * item, [0], positions)


# --- EMBEDDING_LOOKUP ---

def lower_embedding_lookup(graph: Graph, op: Operator) -> Lowered:
    (lookup, table, *_), (y,) = io(graph, op, 2)
    _int32_indices(graph, op, lookup, "lookups")
    if len(lookup.shape) != 1 or len(table.shape) < 2:
        raise unsupported(graph, op, f"lookups {list(lookup.shape)} and table {list(table.shape)}: TFLM takes a "
                                     "vector of rows and a table of rank 2 or more",
                          "the model's shapes are inconsistent; re-export it")
    if table.dtype not in DATA_DTYPES or (y.dtype, table.dtype) not in (
            ("int8", "int8"), ("float32", "float32"), ("float32", "int8")):
        raise unsupported(graph, op, f"{table.dtype} table -> {y.dtype} output: TFLM takes int8 or float32 tables "
                                     "into the same type, or int8 into float32",
                          "quantize the model to int8 (tinyq quantize) or convert the tensors")
    expected = (lookup.shape[0], *table.shape[1:])
    if tuple(y.shape) != expected:
        raise unsupported(graph, op, f"output {list(y.shape)} is not {list(expected)} (rows of table "
                                     f"{list(table.shape)} for lookups {list(lookup.shape)})",
                          "the model's shapes are inconsistent; re-export it")
    if table.numel == 0:
        raise unsupported(graph, op, f"the table {list(table.shape)} is empty", "there is nothing to look up")
    rows, columns = table.shape[0], table.numel // table.shape[0]
    if y.dtype != table.dtype:
        return _hybrid(graph, op, lookup, table, y, rows, columns)
    chunk = columns * DTYPES[table.dtype][1]
    values = _indices(lookup)
    if values is None:
        sources, inputs, consts = operand_sources((table, lookup))
        params = GatherParams(batches=1, outer=1, indices=lookup.shape[0], axis_size=rows, chunk=chunk,
                              sources=sources)
        return Lowered(op=op, kernel="gather", params=params, inputs=inputs, outputs=(y.index,), consts=consts)
    bad = values[(values < 0) | (values >= rows)]
    if bad.size:
        raise _out_of_range(graph, op, int(bad[0]), rows, "of the table's rows")
    return remap.lowered(op, table, y, 1, chunk, [0], values * chunk)


def _hybrid(graph: Graph, op: Operator, lookup: Tensor, table: Tensor, y: Tensor, rows: int, columns: int) -> Lowered:
    """int8 rows dequantized into float32: TFLM's EvalHybrid, zero point 0 (its Prepare insists)."""
    if table.quant is None or table.quant.per_channel or table.quant.zp != 0:
        raise unsupported(graph, op, "an int8 table read into float32 needs one scale and zero point 0 (TFLM)",
                          "re-quantize the table symmetrically (zero point 0)")
    values = _indices(lookup)
    if values is not None:
        bad = values[(values < 0) | (values >= rows)]
        if bad.size:
            raise _out_of_range(graph, op, int(bad[0]), rows, "of the table's rows")
    sources, inputs, consts = operand_sources((table, lookup))
    params = EmbeddingHybridParams(lookups=lookup.shape[0], rows=rows, columns=columns,
                                   scale=qmath.f32(table.quant.s), sources=sources)
    return Lowered(op=op, kernel="embedding_lookup_hybrid", params=params, inputs=inputs, outputs=(y.index,),
                   consts=consts)


GATHER = reference_kernel("gather")

SPECS = [
    OpSpec(name="gather", builtin="GATHER", options=GatherOptions, fb_options="GatherOptions", lower=lower_gather,
           kernels=(remap.REMAP, GATHER), quant=QuantRule(2, output_as_input=True, activation_inputs=(0,)),
           doc="int8/float32 data (arena or flash), int32 positions, any axis and batch_dims (negative too); "
               "constant positions become a copy through offsets computed offline, run-time positions are "
               "range-checked (TFLM does not check: tinyq's invoke fails)"),
    OpSpec(name="gather_nd", builtin="GATHER_ND", options=GatherNdOptions, fb_options="GatherNdOptions",
           lower=lower_gather_nd, kernels=(remap.REMAP, reference_kernel("gather_nd")),
           quant=QuantRule(1, output_as_input=True, activation_inputs=(0,)),
           doc=f"int8/float32 params (arena or flash), int32 indices of depth up to {MAX_INDICES_ND}; constant "
               "indices become a copy, run-time ones fail invoke where TFLM's Eval fails"),
    OpSpec(name="embedding_lookup", builtin="EMBEDDING_LOOKUP", lower=lower_embedding_lookup,
           kernels=(remap.REMAP, GATHER, reference_kernel("embedding_lookup_hybrid")),
           # int8 rows out as they are (TFLM copies them): the output shares the table's parameters
           quant=QuantRule(1, output_as_input=True, activation_inputs=(1,)),
           doc="int8/float32 tables (arena or flash), int8 into float32 (hybrid, zero point 0), int32 lookups; "
               "rows out of range fail invoke as in TFLM"),
]
