#ifndef TQ_LIBM_F32_H
#define TQ_LIBM_F32_H
#include "tq_f32.h"

/* The C library functions TFLM's float kernels call, as the golden model computes them: glibc
 * 2.36 on x86-64, where expf, logf, sinf and cosf run glibc's FMA build (picked at load time on
 * CPUs with FMA and AVX2; ARM optimized-routines algorithms) and tanhf is fdlibm's float code.
 * Plain C99 without libm, so the host, hard-float and soft-float targets return the same bits.
 * (A golden host without FMA/AVX2 runs glibc's SSE2 build, which parts from the FMA one on very few
 * inputs: expf on 2 of those in [-110, 89], cosf on 1 of every 101st bit pattern, sinf and logf on
 * none of them.)
 * Results that are NaN carry glibc's x86-64 bits: an input NaN quieted, an invalid operation
 * x86's default NaN (0xffc00000); sqrtf, floorf, ceilf and fmodf are exact, as everywhere (floorf and ceilf return a NaN as it is). */
float tq_expf(float x);
float tq_logf(float x);
float tq_sinf(float x);
float tq_cosf(float x);
float tq_expm1f(float x);
float tq_tanhf(float x);
float tq_sqrtf(float x);
float tq_floorf(float x);
float tq_ceilf(float x);
float tq_fmodf(float x, float y);
double tq_floor_f64(double x);

/* x86's default NaN: what SSE returns for an invalid operation (0/0, inf - inf, sqrt(-1)). */
#define TQ_F32_DEFAULT_NAN_BITS 0xffc00000u

static inline int tq_isnan_f32(float x) { return (tq_f32_bits(x) & 0x7fffffffu) > 0x7f800000u; }
/* A NaN operand as x86 returns it: quieted. */
static inline float tq_quiet_f32(float x) { return tq_f32_of_bits(tq_f32_bits(x) | 0x00400000u); }
#endif
