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
 * rows in place ("direct"); any other copies windows it cannot read in place into
 * two rows of `scratch` (one for a lone pixel), followed by out_d bytes where the
 * second pixel of a pair is held (see below). tinyq plans it in the arena like any
 * op's scratch (conv_scratch_bytes in tinyq/backends/tq_mve/conv_2d.py), so it
 * costs memory only at the model's peak. Channels come in whole quads (zeros past out_d). */
void tq_mve_conv_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed, int8_t *output,
                    int8_t *scratch);

/* Pixels go two at a time; up to this many output channels, the second pixel's outputs are held
 * in the scratch until the pair's rows were read for every channel, so the output may overwrite the
 * input as closely as the reference convolution's (TQ_MVE_CONV_HOLD in tinyq/backends/tq_mve/conv_2d.py). */
#define TQ_MVE_CONV_HOLD 256

/* tq_mve_conv_s8 without im2col rows, for layers whose windows can be read where they lie: pairs of
 * pixels whose windows lie inside the input as tq_mve_conv_s8 runs them, the others one pixel at a time
 * (tq_mve_conv_single_s8's code); `held`: out_d bytes for a pair's second pixel, its only scratch
 * (tinyq/backends/tq_mve_inplace). */
void tq_mve_conv_inplace_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed,
                            const int32_t *border, int8_t *output, int8_t *held);

/* The same packed data one output pixel at a time, with no buffer at all: every window is read
 * where it lies (chunks of taps outside the input add their products with the zero point from
 * `border`, computed offline; where the input ends mid-chunk, predicated loads), and each pixel's
 * channels are written before the next pixel is read: the reference convolution's in-place rule
 * and memory, for the layers at a model's peak (tinyq/backends/tq_mve_single). Needs windows whose
 * rows are whole chunks or padded runs (conv_single_reason). */
void tq_mve_conv_single_s8(const tq_mve_conv_params *p, const int8_t *input, const int32_t *packed,
                           const int32_t *border, int8_t *output);

#endif /* TQ_MVE_CONV_H */
