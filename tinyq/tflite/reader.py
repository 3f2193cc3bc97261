""".tflite bytes -> ir.Graph (the main graph, holding the model's other subgraphs), with every
malformation a TinyqError."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from tinyq import ops
from tinyq.errors import TinyqError
from tinyq.ir import DTYPES, NO_TENSOR, Graph, Operator, Quant, Tensor
from tinyq.ops.base import CustomOptions, options_from_fb
from tinyq.tflite.schema import BUILTIN_NAMES, OPTIONS2_NAMES, OPTIONS_NAMES, TENSOR_TYPE_NAMES, TFLITE_MAGIC, fb
from tinyq.tflite.validate import check_options_kind, short_name, validate_calls, validate_graph


def read_model_file(path: str | Path) -> Graph:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TinyqError(f"cannot read model: {exc.strerror}", where=str(path)) from None
    return read_model(data, where=str(path), name=_c_name(path.stem))


def _c_name(stem: str) -> str:
    name = "".join(c if c.isalnum() else "_" for c in stem).lower().strip("_") or "model"
    return "m_" + name if name[0].isdigit() else name


def read_model(data: bytes, where: str = "model", name: str = "model") -> Graph:
    if len(data) < 8 or (data[4:8] != TFLITE_MAGIC and not _unmarked_model(data)):
        raise TinyqError("not a TFLite model (no 'TFL3' file identifier)", where=where,
                         hint="pass a .tflite flatbuffer")
    try:
        model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
    except Exception as exc:  # the generated parser raises anything on corrupt offsets
        raise TinyqError(f"malformed flatbuffer ({type(exc).__name__})", where=where,
                         hint="the file is truncated or corrupt") from None
    try:
        return _to_graph(model, data, where, name)
    except TinyqError:
        raise
    except (IndexError, TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise TinyqError(f"malformed model ({type(exc).__name__}: {exc})", where=where,
                         hint="the file is truncated or corrupt") from None


def _unmarked_model(data: bytes) -> bool:
    """A model flatbuffer written without the file identifier (Infineon's ModusToolbox ML packer writes its
    *_packed_*.tflite so): TFLM reads it, as it never checks the identifier. It must still look like one:
    schema version 3 and a subgraph, so other files stay 'not a TFLite model'."""
    try:
        model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))
        return model.version == 3 and bool(model.subgraphs)
    except Exception:  # the generated parser raises anything on bytes that are not a flatbuffer
        return False


def _to_graph(model, data: bytes, where: str, name: str) -> Graph:
    if not model.subgraphs:
        raise TinyqError("model has no subgraph", where=where, hint="the file is corrupt")
    buffers = model.buffers or []
    read = [_subgraph(model, k, buffers, data, where) for k in range(len(model.subgraphs))]
    metadata = []
    for m in model.metadata or []:
        if 0 <= m.buffer < len(buffers):
            metadata.append((_text(m.name), _buffer_bytes(buffers[m.buffer], data, where)))
    graph = replace(read[0][0], name=name, description=_text(model.description), metadata=tuple(metadata),
                    subgraphs=tuple(sub for sub, _ in read[1:]))
    for sub, builtins in read:  # the main graph (holding the others) first
        validate_graph(graph if sub.index == 0 else sub, _where(where, sub.index), builtins)
    validate_calls(graph, where)
    return graph


def _where(where: str, index: int) -> str:
    return f"{where}: subgraph {index}" if index else where


def _subgraph(model, index: int, buffers, data: bytes, where: str) -> tuple[Graph, dict[int, str]]:
    """Subgraph `index` of the file, and each op's TFLite builtin name (by op index)."""
    sub = model.subgraphs[index]
    where = _where(where, index)
    tensors = tuple(_tensor(i, t, buffers, data, where) for i, t in enumerate(sub.tensors or []))
    n = len(tensors)

    def check_indices(indices, what: str) -> tuple[int, ...]:
        result = tuple(int(i) for i in (indices if indices is not None else []))
        for i in result:
            if i != NO_TENSOR and not 0 <= i < n:
                raise TinyqError(f"{what} refers to tensor {i}, but there are {n}", where=where,
                                 hint="the file is corrupt")
        return result

    codes = model.operatorCodes or []
    operators = []
    builtins: dict[int, str] = {}
    for index_op, o in enumerate(sub.operators or []):
        if not 0 <= o.opcodeIndex < len(codes):
            raise TinyqError(f"op {index_op} has opcode index {o.opcodeIndex}, but there are {len(codes)}",
                             where=where, hint="the file is corrupt")
        code = codes[o.opcodeIndex]
        builtin = BUILTIN_NAMES.get(max(code.builtinCode, code.deprecatedBuiltinCode), "")
        spec = ops.by_builtin(builtin)
        # a union type without its table (or a table of no known type) is no options at all
        present = o.builtinOptionsType and o.builtinOptions is not None
        kind = OPTIONS_NAMES.get(o.builtinOptionsType) if present else None
        if builtin == "CUSTOM":
            op_name = f"custom:{_text(code.customCode)}"
        else:
            op_name = spec.name if spec else (builtin.lower() or f"builtin:{code.builtinCode}")
        check_options_kind(index_op, op_name, builtin, spec.fb_options if spec else None, kind, where)
        builtins[index_op] = builtin
        options = options_from_fb(spec.options if spec else None, kind, o.builtinOptions)
        if options is None and o.builtinOptions2Type and o.builtinOptions2 is not None:  # a StableHLO op's
            options = options_from_fb(None, OPTIONS2_NAMES.get(o.builtinOptions2Type), o.builtinOptions2)
        if builtin == "CUSTOM" and options is None:
            options = CustomOptions(_custom_options(o, data, where))
        operators.append(Operator(
            index=index_op, op=op_name,
            inputs=check_indices(o.inputs, f"op {index_op} input"),
            outputs=check_indices(o.outputs, f"op {index_op} output"),
            options=options, version=int(code.version or 1)))
    graph = Graph(tensors=tensors, operators=tuple(operators),
                  inputs=check_indices(sub.inputs, "graph input"),
                  outputs=check_indices(sub.outputs, "graph output"),
                  name=_text(sub.name), index=index)
    return graph, builtins


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _custom_options(o, data: bytes, where: str) -> bytes:
    if o.largeCustomOptionsSize:  # files over 2 GB keep them after the flatbuffer, as buffers
        end = o.largeCustomOptionsOffset + o.largeCustomOptionsSize
        if end > len(data):
            raise TinyqError(f"custom options at offset {o.largeCustomOptionsOffset} run past the end of the "
                             "file", where=where, hint="the file is truncated")
        return bytes(data[o.largeCustomOptionsOffset:end])
    if o.customOptions is None:
        return b""
    return np.asarray(o.customOptions, dtype=np.uint8).tobytes()


def _buffer_bytes(buf, data: bytes, where: str) -> bytes:
    if buf.offset and buf.offset > 1 and buf.data is not None and len(buf.data):
        # TFLM reads the inline data, LiteRT the offset: a file with both means two things
        raise TinyqError(f"a buffer has inline data and an offset ({buf.offset})", where=where,
                         hint="the file is corrupt")
    if buf.offset and buf.offset > 1:  # large models keep tensor data after the flatbuffer
        end = buf.offset + buf.size
        if end > len(data):
            raise TinyqError(f"buffer data at offset {buf.offset} runs past the end of the file",
                             where=where, hint="the file is truncated")
        return bytes(data[buf.offset:end])
    if buf.data is None:
        return b""
    return np.asarray(buf.data, dtype=np.uint8).tobytes()


def _tensor(index: int, t, buffers, data: bytes, where: str) -> Tensor:
    name = _text(t.name)
    dtype = TENSOR_TYPE_NAMES.get(t.type, f"type{t.type}")
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    if any(d < 0 for d in shape):  # validate_graph checks every shape; this one before the data is read
        raise TinyqError(f"tensor {index} ({short_name(name)}) has a negative dimension in its shape "
                         f"{list(shape)}", where=where, hint="the file is corrupt")
    if not 0 <= t.buffer < max(len(buffers), 1):
        raise TinyqError(f"tensor {index} ({short_name(name)}) uses buffer {t.buffer}, but there are "
                         f"{len(buffers)}", where=where, hint="the file is corrupt")
    raw = _buffer_bytes(buffers[t.buffer], data, where) if buffers else b""
    return Tensor(
        index=index, name=name, dtype=dtype, shape=shape, quant=_quant(t.quantization),
        data=_const_data(raw, dtype, shape, index, name, where) if raw else None,
        shape_signature=tuple(int(d) for d in t.shapeSignature) if t.shapeSignature is not None else None,
        is_variable=bool(t.isVariable))


def _const_data(raw: bytes, dtype: str, shape, index: int, name: str, where: str) -> np.ndarray:
    numel = math.prod(shape)  # exact, whatever the file claims
    name = short_name(name)
    if dtype not in DTYPES:
        raise TinyqError(f"tensor {index} ({name}) is a constant of type {dtype}, which tinyq cannot read",
                         where=where, hint="tinyq reads constants of types " + ", ".join(DTYPES))
    if dtype == "int4":
        if len(raw) != (numel + 1) // 2:
            raise TinyqError(f"tensor {index} ({name}) holds {len(raw)} bytes, int4 {shape} needs "
                             f"{(numel + 1) // 2}", where=where, hint="the file is corrupt")
        packed = np.frombuffer(raw, dtype=np.uint8)
        low = (packed & 0x0F).astype(np.int8)
        high = (packed >> 4).astype(np.int8)
        values = np.stack([low, high], axis=1).reshape(-1)[:numel]
        values = np.where(values > 7, values - 16, values).astype(np.int8)
    else:
        np_type, size = DTYPES[dtype]
        if len(raw) != numel * size:
            raise TinyqError(f"tensor {index} ({name}) holds {len(raw)} bytes, {dtype} {shape} needs "
                             f"{numel * size}", where=where, hint="the file is corrupt")
        values = np.frombuffer(raw, dtype=np.dtype(np_type).newbyteorder("<")).astype(np_type)
    values = values.reshape(shape)
    values.flags.writeable = False
    return values


def _quant(q) -> Quant | None:
    if q is None or q.scale is None or len(q.scale) == 0:
        return None
    scale = tuple(float(s) for s in q.scale)
    zp = tuple(int(z) for z in q.zeroPoint) if q.zeroPoint is not None else ()  # validate_graph wants one a scale
    if len(zp) == 1 and len(scale) > 1:
        # TFLM's model transforms (tflm_model_transforms.py) shrink a per-channel tensor's zero points to one;
        # TFLM reads that one for every channel
        zp = zp * len(scale)
    return Quant(scale=scale, zero_point=zp, axis=int(q.quantizedDimension))
