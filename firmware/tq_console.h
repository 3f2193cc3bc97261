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
/* printf's %0.3f without printf (round half up on the magnitude; "nan", "inf"). */
void tq_put_milli(float v);

/* The serial protocols' lines: "text\r\n", and an error "e-[text]\r\n". */
void tq_say(const char *s);
void tq_fail(const char *s);

/* A hex digit's value, or -1. */
int tq_hex_value(int c);
/* Decimal digits only, at most `max`; -1 for anything else (atoi would read "x" as 0). */
int32_t tq_parse_count(const char *s, int32_t max);

#endif
