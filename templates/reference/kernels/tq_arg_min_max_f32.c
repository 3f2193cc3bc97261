#include "tq_arg_min_max_f32.h"

/* reference_ops::ArgMinMax with GreaterFn / LessFn on floats: a later value replaces the best
 * only when it compares strictly better, so the first index wins a tie, a NaN never replaces
 * the best, and a NaN in first place is never replaced. */
#define TQ_ARG_F32(name, better)                                                      \
  void name(const tq_arg_min_max_params_t *p, const float *input, int32_t *output) {  \
    for (int32_t o = 0; o < p->outer; ++o) {                                          \
      const float *slice = input + o * p->axis_size * p->inner;                       \
      for (int32_t i = 0; i < p->inner; ++i) {                                        \
        float best = slice[i];                                                        \
        int32_t index = 0;                                                            \
        for (int32_t a = 1; a < p->axis_size; ++a) {                                  \
          const float v = slice[a * p->inner + i];                                    \
          if (v better best) {                                                        \
            best = v;                                                                 \
            index = a;                                                                \
          }                                                                           \
        }                                                                             \
        *output++ = index;                                                            \
      }                                                                               \
    }                                                                                 \
  }

TQ_ARG_F32(tq_arg_max_f32, >)
TQ_ARG_F32(tq_arg_min_f32, <)
