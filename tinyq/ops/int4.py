"""int4 weights as the generated C keeps them: packed two per byte in flash.

The IR holds int4 tensors unpacked (one int8 per value, as the reader gives them);
lowering packs them again in TFLite's layout, which is also what CMSIS-NN's s4
kernels read: element i of the flattened tensor in byte i // 2, the low nibble
when i is even, a last half-used byte when the count is odd. The int4 kernels
(`<op>_s4`) read each weight from its nibble, so the weights take half the
flash of int8 and no unpacked copy in RAM (TFLM unpacks into its arena).
"""

from __future__ import annotations

import numpy as np

from tinyq.ir import Graph, Operator, Tensor
from tinyq.ops.base import ConstArray, unsupported

# weight dtype -> suffix of the kernel that reads it (conv_2d -> conv_2d_s4)
KERNEL_SUFFIX = {"int8": "", "int4": "_s4"}


def pack_int4(values) -> np.ndarray:
    """int4 values (-8..7, any shape) -> ceil(n / 2) bytes, low nibble first."""
    nibbles = (np.asarray(values, dtype=np.int8).reshape(-1) & 0x0F).astype(np.uint8)
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return (nibbles[0::2] | (nibbles[1::2] << 4)).view(np.int8)


def unpack_int4(packed, count: int) -> np.ndarray:
    """The inverse of pack_int4: `count` sign-extended int8 values."""
    raw = np.asarray(packed).view(np.uint8).reshape(-1)
    nibbles = np.stack([raw & 0x0F, raw >> 4], axis=1).reshape(-1)[:count].astype(np.int16)
    return ((nibbles ^ 8) - 8).astype(np.int8)


def kernel_for(kernel: str, w: Tensor) -> str:
    """The kernel that reads weights of w's dtype (the int8 one, or its packed int4 twin)."""
    return kernel + KERNEL_SUFFIX[w.dtype]


def weights_const(w: Tensor, name: str = "filter") -> ConstArray:
    """The weights' flash array: int8 as they are, int4 packed two per byte."""
    values = np.asarray(w.data, dtype=np.int8).reshape(-1)
    return ConstArray(name, "int8_t", pack_int4(values) if w.dtype == "int4" else values)


def require_per_tensor(graph: Graph, op: Operator, w: Tensor) -> None:
    """Fully connected int4 weights: quantized, one scale (TFLM's Prepare refuses per-channel int4 FC)."""
    if w.quant is None:
        raise unsupported(graph, op, f"weights {w.index} ({w.name}) have no quantization parameters",
                          "quantize the model first (tinyq quantize --weights int4)")
    if w.quant.per_channel:
        raise unsupported(graph, op, f"int4 weights {w.index} ({w.name}) are quantized per channel; "
                                     "TFLM runs int4 fully connected weights per tensor only",
                          "quantize this layer's weights per tensor, or in int8")
