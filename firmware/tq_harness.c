#include "tq_harness.h"

#include <stdint.h>

#include "tq_board.h"
#include "tq_console.h"
#include "tq_io.h"
#include "tq_model.h"
#include "tq_records.h"
#include "tq_stack.h"
#include "tq_timer.h"

/* Records land here, outside the arena, like a sensor buffer would; inputs are
 * packed back to back (invoke_v copies them, so alignment does not matter). */
static uint8_t in_buf[TQ_MODEL_INPUT_BYTES] __attribute__((aligned(16)));
static uint8_t out_buf[TQ_MODEL_OUTPUT_BYTES] __attribute__((aligned(16)));

static void skip_line(int c) {
  while (c != '\n') c = tq_io_getc();
}

/* Fills the inputs from one "i..." line; on a bad line says why and returns 0. */
static int read_record(void) {
  for (uint32_t i = 0; i < TQ_MODEL_INPUT_BYTES; ++i) {
    int c1 = tq_io_getc();
    int hi = tq_hex_value(c1);
    int c2 = hi < 0 ? c1 : tq_io_getc();
    int lo = tq_hex_value(c2);
    if (hi < 0 || lo < 0) {
      tq_puts("e bad hex digit in input byte ");
      tq_put_u64(i);
      tq_puts("\n");
      skip_line(c2);
      return 0;
    }
    in_buf[i] = (uint8_t)(hi << 4 | lo);
  }
  int c = tq_io_getc();
  if (c == '\r') c = tq_io_getc();
  if (c != '\n') {
    tq_puts("e input longer than " TQ_STR(TQ_MODEL_INPUT_BYTES) " bytes\n");
    skip_line(c);
    return 0;
  }
  return 1;
}

static void run_record(void) {
  const void *inputs[TQ_MODEL_NUM_INPUTS];
  void *outputs[TQ_MODEL_NUM_OUTPUTS];
  for (int i = 0; i < TQ_MODEL_NUM_INPUTS; ++i) inputs[i] = in_buf + tq_model_input_offset[i];
  for (int i = 0; i < TQ_MODEL_NUM_OUTPUTS; ++i) outputs[i] = out_buf + tq_model_output_offset[i];
  uint64_t start = tq_timer_ticks();
  int status = TQ_MODEL_INVOKE_V(inputs, outputs);
  uint64_t ticks = tq_timer_ticks() - start;
  tq_puts("r ");
  tq_put_u64((uint64_t)(uint32_t)status);
  tq_puts(" ");
  tq_put_u64(ticks);
  tq_puts(" ");
  tq_put_hex_bytes(out_buf, TQ_MODEL_OUTPUT_BYTES);
  tq_puts("\n");
}

/* Builds that do not paint their stack (vendor SDKs) report 0. */
__attribute__((weak)) uint32_t tq_stack_used(void) { return 0; }

static void run_batch(void) {
  const char *error = tq_records_open();
  if (error) {
    tq_puts("e ");
    tq_puts(error);
    tq_puts("\n");
    return;
  }
  /* Restart the timer: its phase then no longer depends on when the host's "f" arrived,
   * so under QEMU -icount every tick count of the batch repeats exactly run after run. */
  tq_timer_init();
  TQ_MODEL_RESET(); /* a batch is one sequence from the initial state, as a fresh TFLM interpreter */
  uint64_t count = 0;
  while (tq_records_next(in_buf, TQ_MODEL_INPUT_BYTES)) {
    run_record();
    ++count;
  }
  tq_puts("d ");
  tq_put_u64(count);
  tq_puts(" stack=");
  tq_put_u64(tq_stack_used());
  tq_puts("\n");
  tq_records_finish();
}

static void say_ready(void) {
  tq_puts("\ntinyq-ready model=" TQ_MODEL_NAME " in=" TQ_STR(TQ_MODEL_INPUT_BYTES) " out=" TQ_STR(
      TQ_MODEL_OUTPUT_BYTES) " tick_hz=" TQ_STR(TQ_TICK_HZ) "\n");
}

int tq_harness_run(void) {
  say_ready();
  for (;;) {
    int c = tq_io_getc();
    if (c == 'i') {
      if (read_record()) run_record();
    } else if (c == 'f') {
      skip_line(c);
      run_batch();
    } else if (c == 'z') {
      skip_line(c);
      TQ_MODEL_RESET();
      tq_puts("z\n");
    } else if (c == 'h') {
      skip_line(c);
      say_ready();
    } else if (c == 'q') {
      return 0;
    } else if (c != '\n' && c != '\r' && c != ' ') {
      tq_puts("e unknown command\n");
      skip_line(c);
    }
  }
}
