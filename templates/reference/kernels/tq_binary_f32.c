#include "tq_binary_f32.h"
#include "tq_broadcast.h"
#include "tq_libm_f32.h"

/* TFLM's float element functions, each applied in one walk of the output (TQ_BROADCAST2). */

typedef struct {
  float lo, hi;
} tq_range_t;

#define TQ_ADD_F32(r, a, b) tq_clamp_f32((a) + (b), (r).lo, (r).hi)
#define TQ_SUB_F32(r, a, b) tq_clamp_f32((a) - (b), (r).lo, (r).hi)
#define TQ_MUL_F32(r, a, b) tq_clamp_f32((a) * (b), (r).lo, (r).hi)
#define TQ_DIV_F32(r, a, b) tq_clamp_f32((a) / (b), (r).lo, (r).hi)
#define TQ_MAX_F32(r, a, b) ((a) > (b) ? (a) : (b)) /* MaximumOp: el1 > el2 ? el1 : el2 */
#define TQ_MIN_F32(r, a, b) ((a) < (b) ? (a) : (b))
#define TQ_FLOOR_DIV_F32(r, a, b) floor_div((a), (b))
#define TQ_FLOOR_MOD_F32(r, a, b) floor_mod((a), (b))
#define TQ_SQUARED_DIFFERENCE_F32(r, a, b) squared_difference((a), (b))
#define TQ_PRELU_F32(r, a, b) ((a) >= 0.0f ? (a) : (a) * (b)) /* BroadcastPrelu4DSlowFloat */

static inline float squared_difference(float a, float b) {
  const float difference = a - b;
  return difference * difference;
}

/* FloorDiv: std::floor of the quotient in double, converted back to float. */
static inline float floor_div(float a, float b) { return (float)tq_floor_f64((double)a / (double)b); }

/* FloorMod: fmodf, moved into the divisor's sign. */
static inline float floor_mod(float a, float b) {
  const float trunc_mod = tq_fmodf(a, b);
  return (trunc_mod != 0.0f) && ((b < 0.0f) != (trunc_mod < 0.0f)) ? trunc_mod + b : trunc_mod;
}

#define TQ_BINARY_F32_DEFINE(name, ELEMENT)                                                           \
  void name(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output) {        \
    const tq_range_t range = {p->act_min, p->act_max};                                               \
    (void)range; /* only the clamping ops read it */                                                 \
    TQ_BROADCAST2(&p->loops, x, y, output, ELEMENT, range);                                          \
  }

TQ_BINARY_F32_DEFINE(tq_add_f32, TQ_ADD_F32)
TQ_BINARY_F32_DEFINE(tq_sub_f32, TQ_SUB_F32)
TQ_BINARY_F32_DEFINE(tq_mul_f32, TQ_MUL_F32)
TQ_BINARY_F32_DEFINE(tq_div_f32, TQ_DIV_F32)
TQ_BINARY_F32_DEFINE(tq_squared_difference_f32, TQ_SQUARED_DIFFERENCE_F32)
TQ_BINARY_F32_DEFINE(tq_maximum_f32, TQ_MAX_F32)
TQ_BINARY_F32_DEFINE(tq_minimum_f32, TQ_MIN_F32)
TQ_BINARY_F32_DEFINE(tq_floor_mod_f32, TQ_FLOOR_MOD_F32)
TQ_BINARY_F32_DEFINE(tq_prelu_f32, TQ_PRELU_F32)

int tq_floor_div_f32(const tq_binary_f32_params_t *p, const float *x, const float *y, float *output) {
  for (int32_t i = 0; i < p->divisor_count; ++i) {
    if (y[i] == 0.0f) return 1;
  }
  const tq_range_t range = {p->act_min, p->act_max};
  (void)range;
  TQ_BROADCAST2(&p->loops, x, y, output, TQ_FLOOR_DIV_F32, range);
  return 0;
}
