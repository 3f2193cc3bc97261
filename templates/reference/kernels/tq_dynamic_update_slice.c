#include "tq_dynamic_update_slice.h"

static int32_t tq_dus_clamp(const tq_dynamic_update_slice_params_t *p, int i, int64_t index) {
  const int64_t room = (int64_t)p->dims[i] - p->update_dims[i];
  return (int32_t)(index < 0 ? 0 : index > room ? room : index);
}

void tq_dynamic_update_slice_clamp32(const tq_dynamic_update_slice_params_t *p, const int32_t *indices, int32_t *starts) {
  for (int i = 0; i < p->rank; ++i) starts[i] = tq_dus_clamp(p, i, indices[i]);
}

void tq_dynamic_update_slice_clamp64(const tq_dynamic_update_slice_params_t *p, const int64_t *indices, int32_t *starts) {
  for (int i = 0; i < p->rank; ++i) starts[i] = tq_dus_clamp(p, i, indices[i]);
}

/* TFLM's EvalImpl: an update as large as the operand is the whole output; otherwise the
 * operand is copied (unless the output is the operand's own buffer) and each innermost row of
 * the update is written at the clamped start. Rows are visited in the update's order with an
 * odometer over the outer dimensions. */
void tq_dynamic_update_slice(const tq_dynamic_update_slice_params_t *p, const int32_t *starts, const void *operand,
                             const void *update, void *output) {
  const int rank = p->rank;
  int64_t total = p->item;
  for (int i = 0; i < rank; ++i) total *= p->dims[i];
  if (p->whole) {
    memcpy(output, update, (size_t)total);
    return;
  }
  if (operand != output) memcpy(output, operand, (size_t)total);
  int64_t stride[6];
  stride[rank - 1] = p->item;
  for (int i = rank - 2; i >= 0; --i) stride[i] = stride[i + 1] * p->dims[i + 1];
  int64_t base = 0;
  for (int i = 0; i < rank; ++i) base += starts[i] * stride[i];
  const size_t row = (size_t)p->update_dims[rank - 1] * (size_t)p->item;
  const uint8_t *src = (const uint8_t *)update;
  uint8_t *dst = (uint8_t *)output + base;
  int32_t at[6] = {0, 0, 0, 0, 0, 0};
  for (;;) {
    memcpy(dst, src, row);
    src += row;
    int i = rank - 2;
    for (; i >= 0; --i) {
      dst += stride[i];
      if (++at[i] < p->update_dims[i]) break;
      dst -= stride[i] * p->update_dims[i];
      at[i] = 0;
    }
    if (i < 0) return;
  }
}
