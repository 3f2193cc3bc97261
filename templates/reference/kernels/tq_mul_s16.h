#ifndef TQ_MUL_S16_H
#define TQ_MUL_S16_H
#include "tq_mul.h"

/* int16 MUL: the int8 kernel's parameter block; TFLM requires every zero point to be 0. */
void tq_mul_s16(const tq_mul_params_t *p, const int16_t *input1, const int16_t *input2, int16_t *output);
#endif
