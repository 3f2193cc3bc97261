"""What an op description holds, and how options travel between flatbuffer and IR.

Each module in `tinyq/ops/` describes one op (or a family sharing one kernel) with
an `OpSpec`: its TFLite builtin, its options dataclass, and `lower`, which turns an
IR operator into a `Lowered` kernel call: every requantization parameter computed
here, offline, so the C kernels only do integer arithmetic. Adding an op means
adding one module here, one kernel pair in templates/reference/kernels/ and one
call template in templates/reference/.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from tinyq.errors import UnsupportedError
from tinyq.ir import Graph, Operator, describe_op
from tinyq.tflite.schema import enum_names, fb

# Option fields stored as enum names (strings) in the IR, numbers in the flatbuffer.
ENUM_FIELDS = {
    "padding": fb.Padding,
    "fused_activation_function": fb.ActivationFunctionType,
    "weights_format": fb.FullyConnectedOptionsWeightsFormat,
    "quantized_bias_type": fb.TensorType,
    "mode": fb.MirrorPadMode,
}


@dataclass(frozen=True, eq=False)
class ConstArray:
    """An array the generated C keeps in flash, named `<op symbol>_<name>`."""

    name: str
    ctype: str  # "int8_t", "int32_t", ...
    values: np.ndarray


@dataclass(frozen=True, eq=False)
class Lowered:
    """One op as a kernel call: the kernel, its parameters and its flash arrays.

    `inputs`/`outputs` are the activation tensors the kernel reads and writes.
    `alias_of` marks an output that is the input's buffer reinterpreted (no copy).
    `scratch_bytes` is the working memory the reference kernel needs.
    """

    op: Operator
    kernel: str
    params: Any
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    consts: tuple[ConstArray, ...] = ()
    alias_of: int | None = None
    scratch_bytes: int = 0


@dataclass(frozen=True)
class OpSpec:
    name: str  # tinyq op name: module, template, kernel and report name
    builtin: str  # TFLite BuiltinOperator name
    options: type | None = None  # frozen dataclass mirroring the flatbuffer options
    fb_options: str | None = None  # BuiltinOptions union member, e.g. "Conv2DOptions"
    lower: Callable[[Graph, Operator], Lowered] | None = None
    doc: str = ""


@dataclass(frozen=True)
class RawOptions:
    """Options of an op tinyq has no description for, kept so files round-trip."""

    kind: str
    values: tuple[tuple[str, Any], ...] = field(default=())


def unsupported(graph: Graph, op: Operator, what: str, hint: str | None = None) -> UnsupportedError:
    return UnsupportedError(what, where=describe_op(graph, op), hint=hint)


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return tuple(value.tolist())
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, bytes):
        return value
    return value


def options_from_fb(cls: type | None, kind: str | None, fb_obj: Any) -> Any:
    """Flatbuffer options object -> the op's options dataclass (or RawOptions)."""
    if fb_obj is None or kind is None:
        return cls() if cls is not None else None
    if cls is None:
        values = tuple((k, _plain(v)) for k, v in sorted(vars(fb_obj).items()) if not k.startswith("_"))
        return RawOptions(kind, values)
    kwargs = {}
    for f in dataclasses.fields(cls):
        value = _plain(getattr(fb_obj, _camel(f.name), None))
        if f.name in ENUM_FIELDS and isinstance(value, int):
            value = enum_names(ENUM_FIELDS[f.name]).get(value, str(value))
        if value is not None:
            kwargs[f.name] = value
    return cls(**kwargs)


def options_to_fb(kind: str | None, options: Any) -> Any:
    """The reverse of options_from_fb: a `<kind>T` object ready for packing."""
    if kind is None or options is None:
        return None
    obj = getattr(fb, kind + "T")()
    if isinstance(options, RawOptions):
        for name, value in options.values:
            setattr(obj, name, list(value) if isinstance(value, tuple) else value)
        return obj
    for f in dataclasses.fields(options):
        value = getattr(options, f.name)
        if f.name in ENUM_FIELDS and isinstance(value, str):
            value = getattr(ENUM_FIELDS[f.name], value)
        setattr(obj, _camel(f.name), list(value) if isinstance(value, tuple) else value)
    return obj
