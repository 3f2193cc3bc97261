/* Records from the host file TQ_RECORDS_FILE through semihosting (QEMU runs
 * with -semihosting and that file in its working directory). */
#include "tq_records.h"

#include "tq_semihost.h"

#define TQ_RECORDS_FILE "tinyq-records.bin"
#define MODE_RB 1

static int32_t handle = -1;

const char *tq_records_open(void) {
  static const char name[] = TQ_RECORDS_FILE;
  const uint32_t args[3] = {(uint32_t)(uintptr_t)name, MODE_RB, sizeof name - 1};
  handle = tq_semihost(TQ_SYS_OPEN, args);
  return handle < 0 ? "cannot open " TQ_RECORDS_FILE " through semihosting" : 0;
}

int tq_records_next(uint8_t *buf, uint32_t n) {
  const uint32_t args[3] = {(uint32_t)handle, (uint32_t)(uintptr_t)buf, n};
  /* SYS_READ returns the number of bytes it could NOT read */
  return tq_semihost(TQ_SYS_READ, args) == 0;
}

void tq_records_finish(void) {
  const uint32_t args[1] = {(uint32_t)handle};
  tq_semihost(TQ_SYS_CLOSE, args);
  tq_semihost(TQ_SYS_EXIT, (const void *)TQ_ADP_STOPPED_APPLICATION_EXIT);
}
