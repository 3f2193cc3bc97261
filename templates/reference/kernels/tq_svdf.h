#ifndef TQ_SVDF_H
#define TQ_SVDF_H
#include "tq_common.h"

/* SVDF as TFLM's EvalIntegerSvdfReference: int8 input and output, int8 feature weights
 * [filters][input], time weights and state of one type (int8 or int16), state
 * [batches][filters][memory] updated in place and kept across invokes. */
typedef struct {
  int32_t batches, input_size, filters, units, rank, memory;
  int32_t input_zero_point, state_zero_point, output_zero_point;
  int32_t feature_multiplier, feature_shift; /* input x feature weights -> state */
  int32_t output_multiplier, output_shift;   /* state x time weights -> output */
  int32_t state_min, state_max;              /* the state type's range */
} tq_svdf_params_t;

void tq_svdf_s8(const tq_svdf_params_t *p, const int8_t *input, int8_t *state, const int8_t *feature_weights,
                const int8_t *time_weights, const int32_t *bias, int8_t *output);
void tq_svdf_state_s16(const tq_svdf_params_t *p, const int8_t *input, int16_t *state,
                       const int8_t *feature_weights, const int16_t *time_weights, const int32_t *bias,
                       int8_t *output);
#endif
