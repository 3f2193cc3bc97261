#ifndef TQ_SVDF_F32_H
#define TQ_SVDF_F32_H
#include "tq_f32.h"

/* The fused activation, as TFLM's ActivationValFloat switches on it (a model cannot name SIGMOID). */
enum {
  TQ_SVDF_ACT_NONE = 0, TQ_SVDF_ACT_RELU, TQ_SVDF_ACT_RELU_N1_TO_1, TQ_SVDF_ACT_RELU6, TQ_SVDF_ACT_TANH,
  TQ_SVDF_ACT_SIGN_BIT
};

typedef struct {
  int32_t batches, input_size, filters, units, rank, memory;
  int32_t activation;
} tq_svdf_f32_params_t;

/* state: [batches][filters][memory], kept across invokes; bias: [units] or NULL. */
void tq_svdf_f32(const tq_svdf_f32_params_t *p, const float *input, float *state, const float *feature_weights,
                 const float *time_weights, const float *bias, float *output);
#endif
