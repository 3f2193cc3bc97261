#include "tq_float_strict.h"

#include "tq_signal_framing.h"

#include <string.h>

/* A sample buffer kept oldest first: TFLM's circular buffer holds the same samples in a ring.
 * `held` is the count stored in the state less `base` (what TFLM's buffer holds after Reset), so
 * all-zero state bytes are the reset state. */
typedef struct {
  int32_t *held;
  int16_t *samples;
  int32_t base;
} tq_sample_fifo_t;

static tq_sample_fifo_t fifo_at(uint8_t *state, int32_t base) {
  tq_sample_fifo_t f;
  f.held = (int32_t *)(void *)state;
  f.samples = (int16_t *)(void *)(state + 4);
  f.base = base;
  return f;
}

static int32_t fifo_count(const tq_sample_fifo_t *f) { return *f->held + f->base; }

static void fifo_write(tq_sample_fifo_t *f, const int16_t *values, int32_t n) {
  memcpy(f->samples + fifo_count(f), values, (size_t)n * sizeof(int16_t));
  *f->held += n;
}

static void fifo_discard(tq_sample_fifo_t *f, int32_t n) {
  const int32_t count = fifo_count(f);
  memmove(f->samples, f->samples + n, (size_t)(count - n) * sizeof(int16_t));
  *f->held -= n;
}

void tq_signal_framer(const tq_framer_params_t *p, const int16_t *input, uint8_t *state, int16_t *output,
                      uint8_t *valid) {
  *valid = 1;
  for (int32_t i = 0; i < p->outer; ++i) {
    tq_sample_fifo_t f = fifo_at(state + i * p->stride, p->prefill);
    for (int32_t frame = 0; frame < p->frames; ++frame) {
      const int32_t at = i * p->frames + frame;
      int16_t *out = output + at * p->frame_size;
      fifo_write(&f, input + at * p->frame_step, p->frame_step);
      if (fifo_count(&f) >= p->frame_size) {
        memcpy(out, f.samples, (size_t)p->frame_size * sizeof(int16_t));
        fifo_discard(&f, p->frame_step);
      } else {
        memset(out, 0, (size_t)p->frame_size * sizeof(int16_t)); /* TFLM leaves the arena's bytes */
        *valid = 0;
      }
    }
  }
}

/* state: int32 first-frame flag, int32 count, the values. */
void tq_signal_stacker(const tq_stacker_params_t *p, const int16_t *input, uint8_t *state, int16_t *output,
                       uint8_t *valid) {
  int32_t *has_first_frame = (int32_t *)(void *)state;
  tq_sample_fifo_t f = fifo_at(state + 4, 0);
  fifo_write(&f, input, p->channels);
  if (!*has_first_frame) { /* CircularBufferExtend: the first frame `left` more times */
    for (int32_t i = 0; i < p->left; ++i) fifo_write(&f, f.samples + fifo_count(&f) - p->channels, p->channels);
    *has_first_frame = 1;
  }
  if (fifo_count(&f) >= p->buffer) {
    memcpy(output, f.samples, (size_t)p->buffer * sizeof(int16_t));
    fifo_discard(&f, p->step);
    *valid = 1;
  } else {
    memset(output, 0, (size_t)p->buffer * sizeof(int16_t)); /* TFLM leaves the arena's bytes */
    *valid = 0;
  }
}

/* Per outer dimension: the output is the frame `delay` samples late, the state the last `delay`
 * samples of (state, input). Reading state[k + frame] before writing state[k] keeps it in place. */
void tq_signal_delay(const int16_t *input, int16_t *state, int16_t *output, int32_t frame, int32_t delay,
                     int32_t outer) {
  for (int32_t i = 0; i < outer; ++i) {
    const int16_t *in = input + i * frame;
    int16_t *out = output + i * frame;
    int16_t *held = state + i * delay;
    for (int32_t j = 0; j < frame; ++j) out[j] = j < delay ? held[j] : in[j - delay];
    for (int32_t k = 0; k < delay; ++k) held[k] = k + frame < delay ? held[k + frame] : in[k + frame - delay];
  }
}

/* TFLM's OverlapAdd per frame: add the frame into the partial sums (int16: saturating), output the
 * first frame_step sums, shift the rest down and zero the tail. */
void tq_signal_overlap_add_s16(const tq_overlap_add_params_t *p, const int16_t *input, int16_t *state,
                               int16_t *output) {
  const int32_t size = p->frame_size, step = p->frame_step;
  for (int32_t i = 0; i < p->outer; ++i) {
    int16_t *sums = state + i * size;
    for (int32_t frame = 0; frame < p->frames; ++frame) {
      const int32_t at = i * p->frames + frame;
      const int16_t *in = input + at * size;
      for (int32_t k = 0; k < size; ++k) {
        const int32_t s = (int32_t)in[k] + sums[k];
        sums[k] = (int16_t)(s < INT16_MIN ? INT16_MIN : s > INT16_MAX ? INT16_MAX : s);
      }
      memcpy(output + at * step, sums, (size_t)step * sizeof(int16_t));
      memmove(sums, sums + step, (size_t)(size - step) * sizeof(int16_t));
      memset(sums + size - step, 0, (size_t)step * sizeof(int16_t));
    }
  }
}

void tq_signal_overlap_add_f32(const tq_overlap_add_params_t *p, const float *input, float *state, float *output) {
  const int32_t size = p->frame_size, step = p->frame_step;
  for (int32_t i = 0; i < p->outer; ++i) {
    float *sums = state + i * size;
    for (int32_t frame = 0; frame < p->frames; ++frame) {
      const int32_t at = i * p->frames + frame;
      const float *in = input + at * size;
      for (int32_t k = 0; k < size; ++k) sums[k] += in[k];
      memcpy(output + at * step, sums, (size_t)step * sizeof(float));
      memmove(sums, sums + step, (size_t)(size - step) * sizeof(float));
      memset(sums + size - step, 0, (size_t)step * sizeof(float));
    }
  }
}
