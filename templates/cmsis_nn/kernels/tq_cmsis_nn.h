/* tinyq's glue for calls into CMSIS-NN (https://github.com/ARM-software/CMSIS-NN).
 * The library is not part of the generated sources: build them with its
 * Source/ and Include/ (cmsis_nn.cmake fetches the pinned release). */
#ifndef TQ_CMSIS_NN_H
#define TQ_CMSIS_NN_H

#include "arm_nnfunctions.h"

/* A CMSIS-NN call that reports an error makes the invoke function return
 * -1 - (the op's position), so a wrong argument is never silently ignored. */
#define TQ_CMSIS_NN_CHECK(op, status)                                                                \
  do {                                                                                               \
    if ((status) != ARM_CMSIS_NN_SUCCESS) return -1 - (op);                                          \
  } while (0)

/* With TQ_CHECK_SCRATCH defined (tinyq's test builds), every op first asks the
 * library how much scratch it wants on this target and fails the same way if
 * that is not what tinyq planned offline. */
#ifdef TQ_CHECK_SCRATCH
#define TQ_CMSIS_NN_SCRATCH(op, wanted, planned)                                                     \
  do {                                                                                               \
    if ((int32_t)(wanted) != (int32_t)(planned)) return -1 - (op);                                   \
  } while (0)
#else
#define TQ_CMSIS_NN_SCRATCH(op, wanted, planned) ((void)0)
#endif

#endif /* TQ_CMSIS_NN_H */
