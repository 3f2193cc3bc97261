#include "tq_add_n_f32.h"

/* reference_ops::AddN<float>: each output sums the inputs' element i from 0.0f in input order. */
void tq_add_n_f32(const float *const *inputs, int32_t num_inputs, int32_t count, float *output) {
  for (int32_t i = 0; i < count; ++i) {
    float x = 0.0f;
    for (int32_t j = 0; j < num_inputs; ++j) x += inputs[j][i];
    output[i] = x;
  }
}
