/* Streaming classification with two generated models (tinyq generate FRONTEND CLASSIFIER):
 * the frontend runs over sliding windows of a sample stream (a window of TQ_PIPELINE_WINDOW
 * samples every TQ_PIPELINE_STRIDE), each run adds one feature row, and the classifier reads the
 * last TQ_PIPELINE_FRAMES rows. TFLM's micro_speech: 480 samples every 320, 40 int8 features a
 * row, 49 rows, 4 scores. tinyq/pipeline.py describes the same semantics for the host. */
#ifndef TQ_PIPELINE_H
#define TQ_PIPELINE_H

#include <stdint.h>

#include "tq_pipeline_config.h"

/* Forgets the samples and rows and resets the frontend's state (as TFLM's interpreter Reset()). */
void tq_pipeline_reset(void);

/* Appends `count` samples (the frontend input's type, little-endian as in memory) and runs the
 * frontend on every window they complete. Returns 0, or the frontend's failing invoke status
 * (the samples after that window are dropped). */
int tq_pipeline_push(const void *samples, uint32_t count);

/* Feature rows the frontend produced since the reset. */
uint32_t tq_pipeline_frames(void);

/* The classifier's input: the last TQ_PIPELINE_FRAMES rows, oldest first (zero bytes where
 * fewer rows were produced). */
const uint8_t *tq_pipeline_features(void);

/* Runs the classifier on the rows; `outputs` gets every classifier output back to back
 * (TQ_PIPELINE_OUTPUT_BYTES), its first output being the scores. Returns its invoke status. */
int tq_pipeline_classify(uint8_t *outputs);

/* The score of class i in `outputs` (dequantized), and the first index of the largest. */
float tq_pipeline_score(const uint8_t *outputs, uint32_t i);
uint32_t tq_pipeline_best(const uint8_t *outputs);

extern const char *const tq_pipeline_labels[TQ_PIPELINE_CLASSES];

#endif
