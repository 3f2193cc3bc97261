"""The ops TensorFlow Lite Micro registers (micro_mutable_op_resolver.h and the Python interpreter's
python_ops_resolver.cc at commit 90b983c2b3f1480642e040bbd2ddb37b998f3424): what "every model TFLM
runs" means, op by op.

Data only. An op missing here has no TFLM kernel, so no TFLM build runs a model with it; the
refusal says so (tinyq/lower.py), and tests/test_tflm_ops.py checks tinyq lowers every one of them.
"""

BUILTINS = frozenset({
    "ABS", "ADD", "ADD_N", "ARG_MAX", "ARG_MIN", "ASSIGN_VARIABLE", "AVERAGE_POOL_2D", "BATCH_MATMUL",
    "BATCH_TO_SPACE_ND", "BROADCAST_ARGS", "BROADCAST_TO", "CALL_ONCE", "CAST", "CEIL", "CONCATENATION",
    "CONV_2D", "COS", "CUMSUM", "DEPTHWISE_CONV_2D", "DEPTH_TO_SPACE", "DEQUANTIZE", "DIV",
    "DYNAMIC_UPDATE_SLICE", "ELU", "EMBEDDING_LOOKUP", "EQUAL", "EXP", "EXPAND_DIMS", "FILL", "FLOOR",
    "FLOOR_DIV", "FLOOR_MOD", "FULLY_CONNECTED", "GATHER", "GATHER_ND", "GREATER", "GREATER_EQUAL",
    "HARD_SWISH", "IF", "L2_NORMALIZATION", "L2_POOL_2D", "LEAKY_RELU", "LESS", "LESS_EQUAL", "LOG",
    "LOGICAL_AND", "LOGICAL_NOT", "LOGICAL_OR", "LOGISTIC", "LOG_SOFTMAX", "MAXIMUM", "MAX_POOL_2D", "MEAN",
    "MINIMUM", "MIRROR_PAD", "MUL", "NEG", "NOT_EQUAL", "PACK", "PAD", "PADV2", "PRELU", "QUANTIZE",
    "READ_VARIABLE", "REDUCE_ALL", "REDUCE_MAX", "REDUCE_MIN", "RELU", "RELU6", "RESHAPE", "RESIZE_BILINEAR",
    "RESIZE_NEAREST_NEIGHBOR", "REVERSE_V2", "ROUND", "RSQRT", "SELECT_V2", "SHAPE", "SIN", "SLICE",
    "SOFTMAX", "SPACE_TO_BATCH_ND", "SPACE_TO_DEPTH", "SPLIT", "SPLIT_V", "SQRT", "SQUARE",
    "SQUARED_DIFFERENCE", "SQUEEZE", "STRIDED_SLICE", "SUB", "SUM", "SVDF", "TANH", "TRANSPOSE",
    "TRANSPOSE_CONV", "UNIDIRECTIONAL_SEQUENCE_LSTM", "UNPACK", "VAR_HANDLE", "WHILE", "ZEROS_LIKE",
})

CUSTOMS = frozenset({
    "CIRCULAR_BUFFER", "TFLM_DECODE", "SignalDelay", "TFLite_Detection_PostProcess", "SignalEnergy",
    "SignalFftAutoScale", "SignalFilterBank", "SignalFilterBankLog", "SignalFilterBankSquareRoot",
    "SignalFramer", "SignalIrfft", "SignalOverlapAdd", "SignalPCAN", "SignalRfft", "SignalStacker",
    "SignalWindow", "SignalFilterBankSpectralSubtraction",
})

# registered by TFLM, run by a coprocessor: Vela's Ethos-U command stream
NPU_ONLY = frozenset({"ethos-u"})

# custom ops that hold a graph compiled for an accelerator: what the op is, and the compiler whose input tinyq takes
ACCELERATOR_OPS = {
    "ethos-u": ("an Ethos-U NPU command stream (Vela's output): TFLM hands it to the NPU, tinyq compiles for the CPU",
                "Vela"),
    "edgetpu-custom-op": ("an Edge TPU program (edgetpu_compiler's output): only the Edge TPU runs it, TFLM has no "
                          "kernel for it", "edgetpu_compiler"),
}


def tflm_runs(op: str) -> bool:
    """Whether TFLM has a kernel for `op` (tinyq's name: "conv_2d", "custom:CIRCULAR_BUFFER")."""
    if op.startswith("custom:"):
        return op[len("custom:"):] in CUSTOMS | NPU_ONLY
    return op.upper() in BUILTINS
