"""What an op description holds, and how options travel between flatbuffer and IR.

Each module in `tinyq/ops/` describes one op (or a family sharing one kernel) with
an `OpSpec`, the one place that knows everything about the op: its TFLite builtin,
its options dataclass, `lower` (the support check and the offline parameters: it
turns an IR operator into a `Lowered` kernel call, or raises UnsupportedError with
the reason), the reference `Kernel`s it lowers to (call template, the flash arrays
the call reads, the in-place rule of its loop order), its quantization rule and
its docs. Optimized backends add `Kernel`s of their own for the same kernel names
(tinyq/backends/<layer>/). docs/architecture.md has the recipe for adding an op.
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


@dataclass(frozen=True)
class Placement:
    """`tensor` may be stored as the bytes of `base` from byte `offset` on (a view with an offset).

    The op's kernel copies `tensor` to or from `base` and skips a copy onto itself, so the
    op is right whether or not the planner takes the offer (plan/aliasing.py decides,
    plan/verify.py checks). One of the two is the op's input, the other its output:
    a SLICE output inside its input, a PACK input inside its output."""

    tensor: int
    base: int
    offset: int  # bytes, >= 0; tensor's bytes lie inside base's


@dataclass(frozen=True, eq=False)
class Lowered:
    """One op as a kernel call: the kernel, its parameters and the flash arrays its
    implementations may read (each implementation picks its own: `Kernel.uses`).

    `inputs`/`outputs` are the activation tensors the kernel reads and writes.
    `alias_of` marks an output that is the input's buffer reinterpreted (no copy).
    `placements` are the views with an offset the planner may choose (Placement).
    """

    op: Operator
    kernel: str
    params: Any
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    consts: tuple[ConstArray, ...] = ()
    alias_of: int | None = None
    placements: tuple[Placement, ...] = ()

    def const(self, name: str) -> np.ndarray | None:
        """The values of the flash array called `name`, or None."""
        return next((np.asarray(c.values) for c in self.consts if c.name == name), None)


@dataclass(frozen=True)
class Target:
    """What a kernel needs to know about the machine the generated code runs on.

    `isa` picks between a library's code paths: "scalar" (plain C: the host,
    Cortex-M0/M3), "dsp" (Cortex-M4/M7/M33 DSP extension), "mve" (Helium:
    Cortex-M55/M85), "esp32s3" (the S3's SIMD). `compiler` matters where a
    library's choices differ by compiler ("gcc" or "armclang").
    """

    isa: str = "scalar"
    compiler: str = "gcc"
    board: str = "host"


HOST = Target()

# (lowered op, graph, index into Lowered.inputs) -> least shift in bytes, or None when not allowed
ShiftRule = Callable[[Lowered, Graph, int], "int | None"]


@dataclass(frozen=True)
class InPlace:
    """A kernel may write its output over an input that dies at it (tinyq/ops/inplace.py)."""

    shift: ShiftRule
    why: str  # the access-order fact of the kernel's loops the rule relies on


# (lowered op, target, the library function the call ends in) -> the rule of the code that runs, or None:
# for implementations whose loop order depends on the function a wrapper would pick and the code path
InPlaceChoice = Callable[[Lowered, "Target", str], "InPlace | None"]


def _applies(k: Lowered, target: Target) -> str | None:
    return None


def _no_function(k: Lowered, target: Target) -> str:
    return ""


def _no_scratch(k: Lowered, target: Target) -> int:
    return 0


def _no_arrays(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    return ()


@dataclass(frozen=True)
class Kernel:
    """One implementation of a lowered kernel (`Lowered.kernel`): a call template and its facts.

    Reference kernels are declared by the op that lowers to them (`OpSpec.kernels`);
    optimized ones by their backend layer (tinyq/backends/<layer>/<op>.py), each beside
    its template. Binding picks, per op, the first implementation whose `applies` is None.
    """

    name: str  # the lowered kernel it implements, e.g. "conv_2d"
    template: str  # its call template under templates/, e.g. "cmsis_nn/conv_2d.c.j2"
    # the lowering's arrays its call reads (None: all of them; a function when that depends on the op)
    uses: tuple[str, ...] | Callable[[Lowered, Target], tuple[str, ...]] | None = None
    derived: Callable[[Lowered, Target], tuple[ConstArray, ...]] = _no_arrays  # arrays it adds itself
    applies: Callable[[Lowered, Target], str | None] = _applies  # None, or why it cannot run this op
    function: Callable[[Lowered, Target], str] = _no_function  # the library function the call ends in
    scratch: Callable[[Lowered, Target], int] = _no_scratch  # working memory on the target, bytes
    inplace: InPlace | InPlaceChoice | None = None  # may write its output over a dying input (None: never)
    doc: str = ""  # when it applies, for docs/ops.md

    def inplace_rule(self, k: Lowered, target: Target, function: str) -> InPlace | None:
        """The in-place rule of the code that runs `k` on `target` (ending in `function`)."""
        if self.inplace is None or isinstance(self.inplace, InPlace):
            return self.inplace
        return self.inplace(k, target, function)

    def arrays(self, k: Lowered, target: Target) -> tuple[ConstArray, ...]:
        """The flash arrays the call reads: the lowering's it uses, then its own."""
        uses = self.uses(k, target) if callable(self.uses) else self.uses
        chosen = k.consts if uses is None else tuple(c for c in k.consts if c.name in uses)
        return chosen + self.derived(k, target)


def reference_kernel(name: str, uses: tuple[str, ...] | None = None, inplace: InPlace | None = None) -> Kernel:
    """tinyq's portable C kernel `name`: templates/reference/<name>.c.j2."""
    return Kernel(name=name, template=f"reference/{name}.c.j2", uses=uses, inplace=inplace)


@dataclass(frozen=True)
class RecurrentRule:
    """What the quantizer makes of a recurrent op's parameters and state (TFLM's integer LSTM):
    per-tensor symmetric int8 weight matrices, each with the bias added to its product (at the
    scale of the data it multiplies times its own), a state the kernel writes into the output (so it
    takes the output's type and parameters) and an int16 cell state at a power-of-two scale that
    covers the cell over every time step. tinyq/quantize/recurrent.py applies it; these weights are
    not the op's `QuantRule.weights`, so the optional weight steps (int4, mixed, GPTQ, equalization,
    bias correction) leave them int8."""

    weights: tuple[tuple[int, int, int | None], ...]  # (weights, the input they multiply, their bias or None)
    output_state: int  # variable input the kernel writes into the output
    cell_state: int  # variable int16 input, zero point 0
    # the float op over one sample: (graph, op, input value, state or None) -> (output, every step's cell, state),
    # where a state (None at first) carries over to the next sample as it does from one invoke to the next
    float_run: Callable[..., tuple[np.ndarray, np.ndarray, Any]]
    check: Callable[[Graph, Operator], None]  # refuses the float op's variants TFLM's integer kernel lacks
    versions: tuple[tuple[str, int], ...]  # activation type -> operator version (TFLite's op versioning)


@dataclass(frozen=True)
class QuantRule:
    """What the quantizer makes of the op in an int8 model.

    The constraints are TFLM's (its Prepare functions reject models that break them)
    and the versions are what TFLiteConverter's op versioning writes for int8."""

    version: int  # operator version with int8 weights/activations
    weights: int | None = None  # input position of constant weights
    channel_axis: int = 0  # weights' quantized dimension (TFLite: conv 0, depthwise 3, FC 0)
    bias: int | None = None  # input position of the bias (int32, scale s_in * s_w)
    int4_version: int | None = None  # version with int4 weights; None: int4 not allowed
    int4_per_channel: bool = True  # TFLM's FC rejects per-channel int4 filters (fully_connected_common.cc)
    output_as_input: bool = False  # TFLM requires output params == input params
    inputs_as_output: bool = False  # every input shares the output's params (concatenation)
    # each output value is one of the inputs' values (SELECT_V2, MAXIMUM): the output may see far less than an
    # input does, and such an input is requantized on the way in rather than tied (actparams.SELECTED_SPAN)
    selects: bool = False
    fixed_output: tuple[float, int] | None = None
    activation_inputs: tuple[int, ...] | None = None  # inputs that are data (None: every float input)
    zero_point_0: bool = False  # int8 data and output at zero point 0 (SPACE_TO_BATCH_ND pads with 0 bytes; CUMSUM)
    # TFLM runs it in float32 only: it stays float between DEQUANTIZE and QUANTIZE, as the TFLite
    # converter leaves such an op; its constant operands stay float
    float_island: bool = False
    # (op, width "int8"/"int16", input quants, output quant) -> whether TFLM's integer kernel computes the op at
    # these parameters; where it does not, the op stays float between DEQUANTIZE and QUANTIZE as a float_island
    # does (DIV's int8 rounding shift, SOFTMAX's int16 input rescale)
    holds: Callable[[Any, str, tuple, Any], bool] | None = None
    # a constant operand takes the other tensors' parameters, saturating, without widening their range:
    # a clamp bound (Keras's UnitNormalization is minimum(rsqrt(sum), 1e12)) must not set the scale
    constants_saturate: bool = False
    # a constant operand shares the data operand's parameters, widening them to hold it: a comparison's
    # threshold (x > 0) alone has no range, gets scale 1, and TFLM's comparison aborts on a scale of 1
    constants_as_data: bool = False
    # a comparison's outcome bits (ops/comparisons.py): its threshold, when beyond the data's range on a side
    # where saturating it keeps every answer (x > 20 with data below 20), saturates instead of widening the
    # range: PyTorch's softplus is where(x > 20, x, log1p(exp(x)))
    outcomes: int | None = None
    recurrent: RecurrentRule | None = None  # a recurrent op's weights and state (the LSTM)
    # (int8, int16) intervals outside which the op's answer no longer changes (it clamps, or has reached its
    # last step on its fixed grid), so a data input read only by such ops needs no wider range (a GELU's x^3
    # term reaches 1e12 and sigmoid's answer stops at 8; a RELU6 after a tensor reaching 1e4 keeps [0, 6])
    input_saturates: tuple[tuple[float, float], tuple[float, float]] | None = None
    # inputs the op's int16 kernel still takes as int8 (TFLM's int16 PRELU requires an int8 alpha): read as
    # int8 whatever the op's width, a constant stored so, a computed one through an int8 copy
    int8_inputs: tuple[int, ...] = ()


# TFLM runs the op in float32 only: a quantized model keeps it float between DEQUANTIZE and QUANTIZE
FLOAT_ISLAND = QuantRule(1, float_island=True)
SOFTMAX_OUT = (1.0 / 256, -128)  # softmax/logistic outputs in [0, 1)
TANH_OUT = (1.0 / 128, 0)


@dataclass(frozen=True)
class OpSpec:
    name: str  # tinyq op name: module, template, kernel and report name
    builtin: str  # TFLite BuiltinOperator name
    options: type | None = None  # frozen dataclass mirroring the flatbuffer options
    fb_options: str | None = None  # BuiltinOptions union member, e.g. "Conv2DOptions"
    lower: Callable[[Graph, Operator], Lowered] | None = None  # None: tinyq reads and quantizes it only
    kernels: tuple[Kernel, ...] = ()  # the reference kernels `lower` may choose
    quant: QuantRule | None = None  # None: the quantizer does not handle it
    doc: str = ""  # what tinyq supports of it (dtypes, options), for docs/ops.md


@dataclass(frozen=True)
class RawOptions:
    """Options of an op tinyq has no description for, kept so files round-trip."""

    kind: str
    values: tuple[tuple[str, Any], ...] = field(default=())


@dataclass(frozen=True)
class CustomOptions:
    """A custom op's options: its custom_options bytes as the file holds them (a flexbuffer for
    TFLite's own custom ops); the op's module decodes them."""

    data: bytes = b""


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
