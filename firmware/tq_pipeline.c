#include "tq_pipeline.h"

#include <string.h>

#define SAMPLE_BYTES TQ_PIPELINE_SAMPLE_BYTES
#define ROW_BYTES TQ_PIPELINE_FEATURE_BYTES
#define ROWS_BYTES (TQ_PIPELINE_FRAMES * ROW_BYTES)

const char *const tq_pipeline_labels[TQ_PIPELINE_CLASSES] = {TQ_PIPELINE_LABELS};

static uint8_t window[TQ_PIPELINE_WINDOW * SAMPLE_BYTES] __attribute__((aligned(16)));
static uint32_t held;  /* samples in `window` */
static uint32_t skip;  /* samples to drop before the next window starts (a stride above the window) */
static uint8_t rows[ROWS_BYTES] __attribute__((aligned(16))); /* oldest first */
static uint32_t frames;

static const uint32_t output_offset[TQ_PIPELINE_OUTPUTS] = {TQ_PIPELINE_OUTPUT_OFFSETS};

void tq_pipeline_reset(void) {
  held = 0;
  skip = 0;
  frames = 0;
  memset(rows, 0, sizeof rows);
  TQ_PIPELINE_FRONTEND_RESET();
}

/* One window complete: the rows move up one, the frontend writes the newest at the bottom, and
 * the window keeps the samples the next one shares with it. */
static int run_frontend(void) {
  const void *inputs[1] = {window};
  void *outputs[1] = {rows + ROWS_BYTES - ROW_BYTES};
  memmove(rows, rows + ROW_BYTES, ROWS_BYTES - ROW_BYTES);
  const int status = TQ_PIPELINE_FRONTEND_INVOKE(inputs, outputs);
  ++frames;
#if TQ_PIPELINE_STRIDE < TQ_PIPELINE_WINDOW
  memmove(window, window + TQ_PIPELINE_STRIDE * SAMPLE_BYTES, (TQ_PIPELINE_WINDOW - TQ_PIPELINE_STRIDE) * SAMPLE_BYTES);
  held = TQ_PIPELINE_WINDOW - TQ_PIPELINE_STRIDE;
#else
  held = 0;
  skip = TQ_PIPELINE_STRIDE - TQ_PIPELINE_WINDOW;
#endif
  return status;
}

int tq_pipeline_push(const void *samples, uint32_t count) {
  const uint8_t *in = (const uint8_t *)samples;
  while (count > 0) {
    if (skip > 0) {
      const uint32_t n = skip < count ? skip : count;
      skip -= n;
      in += n * SAMPLE_BYTES;
      count -= n;
      continue;
    }
    const uint32_t room = TQ_PIPELINE_WINDOW - held;
    const uint32_t n = room < count ? room : count;
    memcpy(window + held * SAMPLE_BYTES, in, n * SAMPLE_BYTES);
    held += n;
    in += n * SAMPLE_BYTES;
    count -= n;
    if (held == TQ_PIPELINE_WINDOW) {
      const int status = run_frontend();
      if (status != 0) return status;
    }
  }
  return 0;
}

uint32_t tq_pipeline_frames(void) { return frames; }

const uint8_t *tq_pipeline_features(void) { return rows; }

int tq_pipeline_classify(uint8_t *outputs) {
  const void *inputs[1] = {rows};
  void *out[TQ_PIPELINE_OUTPUTS];
  for (int i = 0; i < TQ_PIPELINE_OUTPUTS; ++i) out[i] = outputs + output_offset[i];
  return TQ_PIPELINE_CLASSIFIER_INVOKE(inputs, out);
}

float tq_pipeline_score(const uint8_t *outputs, uint32_t i) {
#if TQ_PIPELINE_SCORE_TYPE == TQ_PIPELINE_FLOAT32
  float v;
  memcpy(&v, outputs + 4 * i, 4);
  return v;
#else
  TQ_PIPELINE_SCORE_CTYPE q;
  memcpy(&q, outputs + sizeof q * i, sizeof q);
  return (float)((int32_t)q - TQ_PIPELINE_SCORE_ZERO_POINT) * TQ_PIPELINE_SCORE_SCALE;
#endif
}

uint32_t tq_pipeline_best(const uint8_t *outputs) {
  uint32_t best = 0;
  for (uint32_t i = 1; i < TQ_PIPELINE_CLASSES; ++i)
    if (tq_pipeline_score(outputs, i) > tq_pipeline_score(outputs, best)) best = i;
  return best;
}
