"""ir.Graph -> .tflite bytes that TFLM and LiteRT load (the main graph, then its other subgraphs)."""

from __future__ import annotations

import flatbuffers
import numpy as np

from tinyq import ops
from tinyq.ir import Graph, Tensor
from tinyq.ops.base import CustomOptions, RawOptions, options_to_fb
from tinyq.tflite.schema import BUILTIN_CODES, OPTIONS2_CODES, OPTIONS_CODES, TENSOR_TYPE_CODES, TFLITE_MAGIC, fb

_PLACEHOLDER_FOR_GREATER_OP_CODES = 127


def write_model(graph: Graph) -> bytes:
    model = fb.ModelT()
    model.version = 3
    model.description = graph.description or "tinyq"
    model.buffers = [_buffer(b"")]  # buffer 0 is the conventional empty one
    model.operatorCodes = []
    code_index: dict[tuple, int] = {}

    model.subgraphs = [_subgraph(g, "main" if g.index == 0 else g.name, model, code_index)
                       for g in (graph, *graph.subgraphs)]

    model.metadata = []
    for name, payload in graph.metadata:
        m = fb.MetadataT()
        m.name = name
        m.buffer = len(model.buffers)
        model.buffers.append(_buffer(payload))
        model.metadata.append(m)

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=TFLITE_MAGIC)
    return bytes(builder.Output())


def _subgraph(graph: Graph, name: str, model, code_index: dict[tuple, int]):
    sub = fb.SubGraphT()
    sub.name = name
    sub.tensors = [_tensor(t, model.buffers) for t in graph.tensors]
    sub.inputs = list(graph.inputs)
    sub.outputs = list(graph.outputs)
    sub.operators = []
    for op in graph.operators:
        key = (op.op, op.version)
        if key not in code_index:
            code_index[key] = len(model.operatorCodes)
            model.operatorCodes.append(_opcode(op.op, op.version))
        o = fb.OperatorT()
        o.opcodeIndex = code_index[key]
        o.inputs = list(op.inputs)
        o.outputs = list(op.outputs)
        kind = _options_kind(op)
        if isinstance(op.options, CustomOptions):
            o.customOptions = np.frombuffer(op.options.data, dtype=np.uint8) if op.options.data else None
            o.customOptionsFormat = fb.CustomOptionsFormat.FLEXBUFFERS
        elif kind in OPTIONS2_CODES:
            o.builtinOptions2Type = OPTIONS2_CODES[kind]
            o.builtinOptions2 = options_to_fb(kind, op.options)
        elif kind is not None:
            o.builtinOptionsType = OPTIONS_CODES[kind]
            o.builtinOptions = options_to_fb(kind, op.options)
        sub.operators.append(o)
    return sub


def _options_kind(op) -> str | None:
    if isinstance(op.options, RawOptions):
        return op.options.kind
    spec = ops.by_name(op.op)
    return spec.fb_options if spec is not None and op.options is not None else None


def _opcode(op_name: str, version: int):
    code = fb.OperatorCodeT()
    code.version = version
    if op_name.startswith("custom:"):
        builtin = BUILTIN_CODES["CUSTOM"]
        code.customCode = op_name.split(":", 1)[1]
    else:
        spec = ops.by_name(op_name)
        builtin = BUILTIN_CODES[spec.builtin if spec else op_name.upper()]
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, _PLACEHOLDER_FOR_GREATER_OP_CODES)
    return code


def _buffer(payload: bytes):
    buf = fb.BufferT()
    buf.data = np.frombuffer(payload, dtype=np.uint8) if payload else None
    return buf


def _tensor_bytes(t: Tensor) -> bytes:
    if t.dtype == "int4":
        nibbles = (np.asarray(t.data, dtype=np.int8).reshape(-1) & 0x0F).astype(np.uint8)
        if len(nibbles) % 2:
            nibbles = np.append(nibbles, np.uint8(0))
        return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).tobytes()
    return np.ascontiguousarray(t.data).astype(t.data.dtype.newbyteorder("<")).tobytes()


def _tensor(t: Tensor, buffers: list):
    out = fb.TensorT()
    out.name = t.name
    out.shape = list(t.shape)
    out.type = TENSOR_TYPE_CODES[t.dtype]
    out.isVariable = t.is_variable
    if t.shape_signature is not None:
        out.shapeSignature = list(t.shape_signature)
    out.buffer = 0
    if t.data is not None:
        out.buffer = len(buffers)
        buffers.append(_buffer(_tensor_bytes(t)))
    if t.quant is not None:
        q = fb.QuantizationParametersT()
        q.scale = [float(s) for s in t.quant.scale]
        q.zeroPoint = [int(z) for z in t.quant.zero_point]
        q.quantizedDimension = t.quant.axis
        out.quantization = q
    return out
