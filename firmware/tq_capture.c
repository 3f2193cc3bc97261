/* Capture mode (see tq_capture.h): frames from the sensor, each one sent back as a record and then
 * run through the model. */
#include "tq_capture.h"

#include <string.h>

#include "tq_console.h"
#include "tq_dut.h"
#include "tq_dut_model.h"
#include "tq_io.h"
#include "tq_model.h"

static const char *const INPUT_DESCRIPTIONS[TQ_MODEL_NUM_INPUTS] = TQ_DUT_INPUT_DESCRIPTIONS;

static void say(const char *s) {
  tq_puts(s);
  tq_puts("\r\n");
}

static void fail(const char *s) {
  tq_puts("e-[");
  tq_puts(s);
  say("]");
}

/* Decimal digits only, 1..1000000; -1 for anything else. */
static int32_t parse_frames(const char *s) {
  int32_t v = 0;
  if (!s || !*s) return -1;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9' || v > 1000000) return -1;
    v = v * 10 + (*s - '0');
  }
  return v > 0 && v <= 1000000 ? v : -1;
}

/* The stand-in sensor: one frame the host loaded into the db buffer over the UART. */
__attribute__((weak)) int tq_sensor_read(uint8_t *input, uint32_t bytes) {
  uint32_t loaded;
  const uint8_t *frame = tq_dut_db(&loaded);
  if (loaded != bytes) return 0;
  memcpy(input, frame, bytes);
  tq_dut_db_clear(); /* taken: the next frame must be loaded anew */
  return 1;
}

void tq_capture_inputs(char **argv, int argc) {
  (void)argv;
  (void)argc;
  for (int i = 0; i < TQ_MODEL_NUM_INPUTS; ++i) {
    tq_puts("m-tinyq-input-[");
    tq_puts(INPUT_DESCRIPTIONS[i]);
    say("]");
  }
}

void tq_capture_run(char **argv, int argc) {
  int32_t frames = argc > 1 ? parse_frames(argv[1]) : 1;
  uint8_t *input = tq_dut_input();
  int32_t taken = 0;
  if (frames < 0) {
    fail("Capture needs a frame count 1-1000000");
    return;
  }
  for (; taken < frames; ++taken) {
    if (!tq_sensor_read(input, TQ_MODEL_INPUT_BYTES)) break;
    tq_puts("m-tinyq-record-[");
    tq_put_hex_bytes(input, TQ_MODEL_INPUT_BYTES);
    say("]");
    int status = tq_dut_invoke();
    if (status) {
      tq_puts("e-[Invoke returned ");
      tq_put_u64((uint64_t)(uint32_t)status);
      say("]");
      return;
    }
  }
  if (taken == 0) {
    fail("The sensor gave no frame (the stand-in sensor takes one loaded with 'db load " TQ_STR(
        TQ_MODEL_INPUT_BYTES) "' and db lines)");
    return;
  }
  tq_puts("m-tinyq-captured-[");
  tq_put_u64((uint64_t)taken);
  say("]");
}
