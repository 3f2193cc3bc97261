#include "tq_binary_i32.h"

#include "tq_common.h"

static inline int32_t tq_add_i32_element(const tq_binary_i32_params_t *q, int32_t a, int32_t b) {
  const int32_t r = (int32_t)((uint32_t)a + (uint32_t)b);
  return TQ_CLAMP(r, q->act_min, q->act_max);
}

static inline int32_t tq_sub_i32_element(const tq_binary_i32_params_t *q, int32_t a, int32_t b) {
  const int32_t r = (int32_t)((uint32_t)a - (uint32_t)b);
  return TQ_CLAMP(r, q->act_min, q->act_max);
}

static inline int32_t tq_mul_i32_element(const tq_binary_i32_params_t *q, int32_t a, int32_t b) {
  const int32_t r = (int32_t)((uint32_t)a * (uint32_t)b);
  return TQ_CLAMP(r, q->act_min, q->act_max);
}

/* Parameters are copied to a local: the output stores may alias *p. */
void tq_add_i32(const tq_binary_i32_params_t *p, const int32_t *x, const int32_t *y, int32_t *output) {
  const tq_binary_i32_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_add_i32_element, &q);
}

void tq_sub_i32(const tq_binary_i32_params_t *p, const int32_t *x, const int32_t *y, int32_t *output) {
  const tq_binary_i32_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_sub_i32_element, &q);
}

void tq_mul_i32(const tq_binary_i32_params_t *p, const int32_t *x, const int32_t *y, int32_t *output) {
  const tq_binary_i32_params_t q = *p;
  TQ_BROADCAST2(&q.loops, x, y, output, tq_mul_i32_element, &q);
}
