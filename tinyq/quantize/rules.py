"""What each float op becomes in an int8 model: the quantizer's op table.

One row per op tinyq can quantize. The constraints are TFLM's (its Prepare
functions reject models that break them) and the versions are what
TFLiteConverter's op versioning writes for int8 (int4 weights get their own).
"""

from __future__ import annotations

from dataclasses import dataclass

SOFTMAX_OUT = (1.0 / 256, -128)  # softmax/logistic outputs in [0, 1)
TANH_OUT = (1.0 / 128, 0)


@dataclass(frozen=True)
class QuantRule:
    op: str
    version: int  # operator version with int8 weights/activations
    weights: int | None = None  # input position of constant weights
    channel_axis: int = 0  # weights' quantized dimension (TFLite: conv 0, depthwise 3, FC 0)
    bias: int | None = None  # input position of the bias (int32, scale s_in * s_w)
    int4_version: int | None = None  # version with int4 weights; None: int4 not allowed
    int4_per_channel: bool = True  # TFLM's FC rejects per-channel int4 filters (fully_connected_common.cc)
    output_as_input: bool = False  # TFLM requires output params == input params
    inputs_as_output: bool = False  # every input shares the output's params (concatenation)
    fixed_output: tuple[float, int] | None = None
    activation_inputs: tuple[int, ...] | None = None  # inputs that are data (None: every float input)


RULES: dict[str, QuantRule] = {r.op: r for r in (
    QuantRule("conv_2d", 3, weights=1, channel_axis=0, bias=2, int4_version=7, activation_inputs=(0,)),
    QuantRule("depthwise_conv_2d", 3, weights=1, channel_axis=3, bias=2, int4_version=7, activation_inputs=(0,)),
    QuantRule("fully_connected", 4, weights=1, channel_axis=0, bias=2, int4_version=10, int4_per_channel=False,
              activation_inputs=(0,)),
    QuantRule("max_pool_2d", 2, output_as_input=True),
    QuantRule("average_pool_2d", 2, output_as_input=True),
    QuantRule("reshape", 1, output_as_input=True, activation_inputs=(0,)),
    QuantRule("squeeze", 1, output_as_input=True),
    QuantRule("expand_dims", 1, output_as_input=True, activation_inputs=(0,)),
    QuantRule("transpose", 2, output_as_input=True, activation_inputs=(0,)),
    QuantRule("strided_slice", 2, output_as_input=True, activation_inputs=(0,)),
    QuantRule("pad", 2, output_as_input=True, activation_inputs=(0,)),
    QuantRule("resize_nearest_neighbor", 2, output_as_input=True, activation_inputs=(0,)),
    QuantRule("relu6", 2, output_as_input=True),
    QuantRule("concatenation", 2, inputs_as_output=True),
    QuantRule("softmax", 2, fixed_output=SOFTMAX_OUT),
    QuantRule("logistic", 2, fixed_output=SOFTMAX_OUT),
    QuantRule("tanh", 2, fixed_output=TANH_OUT),
    QuantRule("relu", 2),
    QuantRule("leaky_relu", 1),
    QuantRule("hard_swish", 1),
    QuantRule("add", 2),
    QuantRule("sub", 2),
    QuantRule("mul", 2),
    QuantRule("mean", 2, activation_inputs=(0,)),
    QuantRule("arg_max", 2, activation_inputs=(0,)),
)}


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
