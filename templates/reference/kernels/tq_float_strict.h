/* Kernels that repeat TFLM's float arithmetic operation for operation include this first:
 * a fused multiply-add rounds once where TFLM rounds twice, and fast-math reorders. tinyq builds
 * with -std=c99 (no contraction in GCC's ISO mode); this keeps other builds (ESP-IDF's gnu17,
 * a user's Makefile) from contracting the file's float expressions either. */
#ifndef TQ_FLOAT_STRICT_H
#define TQ_FLOAT_STRICT_H
#ifdef __FAST_MATH__
#error "tinyq's float kernels reproduce TFLM bit for bit: build them without -ffast-math"
#endif
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#endif
