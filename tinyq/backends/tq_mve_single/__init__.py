"""tinyq's Helium convolution one pixel at a time, with no buffer: the kernel binding gives an op
at a model's memory peak instead of tq_mve_conv_s8 (tinyq/plan/keep_arena.py).

tq_mve_conv_s8 runs output pixels in pairs (each weight vector feeds two pixels): it copies windows
it cannot read in place into im2col rows and holds a pair's second pixel while both are read, all
in its arena scratch. Where that scratch would raise the model's peak, tq_mve_conv_single_s8 runs
the same packed weights over one pixel at a time: every window read where it lies (chunks of taps
outside the input add their products with the zero point from a table made offline; where the input
ends mid-chunk, predicated loads fill the zero point), each pixel's channels written before the next
pixel is read. That is the reference convolution's access order, so it has the reference's in-place
rule and no scratch: the reference kernels' memory at vector speed (a weight vector feeds one pixel
instead of two). This layer comes after tq_mve and tq_mve_inplace in the cmsis-nn backend; only the
arena guard ever binds it.
"""

from __future__ import annotations

NAME = "tq-mve"
