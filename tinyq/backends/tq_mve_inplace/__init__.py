"""tinyq's Helium convolution without im2col rows: what binding gives an op at a model's memory peak
before it tries one pixel at a time (tinyq/plan/keep_arena.py).

tq_mve_conv_s8 copies the windows of pixel pairs at the borders into two im2col rows of scratch.
For layers whose windows can be read where they lie (window rows of whole 16-byte chunks, or
padded per row), tq_mve_conv_inplace_s8 runs the pairs whose windows lie inside the input exactly
as tq_mve_conv_s8 does, pairs of one output row clipped only above or below with the rows inside
read where they lie, and the others one pixel at a time, with no copy (chunks of taps outside the
input add their products with the zero point from a table made offline, tq_mve/conv_2d.py
border_consts): its only scratch is the pair's held second pixel (out_d bytes),
its in-place rule tq_mve_conv_s8's. Where even those bytes would raise the peak, the next layer
(tq_mve_single) has none. This layer comes right after tq_mve in the cmsis-nn backend; only the
arena guard ever binds it.
"""

from __future__ import annotations

NAME = "tq-mve"
