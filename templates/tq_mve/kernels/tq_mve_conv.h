/* tinyq's own Helium convolution (not part of CMSIS-NN): an im2col-free or
 * two-row im2col matrix product, 2 output pixels x 4 output channels per block,
 * with everything that does not depend on the input prepared offline:
 *   - per quad of output channels, one int32-aligned record (tinyq/backends/
 *     cmsis_nn_mve.py, pack_quads): for each 16-byte chunk of the im2col row
 *     the 4 channels' weights (zero-padded), then 4 x each of bias,
 *     multiplier, left shift and negative right shift (one pointer reaches it all);
 *   - bias + input_offset * (sum of the channel's weights) folded into one
 *     int32 per channel, so the inner loop is bare 16-lane dot products
 *     (padded taps read the input zero point, which adds nothing).
 * Bit-exact with TFLM's reference convolution (double-rounding requantization).
 * Without Helium the same packed data runs through a plain C loop. */
#ifndef TQ_MVE_CONV_H
#define TQ_MVE_CONV_H

#include <stdint.h>

typedef struct {
  int32_t batches, in_h, in_w, in_d;
  int32_t out_h, out_w, out_d;
  int32_t filter_h, filter_w;
  int32_t stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w;
  int32_t input_offset, output_offset, act_min, act_max;
  int32_t right_shift_only; /* every channel's requantization shifts right: a shorter rounding step */
} tq_mve_conv_params;

/* An im2col row is filter_h * filter_w * in_d bytes padded to whole 16-byte
 * chunks. A 1x1 unpadded convolution over whole chunks of channels reads its
 * rows in place ("direct"); any other needs 2 rows of scratch, on the stack up to
 * TQ_MVE_CONV_STACK_ROW bytes a row, else in the arena (tinyq sizes it:
 * conv_scratch_bytes in tinyq/backends/tq_mve/conv_2d.py). Channels
 * come in whole quads (zeros past out_d). */
void tq_mve_conv_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                    int8_t *scratch);

/* Pixels go two at a time; up to this many output channels, the second pixel's outputs are held
 * on the stack until the pair's rows were read for every channel, so the output may overwrite the
 * input as closely as the reference convolution's (TQ_MVE_CONV_HOLD in tinyq/backends/tq_mve/conv_2d.py). */
#define TQ_MVE_CONV_HOLD 256

/* im2col rows up to this many bytes are kept on the stack, not in the arena (STACK_ROW in
 * tinyq/backends/tq_mve/conv_2d.py: such layers plan no scratch) */
#define TQ_MVE_CONV_STACK_ROW 256

#endif /* TQ_MVE_CONV_H */
