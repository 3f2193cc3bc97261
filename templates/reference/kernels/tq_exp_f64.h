#ifndef TQ_EXP_F64_H
#define TQ_EXP_F64_H
#include <stdint.h>

/* exp(x) as glibc computes it (2.28 and later) on an x86-64 CPU with FMA, where TFLM's Python
 * interpreter runs: `table` is glibc's 2^(k/128) table (tinyq/ops/detection_postprocess.py,
 * glibc_exp_table). Plain C99, no libm: every target returns the same bits. */
double tq_exp_f64(double x, const int64_t *table);

/* a * b + c rounded once, without an FMA instruction or libm (newlib's fma is a * b + c). */
double tq_fma_f64(double a, double b, double c);
#endif
