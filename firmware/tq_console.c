#include "tq_console.h"

#include "tq_io.h"

static const char HEX[] = "0123456789abcdef";

void tq_puts(const char *s) {
  while (*s) tq_io_putc(*s++);
}

void tq_put_u64(uint64_t v) {
  char buf[21];
  int i = 20;
  buf[i] = 0;
  do {
    /* 64-bit division pulls in libgcc's __aeabi_uldivmod; it is small and only used here */
    buf[--i] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v);
  tq_puts(&buf[i]);
}

void tq_put_hex32(uint32_t v) {
  tq_puts("0x");
  for (int shift = 28; shift >= 0; shift -= 4) tq_io_putc(HEX[(v >> shift) & 0xFu]);
}

void tq_put_hex_bytes(const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    tq_io_putc(HEX[p[i] >> 4]);
    tq_io_putc(HEX[p[i] & 0xFu]);
  }
}

void tq_put_milli(float v) {
  if (v != v) {
    tq_puts("nan");
    return;
  }
  if (v < 0.0f) {
    tq_io_putc('-');
    v = -v;
  }
  if (v > 1e15f) {
    tq_puts("inf");
    return;
  }
  uint64_t m = (uint64_t)(v * 1000.0f + 0.5f);
  uint32_t frac = (uint32_t)(m % 1000u);
  tq_put_u64(m / 1000u);
  tq_io_putc('.');
  tq_io_putc('0' + (int)(frac / 100u));
  tq_io_putc('0' + (int)(frac / 10u % 10u));
  tq_io_putc('0' + (int)(frac % 10u));
}

void tq_say(const char *s) {
  tq_puts(s);
  tq_puts("\r\n");
}

void tq_fail(const char *s) {
  tq_puts("e-[");
  tq_puts(s);
  tq_say("]");
}

int tq_hex_value(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int32_t tq_parse_count(const char *s, int32_t max) {
  int32_t v = 0;
  if (!s || !*s) return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return -1;
    const int32_t digit = *s - '0';
    if (v > (max - digit) / 10) return -1; /* v * 10 + digit > max, without overflowing */
    v = v * 10 + digit;
  }
  return v;
}
