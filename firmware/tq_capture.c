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
    tq_say("]");
  }
}

void tq_capture_run(char **argv, int argc) {
  int32_t frames = argc > 1 ? tq_parse_count(argv[1], 1000000) : 1;
  uint8_t *input = tq_dut_input();
  int32_t taken = 0;
  if (frames < 1) {
    tq_fail("Capture needs a frame count 1-1000000");
    return;
  }
  for (; taken < frames; ++taken) {
    if (!tq_sensor_read(input, TQ_MODEL_INPUT_BYTES)) break;
    tq_puts("m-tinyq-record-[");
    tq_put_hex_bytes(input, TQ_MODEL_INPUT_BYTES);
    tq_say("]");
    int status = tq_dut_invoke();
    if (status) {
      tq_puts("e-[Invoke returned ");
      tq_put_u64((uint64_t)(uint32_t)status);
      tq_say("]");
      return;
    }
  }
  if (taken == 0) {
    tq_fail("The sensor gave no frame (the stand-in sensor takes one loaded with 'db load " TQ_STR(
        TQ_MODEL_INPUT_BYTES) "' and db lines)");
    return;
  }
  tq_puts("m-tinyq-captured-[");
  tq_put_u64((uint64_t)taken);
  tq_say("]");
}
