"""What each float op becomes in an int8 model: the quantizer's view of the op table.

Each op's rule lives in its description (`OpSpec.quant`, tinyq/ops/); this module
gathers them and computes the operator version TFLite's versioning writes.
"""

from __future__ import annotations

from tinyq import ops
from tinyq.ops.base import QuantRule

RULES: dict[str, QuantRule] = {spec.name: spec.quant for spec in ops.all_specs() if spec.quant is not None}


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


def supported_ops() -> list[str]:
    return sorted(RULES)
