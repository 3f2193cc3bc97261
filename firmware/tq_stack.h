#ifndef TQ_STACK_H
#define TQ_STACK_H

#include <stdint.h>

/* Called once at reset, before main. */
void tq_stack_paint(void);
/* Bytes of stack used so far (0 where the build does not paint its stack). */
uint32_t tq_stack_used(void);

#endif
