"""fully_connected as tq_mve_conv_s8: a 1x1 convolution over `batches` pixels."""

from __future__ import annotations

from tinyq.backends.tq_mve import LANES, isa_reason
from tinyq.backends.tq_mve.conv_2d import HOLD, scratch_bytes
from tinyq.backends.tq_mve.packing import pack_quads, requant_columns
from tinyq.ops.base import ConstArray, Kernel, Lowered, Target
from tinyq.ops.inplace import gemm_rows


def fc_reason(k: Lowered, target: Target) -> str | None:
    """Why a fully connected layer does not run as tq_mve_conv_s8, or None when it does."""
    if isa_reason(target):
        return isa_reason(target)
    if k.params.filter_offset:
        return "weights with a zero point (the input sums would be needed at run time)"
    return None


def fc_consts(k: Lowered, target: Target) -> tuple[ConstArray, ...]:
    p = k.params
    rows = k.const("filter").reshape(p.output_depth, p.accum_depth)
    columns = requant_columns(k)
    return (ConstArray("mve_packed", "int32_t", pack_quads(rows, columns)),)


# tq_mve_conv_s8 over the batch rows, two at a time: the second row's outputs held (tq_mve/conv_2d.py)
HELD_ROWS = gemm_rows(1, "tq_mve_conv_s8 over the batch rows: a pair's first row written while both are read, "
                         "the second after them")
PAIRED_ROWS = gemm_rows(2, "tq_mve_conv_s8 over the batch rows: two rows read for every 4 outputs it writes to "
                           "both, row pairs in order")


def fc_scratch_bytes(p) -> int:
    return scratch_bytes(LANES * -(-p.accum_depth // LANES), p.accum_depth % LANES == 0, p.batches, p.output_depth)


KERNELS = [Kernel(name="fully_connected", template="tq_mve/fully_connected.c.j2", uses=(), derived=fc_consts,
                  applies=fc_reason, function=lambda k, t: "tq_mve_conv_s8",
                  scratch=lambda k, t: fc_scratch_bytes(k.params),
                  inplace=lambda k, t, f: HELD_ROWS if k.params.output_depth <= HOLD else PAIRED_ROWS,
                  doc="Helium targets; weights without a zero point")]
