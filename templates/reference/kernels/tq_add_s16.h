#ifndef TQ_ADD_S16_H
#define TQ_ADD_S16_H
#include "tq_add.h"

/* int16 ADD and SUB: the int8 kernels' parameter block (left_shift 15 instead of 20). */
void tq_add_s16(const tq_add_params_t *p, const int16_t *input1, const int16_t *input2, int16_t *output);
void tq_sub_s16(const tq_add_params_t *p, const int16_t *input1, const int16_t *input2, int16_t *output);
#endif
