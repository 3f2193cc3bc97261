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
