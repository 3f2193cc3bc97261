/* Text output on top of tq_io: no printf, so no libc formatting code in flash. */
#ifndef TQ_CONSOLE_H
#define TQ_CONSOLE_H

#include <stdint.h>

#define TQ_STR_(x) #x
#define TQ_STR(x) TQ_STR_(x)

void tq_puts(const char *s);
void tq_put_u64(uint64_t v);
void tq_put_hex32(uint32_t v);
void tq_put_hex_bytes(const uint8_t *p, uint32_t n);

#endif
