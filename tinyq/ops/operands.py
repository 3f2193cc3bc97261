"""Operands that may be activations (arena) or constants (flash): ADD, MUL, CONCATENATION.

A kernel's call template names operand i either `k.input(slot)` or the flash array
`operand<i>`; `sources[i]` holds the slot, or -1 for a constant.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from tinyq.ir import Tensor
from tinyq.ops.base import ConstArray

# element type of the flash copy (bool is stored as bytes, as TFLM does)
_CTYPES = {"int8": ("int8_t", np.int8), "uint8": ("uint8_t", np.uint8), "int16": ("int16_t", np.int16),
           "int32": ("int32_t", np.int32), "int64": ("int64_t", np.int64), "float32": ("float", np.float32),
           "bool": ("uint8_t", np.uint8)}


def operand_sources(tensors: Sequence[Tensor]) -> tuple[tuple[int, ...], tuple[int, ...], tuple[ConstArray, ...]]:
    """(sources, activation tensor indices for Lowered.inputs, flash arrays)."""
    sources, inputs, consts = [], [], []
    for i, t in enumerate(tensors):
        if t.is_const:
            sources.append(-1)
            ctype, np_type = _CTYPES[t.dtype]
            consts.append(ConstArray(f"operand{i}", ctype, np.asarray(t.data).astype(np_type).reshape(-1)))
        else:
            sources.append(len(inputs))
            inputs.append(t.index)
    return tuple(sources), tuple(inputs), tuple(consts)
