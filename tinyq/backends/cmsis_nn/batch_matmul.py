"""batch_matmul as arm_batch_matmul_s8, as TFLM's CMSIS-NN glue (kernels/cmsis_nn/batch_matmul.cc) calls it.

The library multiplies row-major lhs [n, h, A, B] by an rhs stored transposed, [n, h, C, B],
broadcasting n and h. Like TFLM's glue, the call gets the lhs transposed when adj_x is set
and the rhs transposed unless adj_y is; a constant operand is already stored that way in
flash (tinyq/ops/batch_matmul.py), an activation is transposed into the op's scratch at
run time. On Helium the library also sums each rhs row into its context buffer
(arm_fully_connected_s8_get_buffer_size: 4 bytes per output column) at every call.
"""

from __future__ import annotations

from tinyq.ops.base import Kernel, Lowered, Target

MAX_RANK = 4  # cmsis_nn_dims: TFLM's glue refuses ranks above 4


def vector_sum_bytes(k: Lowered, target: Target) -> int:
    """arm_fully_connected_s8_get_buffer_size(output dims) on the target's code path."""
    return 4 * k.params.cols if target.isa == "mve" else 0


def _align(x: int) -> int:
    return (x + 15) // 16 * 16


def vector_sum_offset(k: Lowered) -> int:
    """Scratch layout: [transposed lhs][transposed rhs][vector sums], 16-byte aligned parts
    (the template computes the same offsets from the same parameters)."""
    return _align(k.params.lhs_copy_bytes) + _align(k.params.rhs_copy_bytes)


def scratch_bytes(k: Lowered, target: Target) -> int:
    return vector_sum_offset(k) + vector_sum_bytes(k, target)


def dims4(batch_shape, rows: int, cols: int) -> tuple[int, int, int, int]:
    """cmsis_nn_dims {n, h, w, c} of a matrix stack whose batch dimensions are `batch_shape`."""
    batch = (1, 1) + tuple(batch_shape)
    return batch[-2], batch[-1], rows, cols


def _applies(k: Lowered, target: Target) -> str | None:
    if len(k.params.lhs_batch_shape) + 2 > MAX_RANK:
        return f"rank {len(k.params.lhs_batch_shape) + 2}: arm_batch_matmul_s8 takes ranks up to {MAX_RANK}"
    return None


KERNELS = [Kernel(
    name="batch_matmul", template="cmsis_nn/batch_matmul.c.j2", uses=("operand0", "operand1"),
    applies=_applies, function=lambda k, t: "arm_batch_matmul_s8", scratch=scratch_bytes,
    doc=f"ranks up to {MAX_RANK}; activation operands that need it transposed into scratch")]
