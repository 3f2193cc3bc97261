"""Mutations of a .tflite file for `tinyq bench fuzz`: flatbuffer fields through the object API, and raw bytes.

A structural mutation unpacks the model (`fb.ModelT`), changes one field the way a
corrupt or hand-edited file would (a tensor's type, shape or quantization, an operator's
opcode, operands or options, a buffer, the graph's inputs and outputs) and packs it again,
so the file stays a well-formed flatbuffer whose *contents* are wrong. Raw mutations flip,
overwrite, cut or repeat bytes, which mostly breaks the flatbuffer itself. Every mutation is
a pure function of (file bytes, seed): a finding is reproduced from its seed alone.
"""

from __future__ import annotations

import math
from typing import Callable

import flatbuffers
import numpy as np

from tinyq.tflite.schema import BUILTIN_NAMES, OPTIONS_NAMES, TFLITE_MAGIC, fb

INT32_MAX = 2**31 - 1
# values a corrupt integer field tends to hold: zero, -1, off by one, huge, the sign bit
EDGE_INTS = (0, 1, 2, 3, -1, -2, 7, 100, 255, 256, 65535, 65536, 2**20, INT32_MAX, -(2**31))
EDGE_SCALES = (math.nan, math.inf, -math.inf, 0.0, -0.5, 1e30, 1e-30, 1e-45, 3.4e38, 1e10, 1.0)
EDGE_ZERO_POINTS = (128, -129, 255, 256, -32769, 40000, 2**31, -(2**31) - 1, 2**40)
# shapes whose element count overflows 32-bit C sizes (2**36 bytes is the "64 GiB input dim")
HUGE_DIMS = (65536, 2**20, 2**24, INT32_MAX)
TENSOR_TYPES = tuple(range(23)) + (99,)


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def _tensors(model):
    return model.subgraphs[0].tensors or [] if model.subgraphs else []


def _operators(model):
    return model.subgraphs[0].operators or [] if model.subgraphs else []


def _random_tensor(rng, model):
    tensors = _tensors(model)
    return tensors[int(rng.integers(len(tensors)))] if tensors else None


def _index(model, t) -> int:
    return next(i for i, x in enumerate(_tensors(model)) if x is t)


def _random_operator(rng, model):
    ops = _operators(model)
    return ops[int(rng.integers(len(ops)))] if ops else None


def _an_index(rng, n: int) -> int:
    """A tensor (or buffer, opcode) index that is wrong in one of the ways files get it wrong."""
    return int(_pick(rng, (n, n + 1, -1, -2, INT32_MAX, -(2**31), int(rng.integers(max(n, 1))))))


# --- tensors ---

def tensor_type(rng, model) -> str:
    t = _random_tensor(rng, model)
    if t is None:
        return ""
    t.type = int(_pick(rng, TENSOR_TYPES))
    return f"tensor {_index(model, t)} type -> {t.type}"


def tensor_shape(rng, model) -> str:
    t = _random_tensor(rng, model)
    if t is None:
        return ""
    shape = [int(d) for d in (t.shape if t.shape is not None else [])]
    kind = int(rng.integers(6))
    if kind == 0 and shape:  # one dimension to an edge value
        shape[int(rng.integers(len(shape)))] = int(_pick(rng, (0, -1, -7, 1, 2, 3) + HUGE_DIMS))
    elif kind == 1:  # a huge tensor from dimensions that each fit an int32
        shape = [1, 65536, 65536, 16] if rng.integers(2) else [int(_pick(rng, HUGE_DIMS))] * int(rng.integers(2, 4))
    elif kind == 2 and shape:  # drop a dimension
        del shape[int(rng.integers(len(shape)))]
    elif kind == 3:  # add a dimension
        shape.insert(int(rng.integers(len(shape) + 1)), int(_pick(rng, (1, 2, 3, 0))))
    elif kind == 4:  # rank far beyond any kernel
        shape = [1] * int(_pick(rng, (0, 7, 9, 16)))
    else:  # no shape at all
        shape = None
    t.shape = shape
    return f"tensor {_index(model, t)} shape -> {shape}"


def tensor_quant(rng, model) -> str:
    t = _random_tensor(rng, model)
    if t is None:
        return ""
    q = t.quantization or fb.QuantizationParametersT()
    scales = [float(s) for s in (q.scale if q.scale is not None else [1.0])] or [1.0]
    zps = [int(z) for z in (q.zeroPoint if q.zeroPoint is not None else [0])] or [0]
    kind = int(rng.integers(6))
    if kind == 0:
        scales[int(rng.integers(len(scales)))] = float(_pick(rng, EDGE_SCALES))
        q.scale = scales
    elif kind == 1:
        zps[int(rng.integers(len(zps)))] = int(_pick(rng, EDGE_ZERO_POINTS))
        q.zeroPoint = zps
    elif kind == 2:  # per-channel lists that do not match the tensor (or each other)
        q.scale = scales + [scales[-1]] * int(rng.integers(1, 4)) if rng.integers(2) else scales[:-1]
    elif kind == 3:
        q.zeroPoint = zps + [0] if rng.integers(2) else zps[:-1]
    elif kind == 4:
        q.quantizedDimension = int(_pick(rng, (-1, 1, 2, 3, 4, 100)))
    else:  # drop the quantization of a tensor that needs it
        t.quantization = None
        return f"tensor {_index(model, t)} quantization removed"
    t.quantization = q
    return f"tensor {_index(model, t)} quantization kind {kind}"


def tensor_buffer(rng, model) -> str:
    t = _random_tensor(rng, model)
    if t is None:
        return ""
    n = len(model.buffers or [])
    t.buffer = int(_pick(rng, (0, n, -1, INT32_MAX, int(rng.integers(max(n, 1))))))  # -1 cannot pack: redrawn
    return f"tensor {_index(model, t)} buffer -> {t.buffer}"


def tensor_flags(rng, model) -> str:
    t = _random_tensor(rng, model)
    if t is None:
        return ""
    if rng.integers(2):
        t.isVariable = not t.isVariable
        return f"tensor {_index(model, t)} isVariable -> {t.isVariable}"
    t.shapeSignature = [int(_pick(rng, (-1, 0, 1, 5))) for _ in range(len(t.shape if t.shape is not None else []))]
    return f"tensor {_index(model, t)} shapeSignature -> {t.shapeSignature}"


# --- buffers ---

def buffer_data(rng, model) -> str:
    candidates = [b for b in (model.buffers or []) if b.data is not None and len(b.data)]
    if not candidates:
        return ""
    b = candidates[int(rng.integers(len(candidates)))]
    data = np.asarray(b.data, dtype=np.uint8)
    kind = int(rng.integers(4))
    if kind == 0:
        b.data = data[: int(rng.integers(len(data)))]
    elif kind == 1:
        b.data = np.concatenate([data, data[: int(rng.integers(1, len(data) + 1))]])
    elif kind == 2:
        b.data = None
    else:  # data "outside" the flatbuffer at a bad offset
        b.offset, b.size = int(_pick(rng, (2, 2**40, 1 << 20))), int(_pick(rng, (1, len(data), 2**40)))
    return f"buffer data kind {kind}"


# --- operators ---

def operator_opcode(rng, model) -> str:
    o = _random_operator(rng, model)
    if o is None:
        return ""
    n = len(model.operatorCodes or [])
    if rng.integers(2) or not n:
        o.opcodeIndex = int(_pick(rng, (n, n + 1, 2**31, 2**32 - 1, int(rng.integers(max(n, 1))))))  # uint32
        return f"opcode index -> {o.opcodeIndex}"
    code = model.operatorCodes[int(rng.integers(n))]  # the op becomes another builtin
    code.builtinCode = int(_pick(rng, tuple(BUILTIN_NAMES)))
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    return f"opcode builtin -> {BUILTIN_NAMES.get(code.builtinCode)}"


def operator_operands(rng, model) -> str:
    o = _random_operator(rng, model)
    if o is None:
        return ""
    n = len(_tensors(model))
    field = "inputs" if rng.integers(3) else "outputs"
    values = [int(v) for v in (getattr(o, field) if getattr(o, field) is not None else [])]
    kind = int(rng.integers(5))
    if kind == 0 and values:
        values[int(rng.integers(len(values)))] = _an_index(rng, n)
    elif kind == 1 and values:
        del values[int(rng.integers(len(values)))]
    elif kind == 2:
        values.append(int(rng.integers(max(n, 1))) if rng.integers(2) else -1)
    elif kind == 3:
        values = []
    elif values:  # another real tensor: a consumer before its producer, an op writing a weight...
        values[int(rng.integers(len(values)))] = int(rng.integers(max(n, 1)))
    setattr(o, field, values)
    return f"op {field} -> {values[:8]}"


def _mutated_option(rng, value):
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return int(_pick(rng, (0, 1, -1, 2, 3, 4, 5, 100, 127, -128)))
    if isinstance(value, float):
        return float(_pick(rng, (math.nan, math.inf, 0.0, -1.0, 1e30, 1e-30)))
    if isinstance(value, (list, np.ndarray)):
        return [int(_pick(rng, (0, -1, 1, 5, 100, INT32_MAX))) for _ in range(int(rng.integers(0, 6)))]
    return value


def operator_options(rng, model) -> str:
    o = _random_operator(rng, model)
    if o is None:
        return ""
    kind = int(rng.integers(4))
    if kind == 0 and o.builtinOptions is not None:
        fields = [k for k in vars(o.builtinOptions) if not k.startswith("_")]
        if fields:
            name = fields[int(rng.integers(len(fields)))]
            setattr(o.builtinOptions, name, _mutated_option(rng, getattr(o.builtinOptions, name)))
            return f"option {name} -> {getattr(o.builtinOptions, name)}"
    if kind == 1:  # the options table read as another kind
        o.builtinOptionsType = int(_pick(rng, tuple(OPTIONS_NAMES)))
        if o.builtinOptions is None:
            o.builtinOptionsType = 0
        return f"options type -> {OPTIONS_NAMES.get(o.builtinOptionsType)}"
    o.builtinOptions, o.builtinOptionsType = None, (o.builtinOptionsType if kind == 2 else 0)
    return "options dropped"


def operator_list(rng, model) -> str:
    ops = _operators(model)
    if not ops:
        return ""
    i = int(rng.integers(len(ops)))
    kind = int(rng.integers(3))
    if kind == 0:
        del ops[i]
    elif kind == 1:
        ops.insert(i, ops[int(rng.integers(len(ops)))])
    else:
        j = int(rng.integers(len(ops)))
        ops[i], ops[j] = ops[j], ops[i]
    return f"operator list kind {kind}"


# --- the graph ---

def graph_io(rng, model) -> str:
    if not model.subgraphs:
        return ""
    sub = model.subgraphs[0]
    n = len(sub.tensors or [])
    field = "inputs" if rng.integers(2) else "outputs"
    values = [int(v) for v in (getattr(sub, field) if getattr(sub, field) is not None else [])]
    kind = int(rng.integers(4))
    if kind == 0:
        values = []
    elif kind == 1 and values:
        values[int(rng.integers(len(values)))] = _an_index(rng, n)
    elif kind == 2:
        values.append(values[0] if values and rng.integers(2) else int(rng.integers(max(n, 1))))
    else:  # a constant or intermediate tensor as a graph input/output
        values = [int(rng.integers(max(n, 1)))]
    setattr(sub, field, values)
    return f"graph {field} -> {values}"


def model_subgraphs(rng, model) -> str:
    if rng.integers(2):
        model.subgraphs = []
        return "no subgraphs"
    model.operatorCodes = []
    return "no operator codes"


STRUCTURAL: dict[str, Callable] = {
    "tensor-type": tensor_type, "tensor-shape": tensor_shape, "tensor-quant": tensor_quant,
    "tensor-buffer": tensor_buffer, "tensor-flags": tensor_flags, "buffer-data": buffer_data,
    "op-opcode": operator_opcode, "op-operands": operator_operands, "op-options": operator_options,
    "op-list": operator_list, "graph-io": graph_io, "model": model_subgraphs,
}
# how often each is drawn (quantization and shapes are where real files go wrong most)
WEIGHTS = {"tensor-type": 2, "tensor-shape": 3, "tensor-quant": 4, "tensor-buffer": 1, "tensor-flags": 1,
           "buffer-data": 2, "op-opcode": 2, "op-operands": 3, "op-options": 3, "op-list": 1, "graph-io": 2,
           "model": 0.2}


def raw_bytes(data: bytes, rng) -> tuple[bytes, str]:
    buf = bytearray(data)
    kind = int(rng.integers(4))
    if kind == 0:
        n = int(rng.integers(1, 5))
        for pos in rng.integers(0, len(buf), size=n):
            buf[pos] = int(rng.integers(256))
        return bytes(buf), f"raw: {n} bytes changed"
    if kind == 1:
        cut = int(rng.integers(8, len(buf)))
        return bytes(buf[:cut]), f"raw: truncated to {cut}"
    if kind == 2:  # a 32-bit word in the tables (the first few KB) to an extreme value
        pos = int(rng.integers(8, max(9, min(len(buf), 4096) - 4)))
        buf[pos:pos + 4] = int(_pick(rng, (0, 1, 0x7FFFFFFF, 0xFFFFFFFF, 0x80000000))).to_bytes(4, "little")
        return bytes(buf), f"raw: word at {pos}"
    a = int(rng.integers(0, max(1, len(buf) - 16)))
    buf[a:a] = buf[a:a + int(rng.integers(1, 16))]
    return bytes(buf), f"raw: slice repeated at {a}"


def pack(model) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_MAGIC)
    return bytes(builder.Output())


def mutate(data: bytes, seed: int, raw_share: float = 0.25) -> tuple[bytes, str]:
    """(mutated file, what was changed) for one seed: one to three structural edits, or raw bytes."""
    rng = np.random.default_rng(seed)
    if rng.random() < raw_share:
        return raw_bytes(data, rng)
    names = list(WEIGHTS)
    p = np.array([WEIGHTS[n] for n in names], dtype=float)
    for _ in range(8):  # an edit the packer cannot encode (a value too wide for its field) is redrawn
        model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
        done = []
        for _ in range(int(rng.integers(1, 4))):
            what = STRUCTURAL[names[int(rng.choice(len(names), p=p / p.sum()))]](rng, model)
            if what:
                done.append(what)
        try:
            return pack(model), "; ".join(done)
        except Exception:  # noqa: BLE001 - struct.error, OverflowError, TypeError from the generated packer
            continue
    return raw_bytes(data, rng)
