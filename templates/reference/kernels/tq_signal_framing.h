#ifndef TQ_SIGNAL_FRAMING_H
#define TQ_SIGNAL_FRAMING_H
#include <stdint.h>

/* TFLM's streaming signal ops. Their state is a variable tensor of the arena whose all-zero bytes
 * are TFLM's state after Prepare / Reset (tinyq/ops/signal_framing.py describes each layout). */

typedef struct {
  int32_t frame_size, frame_step, prefill, outer, frames, capacity, stride;
} tq_framer_params_t;

void tq_signal_framer(const tq_framer_params_t *p, const int16_t *input, uint8_t *state, int16_t *output,
                      uint8_t *valid);

typedef struct {
  int32_t channels, left, buffer, step;
} tq_stacker_params_t;

void tq_signal_stacker(const tq_stacker_params_t *p, const int16_t *input, uint8_t *state, int16_t *output,
                       uint8_t *valid);

/* state: outer * delay samples (NULL when delay is 0). */
void tq_signal_delay(const int16_t *input, int16_t *state, int16_t *output, int32_t frame, int32_t delay,
                     int32_t outer);

typedef struct {
  int32_t frame_size, frame_step, frames, outer;
} tq_overlap_add_params_t;

void tq_signal_overlap_add_s16(const tq_overlap_add_params_t *p, const int16_t *input, int16_t *state,
                               int16_t *output);
void tq_signal_overlap_add_f32(const tq_overlap_add_params_t *p, const float *input, float *state, float *output);

#endif
