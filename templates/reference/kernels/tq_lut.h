#ifndef TQ_LUT_H
#define TQ_LUT_H
#include "tq_common.h"

/* output[i] = table[(uint8_t)input[i]]: int8 unary ops whose result per input value was
 * computed offline (ABS, RSQRT, ELU, GELU). output may be input. */
void tq_lut_s8(int32_t size, const int8_t *table, const int8_t *input, int8_t *output);
#endif
