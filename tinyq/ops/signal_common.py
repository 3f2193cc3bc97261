"""What TFLM's signal-library ops (SignalWindow, SignalRfft, ...) share: how their options are
read, and the checks every one of them makes.

The signal ops are TFLite custom ops whose options are a flexbuffer map. TFLM does not look the
keys up: its FlexbufferWrapper views the map as the vector of its values, which flexbuffers keeps
sorted by key, and reads element i as the raw integer stored there (ElementAsInt32: the signed
value at the vector's byte width, then its low 32 bits; ElementAsBool: non-zero). Each op lists
its keys in that order; a map with other keys, or a value that is not an inline integer or bool,
would make TFLM read something else, so tinyq refuses it. The typed ops (RFFT, IRFFT, OVERLAP_ADD)
also read "T" by name: the TensorType their Init dispatches on.
"""

from __future__ import annotations

from flatbuffers import flexbuffers

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import CustomOptions, unsupported

RE_EXPORT = "re-export the model with TFLM's signal library (tflite_micro.signal)"
INLINE_NUMBERS = (flexbuffers.Type.INT, flexbuffers.Type.UINT, flexbuffers.Type.BOOL)
TENSOR_TYPES = {0: "float32", 2: "int32", 7: "int16"}  # TensorType codes TFLM's typed signal ops take
STATE_PREFIX = "tinyq_state:"  # the name of the variable tensor tinyq adds (passes/signal_state.py)


def custom(name: str) -> tuple[str, str]:
    """(tinyq op name, builtin) of the signal op TFLM registers as `name` (AddCustom)."""
    return f"custom:{name}", f"CUSTOM:{name}"


def _root_map(graph: Graph, op: Operator):
    data = op.options.data if isinstance(op.options, CustomOptions) else b""
    try:
        root = flexbuffers.GetRoot(bytearray(data))
        values = root.AsMap if root.IsMap else None
    except Exception:  # the decoder raises anything on bytes that are no flexbuffer
        values = None
    if values is None:
        raise unsupported(graph, op, "custom_options are not a flexbuffer map",
                          "TFLM reads the op's parameters from one; " + RE_EXPORT)
    return values


def _signed(value: int, width: int) -> int:
    bits = 8 * width
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


def read_options(graph: Graph, op: Operator, keys: tuple[str, ...]) -> dict[str, int]:
    """The options as TFLM's Init reads them: element i of the map's values for keys[i] (sorted
    keys, "T" included where the op has it), each as ElementAsInt64 reads it."""
    values = _root_map(graph, op)
    found = tuple(k.Value for k in values.Keys)
    if found != keys:
        raise unsupported(graph, op, f"custom options hold keys {list(found)}; TFLM reads {list(keys)} by position",
                          RE_EXPORT)
    result = {}
    for i, key in enumerate(keys):
        ref = values.Values[i]
        if ref._type not in INLINE_NUMBERS:  # TFLM reads the raw bits of any element as an integer
            raise unsupported(graph, op, f"custom option {key} is not an integer or bool (flexbuffer type "
                                         f"{ref._type}); TFLM reads its raw bytes as one", RE_EXPORT)
        result[key] = _signed(ref.AsInt, ref._parent_width)
    return result


def int32(value: int) -> int:
    """ElementAsInt32: the low 32 bits, signed."""
    return _signed(value, 4)


def uint32(value: int) -> int:
    """An option TFLM stores in a uint32_t field (the int32 it read, modulo 2^32)."""
    return value & 0xFFFFFFFF


def tensor_type(graph: Graph, op: Operator, options: dict[str, int]) -> str:
    """The dtype the op's "T" names (its Init returns no state for any other: TFLM then crashes)."""
    code = int32(options["T"])
    if code not in TENSOR_TYPES:
        raise unsupported(graph, op, f"option T is TensorType {code}; TFLM's kernel handles int16 (7), int32 (2) "
                                     "and float32 (0)", RE_EXPORT)
    return TENSOR_TYPES[code]


def require_dtype(graph: Graph, op: Operator, t: Tensor, dtype: str, role: str) -> None:
    if t.dtype != dtype:
        raise unsupported(graph, op, f"{role} tensor {t.index} ({t.name}) is {t.dtype}; TFLM's kernel takes {dtype}",
                          RE_EXPORT)


def require_rank(graph: Graph, op: Operator, t: Tensor, rank: int, role: str) -> None:
    if len(t.shape) != rank:
        raise unsupported(graph, op, f"{role} tensor {t.index} ({t.name}) has rank {len(t.shape)}; TFLM's Prepare "
                                     f"requires {rank}", RE_EXPORT)


def require_range(graph: Graph, op: Operator, name: str, value: int, low: int, high: int, why: str) -> None:
    """An option (or constant) must lie in [low, high], else TFLM's arithmetic is undefined or reads out of
    bounds (`why` says which)."""
    if not low <= value <= high:
        raise unsupported(graph, op, f"{name} is {value}, outside [{low}, {high}] ({why})", RE_EXPORT)


def counts(graph: Graph, op: Operator, n_in: int, n_out: int,
           constants: tuple[int, ...] = ()) -> tuple[list[Tensor], list[Tensor]]:
    """The op's inputs and outputs, exactly n_in (plus tinyq's state tensor, when the op has one) and
    n_out of them, none missing or empty; only the inputs at `constants` (tables, windows) may be
    constant tensors."""
    ins, outs = graph.op_inputs(op), graph.op_outputs(op)
    if ins and ins[-1] is not None and ins[-1].is_variable and ins[-1].name.startswith(STATE_PREFIX):
        ins = ins[:-1]
    if len(ins) != n_in:
        raise unsupported(graph, op, f"has {len(ins)} inputs; TFLM's Prepare requires {n_in}", RE_EXPORT)
    if len(outs) != n_out:
        raise unsupported(graph, op, f"has {len(outs)} outputs; TFLM's Prepare requires {n_out}", RE_EXPORT)
    for t in (*ins, *outs):
        if t is None:
            raise unsupported(graph, op, "an input is missing (-1)", RE_EXPORT)
        if t.numel == 0:
            raise unsupported(graph, op, f"tensor {t.index} ({t.name}) is empty (shape {list(t.shape)})",
                              "tinyq's kernels need at least one element")
    for i, t in enumerate(ins):
        if t.is_const and i not in constants:
            raise unsupported(graph, op, f"input {i} ({t.name}) is a constant; tinyq runs {op.op} on run-time data",
                              "compute the result offline, or feed the data as a graph input")
    return ins, outs


def state_tensor(graph: Graph, op: Operator, nbytes: int) -> Tensor:
    """The variable tensor holding the op's state (the last input, added before lowering)."""
    last = graph.tensor(op.inputs[-1]) if op.inputs else None
    if last is None or not last.is_variable or not last.name.startswith(STATE_PREFIX) or last.nbytes != nbytes:
        raise UnsupportedError(f"op {op.index} ({op.op}) keeps {nbytes} bytes of state and has no state tensor",
                               where="lowering", hint="lower the graph with tinyq.lower.lower_graph, which adds it")
    return last
