#include "tq_arg_min_max.h"

/* reference_ops::ArgMinMax: the first index wins a tie, since a later value replaces
 * the best only when it compares strictly better. */
#define TQ_ARG_LOOP(better)                                                      \
  for (int32_t o = 0; o < p->outer; ++o) {                                       \
    const int8_t *slice = input + o * p->axis_size * p->inner;                   \
    for (int32_t i = 0; i < p->inner; ++i) {                                     \
      int8_t best = slice[i];                                                    \
      int32_t index = 0;                                                         \
      for (int32_t a = 1; a < p->axis_size; ++a) {                               \
        const int8_t v = slice[a * p->inner + i];                                \
        if (v better best) {                                                     \
          best = v;                                                              \
          index = a;                                                             \
        }                                                                        \
      }                                                                          \
      *output++ = index;                                                         \
    }                                                                            \
  }

void tq_arg_max_s8(const tq_arg_min_max_params_t *p, const int8_t *input, int32_t *output) {
  TQ_ARG_LOOP(>)
}

void tq_arg_min_s8(const tq_arg_min_max_params_t *p, const int8_t *input, int32_t *output) {
  TQ_ARG_LOOP(<)
}
