"""VAR_HANDLE, READ_VARIABLE and ASSIGN_VARIABLE: TFLite's resource variables.

Before lowering, tinyq/passes/resource_variables.py resolves each handle to its variable and
appends the variable's tensor (`tinyq_resource:<shared name>`, in the arena's state region,
kept across invokes and filled by the generated reset as TFLM's MicroResourceVariables) to the
inputs of every READ_VARIABLE and ASSIGN_VARIABLE. VAR_HANDLE then needs no code; READ_VARIABLE
copies the variable's bytes into its output and ASSIGN_VARIABLE its value's bytes into the
variable, as TFLM's kernels do (TFLM copies the variable's size whatever the tensor's: tinyq
requires the two to agree). Any tensor type: only bytes move.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, Lowered, OpSpec, reference_kernel, unsupported
from tinyq.ops.control_flow import const_bytes
from tinyq.passes.resource_variables import RESOURCE_PREFIX

HINT = "lower the graph with tinyq.lower.lower_graph, which resolves resource variables first"


@dataclass(frozen=True)
class VarHandleOptions:
    container: str | None = None  # None: absent in the file (matches any container, as TFLM's)
    shared_name: str | None = None

    def __post_init__(self):  # the flatbuffer gives bytes
        for name in ("container", "shared_name"):
            value = getattr(self, name)
            if isinstance(value, bytes):
                object.__setattr__(self, name, value.decode(errors="replace"))


@dataclass(frozen=True)
class VariableParams:
    variable: str  # the shared name, for the generated code's comments
    bytes: int
    const_value: bool = False  # ASSIGN_VARIABLE of a constant: its bytes come from flash


def _variable(graph: Graph, op: Operator) -> Tensor:
    last = graph.tensor(op.inputs[-1]) if op.inputs else None
    if last is None or not last.is_variable or not last.name.startswith(RESOURCE_PREFIX):
        raise unsupported(graph, op, "has no variable tensor", HINT)
    return last


def _check_size(graph: Graph, op: Operator, t: Tensor, variable: Tensor, role: str) -> None:
    if t.nbytes != variable.nbytes:
        raise unsupported(graph, op, f"{role} {t.name} holds {t.nbytes} bytes, variable "
                                     f"{variable.name.removeprefix(RESOURCE_PREFIX)} {variable.nbytes} (TFLM copies "
                                     "the variable's size whatever the tensor's)",
                          "read and assign a variable with tensors of one size")


def lower_var_handle(graph: Graph, op: Operator) -> Lowered:
    name = op.options.shared_name if op.options is not None else None
    return Lowered(op=op, kernel="var_handle", params=VariableParams(variable=name or "", bytes=0), inputs=(),
                   outputs=())


def lower_read_variable(graph: Graph, op: Operator) -> Lowered:
    variable = _variable(graph, op)
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        raise unsupported(graph, op, f"has {len(op.inputs) - 1} inputs and {len(op.outputs)} outputs; TFLM's "
                                     "READ_VARIABLE takes a handle and writes one tensor")
    (y,) = graph.op_outputs(op)
    _check_size(graph, op, y, variable, "output")
    params = VariableParams(variable=variable.name.removeprefix(RESOURCE_PREFIX), bytes=y.nbytes)
    return Lowered(op=op, kernel="read_variable", params=params, inputs=(variable.index,), outputs=(y.index,))


def lower_assign_variable(graph: Graph, op: Operator) -> Lowered:
    variable = _variable(graph, op)
    if len(op.inputs) != 3 or op.outputs:
        raise unsupported(graph, op, f"has {len(op.inputs) - 1} inputs and {len(op.outputs)} outputs; TFLM's "
                                     "ASSIGN_VARIABLE takes a handle and a value and writes nothing")
    value = graph.tensor(op.inputs[1])
    _check_size(graph, op, value, variable, "value")
    name = variable.name.removeprefix(RESOURCE_PREFIX)
    if value.is_const:
        if value.dtype == "int4":
            raise unsupported(graph, op, "assigns an int4 constant", "assign an int8 tensor")
        return Lowered(op=op, kernel="assign_variable", params=VariableParams(name, value.nbytes, const_value=True),
                       inputs=(variable.index,), outputs=(),
                       consts=(ConstArray("value", "uint8_t", const_bytes(value)),))
    return Lowered(op=op, kernel="assign_variable", params=VariableParams(name, value.nbytes),
                   inputs=(value.index, variable.index), outputs=())


SPECS = [
    OpSpec(name="var_handle", builtin="VAR_HANDLE", options=VarHandleOptions, fb_options="VarHandleOptions",
           lower=lower_var_handle, kernels=(reference_kernel("var_handle"),),
           doc="resolved before code generation: the variable is a tensor of the arena's state region"),
    OpSpec(name="read_variable", builtin="READ_VARIABLE", lower=lower_read_variable,
           kernels=(reference_kernel("read_variable"),), doc="any type: the variable's bytes copied out"),
    OpSpec(name="assign_variable", builtin="ASSIGN_VARIABLE", lower=lower_assign_variable,
           kernels=(reference_kernel("assign_variable"),),
           doc="any type, a tensor or a constant: copied into the variable, kept across invokes, filled by "
               "reset as TFLM's (its zero point as a byte, else 0)"),
]
