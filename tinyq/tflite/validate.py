"""Structural checks of a freshly read graph: every later stage may trust what passes them.

The reader calls `validate_graph` on every model, so `inspect`, `plan`, `generate`,
`verify` and `quantize` all start from a graph whose tensors have a known type, sizes
that fit the generated C's 32-bit arithmetic and sane quantization, whose operators have
the operands their op needs, and whose data flows from producers to consumers. What is
checked here is structure only; whether tinyq can *lower* an op (and whether its shapes
agree with each other) is the op's own check in tinyq/ops/<op>.py, so `inspect` still
shows models with ops tinyq does not support.

Each failure is one TinyqError naming the tensor or op and what is wrong with it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from tinyq.errors import TinyqError
from tinyq.ir import ITEM_BITS, NO_TENSOR, Graph, Operator, Tensor
from tinyq.ops.base import ENUM_FIELDS, RawOptions
from tinyq.tflite.schema import enum_names

# Sizes the generated C holds in `int` / `int32_t` (offsets, element counts, loop bounds): no tensor,
# and no model's tensors together, may reach 2^31 bytes or elements; half of that for the sum leaves the
# planner room for alignment and scratch.
MAX_TENSOR = 2**31 - 1
MAX_TOTAL = 2**30
MIN_SCALE = 2.0**-126  # the smallest normal float32: smaller scales make 1/scale overflow float32

# Zero points must be representable in the tensor's type (wider types: in int32, as TFLM stores them).
ZERO_POINT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int4": (-8, 7),
                    "uint4": (0, 15), "uint16": (0, 65535)}
INT32_RANGE = (-(2**31), 2**31 - 1)

CORRUPT = "the file is corrupt"


@dataclass(frozen=True)
class Operands:
    """How many inputs an op takes (`required` first, then up to `optional` that may be -1 or absent;
    `optional=None`: any number more) and how many outputs it writes."""

    required: int
    optional: int | None = 0
    outputs: int | None = 1  # None: one or more (SPLIT, UNPACK)


# TFLite builtins tinyq lowers or folds; other ops are only checked for valid tensor indices (and their reads
# are not followed: a builtin missing here lets an op read its own output, whatever TFLM's arena held).
OPERANDS: dict[str, Operands] = {
    "CONV_2D": Operands(2, 1), "DEPTHWISE_CONV_2D": Operands(2, 1), "FULLY_CONNECTED": Operands(2, 1),
    "AVERAGE_POOL_2D": Operands(1), "MAX_POOL_2D": Operands(1),
    "ADD": Operands(2), "MUL": Operands(2), "CONCATENATION": Operands(1, None),
    "MEAN": Operands(2), "SUM": Operands(2), "PAD": Operands(2), "PADV2": Operands(2, 1),
    "SOFTMAX": Operands(1), "LOGISTIC": Operands(1), "TANH": Operands(1), "HARD_SWISH": Operands(1),
    "RELU": Operands(1), "RELU6": Operands(1), "LEAKY_RELU": Operands(1), "RELU_N1_TO_1": Operands(1),
    "QUANTIZE": Operands(1), "DEQUANTIZE": Operands(1),
    "ABS": Operands(1), "RSQRT": Operands(1), "ELU": Operands(1), "LOG_SOFTMAX": Operands(1),
    "L2_NORMALIZATION": Operands(1), "NEG": Operands(1), "SQUARE": Operands(1), "SQRT": Operands(1),
    "EXP": Operands(1), "LOG": Operands(1), "GELU": Operands(1), "FLOOR": Operands(1), "CEIL": Operands(1),
    "ROUND": Operands(1), "SIN": Operands(1), "COS": Operands(1), "SUB": Operands(2),
    "MAXIMUM": Operands(2), "MINIMUM": Operands(2), "SQUARED_DIFFERENCE": Operands(2), "DIV": Operands(2),
    "FLOOR_DIV": Operands(2), "FLOOR_MOD": Operands(2), "EQUAL": Operands(2), "NOT_EQUAL": Operands(2),
    "GREATER": Operands(2), "GREATER_EQUAL": Operands(2), "LESS": Operands(2), "LESS_EQUAL": Operands(2),
    "LOGICAL_AND": Operands(2), "LOGICAL_OR": Operands(2), "LOGICAL_NOT": Operands(1),
    "SELECT_V2": Operands(3), "ADD_N": Operands(2, None), "PRELU": Operands(2),
    "RESHAPE": Operands(1, 1), "SQUEEZE": Operands(1), "EXPAND_DIMS": Operands(2),
    "SHAPE": Operands(1), "STRIDED_SLICE": Operands(4), "PACK": Operands(1, None), "CAST": Operands(1),
    "TRANSPOSE": Operands(2), "SLICE": Operands(3), "SPLIT": Operands(2, outputs=None),
    "SPLIT_V": Operands(3, outputs=None), "UNPACK": Operands(1, outputs=None), "REVERSE_V2": Operands(2),
    "MIRROR_PAD": Operands(2), "BROADCAST_TO": Operands(2),
    "GATHER": Operands(2), "GATHER_ND": Operands(2), "EMBEDDING_LOOKUP": Operands(2),
    "BATCH_TO_SPACE_ND": Operands(3), "SPACE_TO_BATCH_ND": Operands(3), "DEPTH_TO_SPACE": Operands(1),
    "SPACE_TO_DEPTH": Operands(1), "DYNAMIC_UPDATE_SLICE": Operands(3), "FILL": Operands(2),
    "ZEROS_LIKE": Operands(1), "BROADCAST_ARGS": Operands(2), "RESIZE_NEAREST_NEIGHBOR": Operands(2),
    "RESIZE_BILINEAR": Operands(2),
    "ARG_MAX": Operands(2), "ARG_MIN": Operands(2), "REDUCE_MAX": Operands(2), "REDUCE_MIN": Operands(2),
    "REDUCE_ALL": Operands(2), "CUMSUM": Operands(2), "L2_POOL_2D": Operands(1), "BATCH_MATMUL": Operands(2),
    "TRANSPOSE_CONV": Operands(3, 1),
    # the LSTM's optional tensors sit among the required ones: its lowering checks each position
    "UNIDIRECTIONAL_SEQUENCE_LSTM": Operands(1, 23), "SVDF": Operands(3, 2),
    "VAR_HANDLE": Operands(0), "READ_VARIABLE": Operands(1), "ASSIGN_VARIABLE": Operands(2, outputs=0),
    "CALL_ONCE": Operands(0, outputs=0),
}

# Control-flow builtins: the option fields naming the subgraphs they run (validate_calls checks the counts).
CALLS: dict[str, tuple[str, ...]] = {
    "WHILE": ("cond_subgraph_index", "body_subgraph_index"),
    "IF": ("then_subgraph_index", "else_subgraph_index"),
    "CALL_ONCE": ("init_subgraph_index",),
}


# Options kinds of the builtins tinyq folds without an op description (tinyq/passes/fold.py reads them).
FOLDED_OPTIONS = {"STRIDED_SLICE": "StridedSliceOptions", "PACK": "PackOptions", "SHAPE": "ShapeOptions",
                  "CAST": "CastOptions"}


# Builtins whose options TFLite cannot do without: absent, it reads strides, window sizes, the depth
# multiplier or beta as 0 (and TFLM then fails or aborts), where tinyq's defaults would say 1.
REQUIRED_OPTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "MAX_POOL_2D", "L2_POOL_2D", "SOFTMAX",
                    "TRANSPOSE_CONV")


def check_options_kind(index: int, op_name: str, builtin: str, expected: str | None, kind: str | None,
                       where: str) -> None:
    """A known op's options must be its own kind: read as another table, every field would be a default."""
    expected = expected or FOLDED_OPTIONS.get(builtin)
    if expected and kind is not None and kind != expected:
        raise TinyqError(f"op {index} ({op_name}) carries {kind}; {builtin} takes {expected}", where=where,
                         hint=CORRUPT)
    if expected and kind is None and builtin in REQUIRED_OPTIONS:
        raise TinyqError(f"op {index} ({op_name}) has no {expected}", where=where,
                         hint="without them TFLite reads its parameters as 0; " + CORRUPT)


def short_name(name: str, limit: int = 48) -> str:
    """A tensor name short enough for a one-line error (converters join fused names into 300 characters)."""
    return name if len(name) <= limit else name[: limit // 2 - 2] + "..." + name[-(limit // 2 - 1):]


def label(t: Tensor) -> str:
    return f"tensor {t.index} ({short_name(t.name)})" if t.name else f"tensor {t.index}"


def validate_graph(graph: Graph, where: str, builtins: dict[int, str] | None = None) -> None:
    """Raise TinyqError for the first structural defect. `builtins` maps op index -> TFLite builtin
    name (the reader knows it; the IR holds tinyq's op names)."""
    total = 0
    zeros = _zero_valued(graph)
    for t in graph.tensors:
        _check_tensor(t, where, t.index in zeros)
        total += t.nbytes
    if total > MAX_TOTAL:
        raise TinyqError(f"the tensors hold {total:,} bytes together, more than the {MAX_TOTAL:,} the generated "
                         "C can address", where=where, hint="no microcontroller model is this large; " + CORRUPT)
    builtins = builtins if builtins is not None else {op.index: op.op.upper() for op in graph.operators}
    for op in graph.operators:
        _check_operands(graph, op, builtins.get(op.index, ""), where)
        _check_options(op, where)
    _check_unused_types(graph, where)
    _check_dataflow(graph, where, builtins)


# --- tensors ---

# Types TFLM's AllocateTensors cannot size (TfLiteTypeSizeOf: TfLiteTypeGetSize is 0): it refuses a model
# holding a tensor of one anywhere, in any subgraph, used or not.
UNALLOCATABLE = ("string", "variant", "int2", "uint4")


def _check_unused_types(graph: Graph, where: str) -> None:
    """A tensor no op reads or writes but TFLM refuses to allocate (an op's tensors: its lowering says why)."""
    used = {t for op in graph.operators for t in op.inputs + op.outputs}
    for t in graph.tensors:
        if t.dtype in UNALLOCATABLE and t.index not in used:
            raise TinyqError(f"{label(t)} has type {t.dtype}, which TFLM cannot allocate (no op uses it)", where=where,
                             hint="TFLM refuses a model holding such a tensor; remove it or re-export the model")


def _zero_valued(graph: Graph) -> set[int]:
    """Tensors that hold only their zero point, whatever their scale: constants of zero points (the TFLite
    converter's zero state of an int16 LSTM cell, at scale 0) and a MUL's product with one (at the scale the
    converter derives from it, a subnormal such as 3.6e-43: Ambiq's NNID model). TFLM runs them: the scale
    enters only numerators of requantization ratios, which are then 0, as in tinyq."""
    zeros = {t.index for t in graph.tensors if t.is_const and t.quant is not None and len(t.quant.zero_point) == 1
             and t.dtype != "int4" and (np.asarray(t.data, dtype=np.int64) == t.quant.zero_point[0]).all()}
    for op in graph.operators:
        if op.op == "mul" and len(op.outputs) == 1 and zeros.intersection(op.inputs):
            zeros.add(op.outputs[0])
    return zeros


def _check_tensor(t: Tensor, where: str, zero_valued: bool = False) -> None:
    def fail(what: str, hint: str = CORRUPT):
        raise TinyqError(f"{label(t)} {what}", where=where, hint=hint)

    if t.dtype not in ITEM_BITS and t.dtype not in ("string", "resource", "variant"):
        fail(f"has type code {t.dtype.removeprefix('type')}, which TFLite does not define")
    if any(d < 0 for d in t.shape):
        fail(f"has a negative dimension in its shape {list(t.shape)}")
    if t.numel > MAX_TENSOR or t.nbytes > MAX_TENSOR:
        fail(f"has shape {list(t.shape)}: {t.numel:,} elements, {t.nbytes:,} bytes, beyond the 2^31 the "
             "generated C can index", "no microcontroller model is this large; " + CORRUPT)
    if t.shape_signature is not None and len(t.shape_signature) != len(t.shape):
        fail(f"has shape {list(t.shape)} but shape signature {list(t.shape_signature)} of another rank")
    if t.is_const and t.is_variable:
        fail("is a variable with constant data", "TFLite refuses variable tensors with a buffer; " + CORRUPT)
    if t.quant is not None:
        _check_quant(t, fail, zero_valued)


def _check_quant(t: Tensor, fail, zero_valued: bool = False) -> None:
    q = t.quant
    if len(q.zero_point) != len(q.scale):
        fail(f"has {len(q.scale)} scales but {len(q.zero_point)} zero points; TFLite needs one per scale")
    for s in q.scale:
        if zero_valued and 0.0 <= s < MIN_SCALE:
            continue
        if not (math.isfinite(s) and s >= MIN_SCALE):
            fail(f"has scale {s:g}; a scale must be a positive, finite, normal float32")
    low, high = ZERO_POINT_RANGE.get(t.dtype, INT32_RANGE)
    for z in q.zero_point:
        if not low <= z <= high:
            fail(f"has zero point {z}, outside {t.dtype}'s [{low}, {high}]")
    if q.axis < 0:
        fail(f"is quantized along axis {q.axis}; the axis cannot be negative")
    if not q.per_channel:
        return  # the axis of a single scale means nothing; TFLM ignores it
    rank = len(t.shape)
    if q.axis < rank:
        if t.shape[q.axis] != len(q.scale):
            fail(f"has {len(q.scale)} scales for the {t.shape[q.axis]} channels of axis {q.axis} "
                 f"(shape {list(t.shape)})")
    elif not (rank == 1 and t.shape[0] == len(q.scale)):
        # TOCO writes axis 3 on 1-D per-channel biases (person_detect); TFLM ignores it, so does tinyq
        fail(f"is quantized along axis {q.axis} but has rank {rank}")


# --- operators ---

def _op_label(op: Operator) -> str:
    return f"op {op.index} ({op.op})"


def _check_operands(graph: Graph, op: Operator, builtin: str, where: str) -> None:
    def fail(what: str, hint: str = CORRUPT):
        raise TinyqError(f"{_op_label(op)} {what}", where=where, hint=hint)

    if NO_TENSOR in op.outputs:
        fail(f"has output -1 (no tensor) among its outputs {list(op.outputs)}")
    spec = OPERANDS.get(builtin)
    if spec is None:
        return
    n = len(op.inputs)
    most = None if spec.optional is None else spec.required + spec.optional
    if n < spec.required or (most is not None and n > most):
        want = f"{spec.required}" if most == spec.required else \
            f"{spec.required} or more" if most is None else f"{spec.required} to {most}"
        fail(f"has {n} inputs; {builtin} takes {want}")
    for position, t in enumerate(op.inputs[: spec.required]):
        if t == NO_TENSOR:
            fail(f"input {position} is -1 (no tensor), but {builtin} requires it")
    if len(op.outputs) != spec.outputs and not (spec.outputs is None and op.outputs):
        fail(f"has {len(op.outputs)} outputs; {builtin} writes "
             f"{'one or more' if spec.outputs is None else spec.outputs}")


def _check_options(op: Operator, where: str) -> None:
    """Float options must be numbers (a NaN beta or alpha makes every derived constant NaN) and enum
    options values the schema defines (the reader keeps an unknown one as its number, in a string)."""
    if op.options is None or not dataclasses.is_dataclass(op.options):
        return
    for f in dataclasses.fields(op.options):
        value = getattr(op.options, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise TinyqError(f"{_op_label(op)} option {f.name} is {value}", where=where, hint=CORRUPT)
        if f.name in ENUM_FIELDS and value not in enum_names(ENUM_FIELDS[f.name]).values():
            raise TinyqError(f"{_op_label(op)} option {f.name} is {value}, which TFLite does not define",
                             where=where, hint=CORRUPT)


def _check_dataflow(graph: Graph, where: str, builtins: dict[int, str]) -> None:
    """Each tensor is written at most once, never a constant or a graph input, and read only after
    it is written (unless it is a constant, a graph input or a variable)."""
    if not graph.outputs and graph.index == 0:  # another subgraph may only have effects (CALL_ONCE's)
        raise TinyqError("the graph has no outputs", where=where, hint=CORRUPT)
    for role, indices in (("input", graph.inputs), ("output", graph.outputs)):
        seen = set()
        for i in indices:
            if i == NO_TENSOR:
                raise TinyqError(f"graph {role} -1 names no tensor", where=where, hint=CORRUPT)
            if i in seen:
                raise TinyqError(f"{label(graph.tensors[i])} is listed twice as a graph {role}", where=where,
                                 hint=CORRUPT)
            seen.add(i)
    inputs = set(graph.inputs)
    written: dict[int, Operator] = {}
    for op in graph.operators:
        for i in op.inputs:
            builtin = builtins.get(op.index)
            if i == NO_TENSOR or i in written or i in inputs or (builtin not in OPERANDS and builtin not in CALLS):
                continue  # an op tinyq does not know may read scratch or state (Vela's ethos-u op does)
            t = graph.tensors[i]
            # an empty buffer makes no constant (to TFLM either): a shape [0] operand is one, and holds nothing
            if not (t.is_const or t.is_variable or t.numel == 0):
                raise TinyqError(f"{_op_label(op)} reads {label(t)} before any op writes it", where=where,
                                 hint="ops out of order or data missing; " + CORRUPT)
        for i in op.outputs:
            t = graph.tensors[i]
            if i in written:
                raise TinyqError(f"{label(t)} is written by {_op_label(written[i])} and again by {_op_label(op)}",
                                 where=where, hint=CORRUPT)
            if i in inputs:
                raise TinyqError(f"{_op_label(op)} writes {label(t)}, which is a graph input", where=where,
                                 hint=CORRUPT)
            if t.is_const:
                raise TinyqError(f"{_op_label(op)} writes {label(t)}, which is a constant", where=where,
                                 hint=CORRUPT)
            written[i] = op
    for i in graph.outputs:
        t = graph.tensors[i]
        if i not in written and i not in inputs and not (t.is_const or t.is_variable):
            raise TinyqError(f"graph output {label(t)} is never written", where=where, hint=CORRUPT)


# --- control flow: the subgraphs WHILE, IF and CALL_ONCE run ---

def validate_calls(graph: Graph, where: str) -> None:
    """Every subgraph a control-flow op names exists and takes and gives what the op passes, as
    TFLM's Prepare (and, for IF's else branch, the invoke that takes it) requires."""
    program = [graph, *graph.subgraphs]
    for sub in program:
        here = f"{where}: subgraph {sub.index}" if sub.index else where
        for op in sub.operators:
            fields = CALLS.get(_builtin_of(op))
            if fields is None or op.options is None:
                continue
            callees = []
            for name in fields:
                k = _option(op, name)
                if not isinstance(k, int) or not 0 <= k < len(program):
                    raise TinyqError(f"{_op_label(op)} option {name} is {k}, but the model has {len(program)} "
                                     "subgraphs", where=here, hint=CORRUPT)
                callees.append(program[k])
            _check_call_counts(op, callees, here)


def _option(op: Operator, name: str):
    if isinstance(op.options, RawOptions):  # an op without a description keeps the file's camelCase names
        head, *rest = name.split("_")
        return dict(op.options.values).get(head + "".join(part.title() for part in rest))
    return getattr(op.options, name, None)


def _builtin_of(op: Operator) -> str:
    return {"while": "WHILE", "if": "IF", "call_once": "CALL_ONCE"}.get(op.op, "")


def _check_call_counts(op: Operator, callees: list[Graph], where: str) -> None:
    n_in, n_out = len(op.inputs), len(op.outputs)

    def need(what: str, have: int, want: int) -> None:
        if have != want:
            raise TinyqError(f"{_op_label(op)} {what} {have}, not {want}", where=where, hint=CORRUPT)

    if op.op == "while":
        cond, body = callees
        need(f"has {n_in} inputs and {n_out} outputs: outputs", n_out, n_in)
        need(f"runs cond subgraph {cond.index}, whose inputs number", len(cond.inputs), n_in)
        need(f"runs body subgraph {body.index}, whose inputs number", len(body.inputs), n_in)
        need(f"runs body subgraph {body.index}, whose outputs number", len(body.outputs), n_out)
        if not cond.outputs:
            raise TinyqError(f"{_op_label(op)} runs cond subgraph {cond.index}, which has no output", where=where,
                             hint=CORRUPT)
    elif op.op == "if":
        if n_in == 0:
            raise TinyqError(f"{_op_label(op)} has no condition input", where=where, hint=CORRUPT)
        for branch in callees:
            need(f"passes {n_in - 1} inputs to subgraph {branch.index}, which takes", len(branch.inputs), n_in - 1)
        then, other = callees
        need(f"writes {n_out} outputs; then subgraph {then.index} gives", len(then.outputs), n_out)
        if other.outputs:  # an else branch without outputs leaves the op's outputs as they are
            need(f"writes {n_out} outputs; else subgraph {other.index} gives", len(other.outputs), n_out)
