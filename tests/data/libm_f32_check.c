/* tests/test_float_libm.py's harness: tinyq's tq_libm_f32.c against the C library it links (-lm),
 * function by function, on every `step`-th float32 bit pattern (a second operand for fmodf from a
 * hash of the first). Prints "name differences first_bits" per function. */
#include "tq_libm_f32.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int same(float a, float b) { return tq_f32_bits(a) == tq_f32_bits(b); }

int main(int argc, char **argv) {
  const unsigned long long step = argc > 1 ? strtoull(argv[1], 0, 0) : 1;
  enum { N = 10 };
  static const char *names[N] = {"expf", "logf", "sinf", "cosf", "tanhf", "expm1f", "sqrtf", "floorf", "ceilf", "fmodf"};
  unsigned long long bad[N] = {0};
  unsigned first[N] = {0};
  for (unsigned long long i = 0; i < (1ull << 32); i += step) {
    const unsigned u = (unsigned)i;
    const float x = tq_f32_of_bits(u), y = tq_f32_of_bits(u * 2654435761u + 12345u);
    const float got[N] = {tq_expf(x), tq_logf(x), tq_sinf(x), tq_cosf(x), tq_tanhf(x), tq_expm1f(x), tq_sqrtf(x),
                          tq_floorf(x), tq_ceilf(x), tq_fmodf(x, y)};
    const float want[N] = {expf(x), logf(x), sinf(x), cosf(x), tanhf(x), expm1f(x), sqrtf(x), floorf(x), ceilf(x),
                           fmodf(x, y)};
    for (int k = 0; k < N; ++k) {
      if (!same(got[k], want[k])) {
        if (!bad[k]) first[k] = u;
        ++bad[k];
      }
    }
  }
  for (int k = 0; k < N; ++k) printf("%s %llu %08x\n", names[k], bad[k], first[k]);
  return 0;
}
