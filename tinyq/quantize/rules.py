"""What each float op becomes in an int8 model: the quantizer's view of the op table.

Each op's rule lives in its description (`OpSpec.quant`, tinyq/ops/); this module
gathers them and computes the operator version TFLite's versioning writes.
"""

from __future__ import annotations

from tinyq import ops
from tinyq.ir import NO_TENSOR, Graph, Operator
from tinyq.ops.base import QuantRule
from tinyq.passes.graph_edit import option

RULES: dict[str, QuantRule] = {spec.name: spec.quant for spec in ops.all_specs() if spec.quant is not None}

# ops TFLM runs in float32 only (their OpSpec's quant is FLOAT_ISLAND): they stay float in a quantized model
FLOAT_ISLANDS = tuple(sorted(name for name, rule in RULES.items() if rule.float_island))


def _ranks(graph: Graph, op: Operator) -> list[int]:
    return [len(graph.tensors[i].shape) for i in op.inputs[:2] if i != NO_TENSOR]


def _broadcast_above_4d(graph: Graph, op: Operator) -> bool:
    shapes = {tuple(graph.tensors[i].shape) for i in op.inputs[:2] if i != NO_TENSOR}
    return len(shapes) > 1 and max(_ranks(graph, op)) > 4


# op -> (condition on the op, version): where TFLite's op versioning gives an int8 op more than its rule's
# version for its options or shapes (tools/versioning/op_version.cc)
VERSION_RAISES = {
    "resize_bilinear": (lambda g, op: bool(option(op, "half_pixel_centers", False)), 3),
    "space_to_batch_nd": (lambda g, op: _ranks(g, op)[0] != 4, 3),
    "batch_to_space_nd": (lambda g, op: _ranks(g, op)[0] != 4, 3),
    "gather": (lambda g, op: option(op, "batch_dims", 0) != 0, 5),
    "maximum": (_broadcast_above_4d, 3),
    "minimum": (_broadcast_above_4d, 3),
    "div": (_broadcast_above_4d, 2),
    "padv2": (lambda g, op: _ranks(g, op)[0] > 4, 4),
}


def activation_op_version(graph: Graph, op: Operator) -> int:
    """The int8 version of an op without weights, from its options and shapes."""
    raised = VERSION_RAISES.get(op.op)
    if raised is not None and raised[0](graph, op):
        return raised[1]
    return RULES[op.op].version


def int8_version(op_name: str, weight_dtype: str, has_bias: bool = True, keep_num_dims: bool = False,
                 mul_rescale_ge_one: bool = False) -> int:
    """The operator version TFLite's versioning gives this op in the quantized model."""
    rule = RULES[op_name]
    if weight_dtype == "int4" and rule.int4_version is not None:
        return rule.int4_version
    if op_name == "fully_connected":
        if not has_bias:
            return 6
        if keep_num_dims:
            return 5
    if op_name == "mul" and mul_rescale_ge_one:
        return 3
    return rule.version


def parameter_positions(rule: QuantRule) -> tuple[tuple[int, str], ...]:
    """(input position, "weights" | "bias") of every constant parameter the op's rule quantizes: its weights
    and bias, or a recurrent op's weight matrices and biases."""
    if rule.recurrent is not None:
        return tuple((w, "weights") for w, _, _ in rule.recurrent.weights) + \
            tuple((b, "bias") for _, _, b in rule.recurrent.weights if b is not None)
    return tuple((p, name) for p, name in ((rule.weights, "weights"), (rule.bias, "bias")) if p is not None)


def supported_ops() -> list[str]:
    return sorted(RULES)
