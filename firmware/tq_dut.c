/* MLPerf Tiny device-under-test protocol (see tq_dut.h) over tq_io. Written for
 * tinyq from the protocol's description: command strings and replies match the
 * EEMBC runner's expectations; parsing is stricter (no atoi on garbage, no
 * writes past the buffer) because a host may send anything. */
#include "tq_dut.h"

#include <stdint.h>
#include <string.h>

#include "tq_board.h"
#include "tq_capture.h"
#include "tq_console.h"
#include "tq_dut_model.h"
#include "tq_io.h"
#include "tq_model.h"
#include "tq_timer.h"

/* EEMBC's parser holds 80 characters; a longer line lets tinyq send 120 bytes per db command. */
#define LINE_MAX 255
#define ARGS_MAX 4
#define DEFAULT_WARMUPS 10 /* EEMBC's default when infer has no W */

static char line[LINE_MAX + 1];
static uint8_t db_buf[TQ_DUT_DB_BYTES] __attribute__((aligned(16)));
static uint32_t db_size, db_pos;
static uint8_t in_buf[TQ_MODEL_INPUT_BYTES] __attribute__((aligned(16)));
static uint8_t out_buf[TQ_MODEL_OUTPUT_BYTES] __attribute__((aligned(16)));
static uint8_t first_out[TQ_MODEL_OUTPUT_BYTES];
static const void *inputs[TQ_MODEL_NUM_INPUTS];
static void *outputs[TQ_MODEL_NUM_OUTPUTS];
static int have_outputs;

static void say_number(const char *prefix, uint64_t v) {
  tq_puts(prefix);
  tq_put_u64(v);
  tq_say("");
}

/* EEMBC's atoi reads "x" as 0; tinyq's commands take digits only. */
#define MAX_COUNT 1000000000

static uint64_t micros(void) {
  uint64_t t = tq_timer_ticks();
  return t / TQ_TICK_HZ * 1000000u + t % TQ_TICK_HZ * 1000000u / TQ_TICK_HZ;
}

static void cmd_timestamp(char **argv, int argc) {
  (void)argv;
  (void)argc;
  say_number("m-lap-us-", micros());
}

static void cmd_name(char **argv, int argc) {
  (void)argv;
  (void)argc;
  tq_say("m-name-dut-[tinyq]");
}

static void cmd_profile(char **argv, int argc) {
  (void)argv;
  (void)argc;
  tq_say("m-profile-[ULPMark for tinyML Firmware V0.0.1]");
  tq_say("m-model-[" TQ_DUT_MLPERF_MODEL "]");
}

static void cmd_help(char **argv, int argc) {
  (void)argv;
  (void)argc;
  tq_say("tinyq MLPerf Tiny DUT firmware, model " TQ_MODEL_NAME);
  tq_say("name | profile | timestamp | db load N | db HH[HH]* | db print | infer N [W] | results");
  tq_say("tinyq | tinyq-infer N [W] | tinyq-outputs | tinyq-inputs | tinyq-capture N");
}

/* --- the db buffer -------------------------------------------------------------------------- */

static void db_load(const char *arg) {
  int32_t n = tq_parse_count(arg, MAX_COUNT);
  if (n <= 0) {
    tq_fail("Command 'db load' must be >0 bytes");
  } else if ((uint32_t)n > TQ_DUT_DB_BYTES) {
    tq_puts("e-[Supplied buffer size ");
    tq_put_u64((uint32_t)n);
    tq_say(" exceeds maximum of " TQ_STR(TQ_DUT_DB_BYTES) "]");
  } else {
    db_size = (uint32_t)n;
    db_pos = 0;
    tq_puts("m-[Expecting ");
    tq_put_u64(db_size);
    tq_say(" bytes]");
  }
}

const uint8_t *tq_dut_db(uint32_t *bytes) {
  *bytes = db_pos;
  return db_buf;
}

static void db_print(void) {
  for (uint32_t i = 0; i < db_pos; ++i) {
    if (i % 8 == 0) tq_puts("m-buffer-");
    tq_put_hex_bytes(&db_buf[i], 1);
    tq_puts((i + 1) % 8 == 0 || i + 1 == db_pos ? "\r\n" : "-");
  }
}

static void db_append(const char *hex) {
  uint32_t n = (uint32_t)strlen(hex);
  if (db_size == 0) {
    tq_fail("Send 'db load N' first");
    return;
  }
  if (n & 1u) {
    tq_fail("Insufficent number of hex digits");
    return;
  }
  for (uint32_t i = 0; i < n; i += 2) {
    int hi = tq_hex_value(hex[i]), lo = tq_hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      tq_fail("Invalid hex digit");
      return;
    }
    if (db_pos == db_size) {
      tq_fail("Buffer already full; 'db load N' starts over");
      return;
    }
    db_buf[db_pos++] = (uint8_t)(hi << 4 | lo);
    if (db_pos == db_size) {
      tq_say("m-load-done");
      return; /* like EEMBC: digits after the last byte are ignored */
    }
  }
}

static void cmd_db(char **argv, int argc) {
  if (argc < 2) {
    tq_fail("Command 'db' requires a subcommand");
  } else if (strcmp(argv[1], "load") == 0) {
    db_load(argc > 2 ? argv[2] : 0);
  } else if (strcmp(argv[1], "print") == 0) {
    db_print();
  } else {
    db_append(argv[1]);
  }
}

/* --- inference ------------------------------------------------------------------------------ */

/* Fills in_buf from the db buffer; `mlperf` applies the benchmark's input conversion. */
static int load_input(int mlperf) {
  if (db_pos != db_size || db_size == 0) {
    tq_fail("No complete input loaded ('db load N', then db lines)");
    return 0;
  }
#if TQ_DUT_INPUT_MODE == TQ_DUT_INPUT_FLOAT
  if (mlperf && db_pos == 4u * TQ_DUT_INPUT_ELEMENTS) {
    for (uint32_t i = 0; i < TQ_DUT_INPUT_ELEMENTS; ++i) {
      float f;
      memcpy(&f, db_buf + 4 * i, 4);
      float v = f / TQ_DUT_INPUT_SCALE;
      int32_t q = (int32_t)(v + (v >= 0.0f ? 0.5f : -0.5f)) + TQ_DUT_INPUT_ZERO_POINT;
      in_buf[i] = (uint8_t)(int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
    }
    return 1;
  }
#endif
  if (db_pos != TQ_MODEL_INPUT_BYTES) {
    tq_puts("e-[Loaded ");
    tq_put_u64(db_pos);
    tq_say(" bytes; the model takes " TQ_STR(TQ_MODEL_INPUT_BYTES) "]");
    return 0;
  }
  memcpy(in_buf, db_buf, TQ_MODEL_INPUT_BYTES);
#if TQ_DUT_INPUT_MODE == TQ_DUT_INPUT_UINT8
  if (mlperf)
    for (uint32_t i = 0; i < TQ_MODEL_INPUT_BYTES; ++i) in_buf[i] ^= 0x80u; /* u - 128 as int8 */
#else
  (void)mlperf;
#endif
  return 1;
}

static int invoke(void) {
  int status = TQ_MODEL_INVOKE_V(inputs, outputs);
  have_outputs = 1;
  return status;
}

uint8_t *tq_dut_input(void) { return in_buf; }

int tq_dut_invoke(void) { return invoke(); }

void tq_dut_db_clear(void) { db_size = db_pos = 0; }

static void say_status(int status) {
  tq_puts("e-[Invoke returned ");
  tq_put_u64((uint64_t)(uint32_t)status);
  tq_say("]");
}

static float output_value(const tq_dut_output_t *o, uint32_t i) {
  const uint8_t *p = out_buf + o->offset;
  int32_t q;
  if (o->type == TQ_DUT_INT8) {
    q = (int8_t)p[i];
  } else if (o->type == TQ_DUT_UINT8) {
    q = p[i];
  } else if (o->type == TQ_DUT_INT16) {
    int16_t v;
    memcpy(&v, p + 2 * i, 2);
    q = v;
  } else if (o->type == TQ_DUT_INT32) {
    memcpy(&q, p + 4 * i, 4);
  } else {
    float f;
    memcpy(&f, p + 4 * i, 4);
    return f;
  }
  return (float)(q - o->zero_point) * o->scale;
}

#if TQ_DUT_RESULTS_MSE
static float input_value(uint32_t i) {
  if (db_pos == 4u * TQ_DUT_INPUT_ELEMENTS) {
    float f;
    memcpy(&f, db_buf + 4 * i, 4);
    return f;
  }
  return (float)((int8_t)in_buf[i] - TQ_DUT_INPUT_ZERO_POINT) * TQ_DUT_INPUT_SCALE;
}

static void put_results(void) {
  float sum = 0.0f;
  for (uint32_t i = 0; i < tq_dut_outputs[0].count; ++i) {
    float d = output_value(&tq_dut_outputs[0], i) - input_value(i);
    sum += d * d;
  }
  tq_put_milli(sum / (float)tq_dut_outputs[0].count);
}
#else
static void put_results(void) {
  const char *sep = "";
  for (int k = 0; k < TQ_DUT_NUM_OUTPUTS; ++k) {
    for (uint32_t i = 0; i < tq_dut_outputs[k].count; ++i) {
      tq_puts(sep);
      tq_put_milli(output_value(&tq_dut_outputs[k], i));
      sep = ",";
    }
  }
}
#endif

static void cmd_results(char **argv, int argc) {
  (void)argv;
  (void)argc;
  if (!have_outputs) {
    tq_fail("No inference has run yet");
    return;
  }
  tq_puts("m-results-[");
  put_results();
  tq_say("]");
}

/* "infer N [W]" counts: N >= 1 (default 1), W >= 0 (default `w_default`); 0 on a bad count. */
static int parse_runs(char **argv, int argc, int32_t w_default, int32_t *n, int32_t *w) {
  *n = argc > 1 ? tq_parse_count(argv[1], MAX_COUNT) : 1;
  *w = argc > 2 ? tq_parse_count(argv[2], MAX_COUNT) : w_default;
  if (*n <= 0) {
    tq_fail("Inference iterations must be >0");
    return 0;
  }
  if (*w < 0) {
    tq_fail("Inference warmup must be >=0");
    return 0;
  }
  return 1;
}

static void cmd_infer(char **argv, int argc) {
  int32_t n, w;
  int status = 0;
  if (!parse_runs(argv, argc, DEFAULT_WARMUPS, &n, &w) || !load_input(1)) return;
  say_number("m-warmup-start-", (uint32_t)w);
  while (w-- > 0) status |= invoke();
  tq_say("m-warmup-done");
  say_number("m-infer-start-", (uint32_t)n);
  say_number("m-lap-us-", micros());
  while (n-- > 0) status |= invoke();
  say_number("m-lap-us-", micros());
  tq_say("m-infer-done");
  if (status) say_status(status);
  cmd_results(argv, 0);
}

static void say_outputs(void) {
  tq_puts("m-tinyq-outputs-[");
  tq_put_hex_bytes(out_buf, TQ_MODEL_OUTPUT_BYTES);
  tq_say("]");
}

/* The invoke's -1: a CIRCULAR_BUFFER between its runs ended it early, as TFLM's kTfLiteAbort
 * does; not a failure, but its outputs are an older invoke's. */
#define INVOKE_ENDED_EARLY (-1)

/* Every timed run alone, so the host gets a distribution, not just a mean. A run that ends
 * early ends the reply with its ticks and m-tinyq-ended-early-[run], without outputs. */
static void cmd_tinyq_infer(char **argv, int argc) {
  int32_t n, w;
  int changed = 0;
  if (!parse_runs(argv, argc, 0, &n, &w) || !load_input(0)) return;
  while (w-- > 0) {
    int status = invoke();
    if (status && status != INVOKE_ENDED_EARLY) {
      say_status(status);
      return;
    }
  }
  for (int32_t r = 0; r < n; ++r) {
    uint64_t start = tq_timer_ticks();
    int status = TQ_MODEL_INVOKE_V(inputs, outputs);
    uint64_t ticks = tq_timer_ticks() - start;
    have_outputs = 1;
    if (status == INVOKE_ENDED_EARLY) {
      say_number("m-tinyq-ticks-", ticks);
      tq_puts("m-tinyq-ended-early-[");
      tq_put_u64((uint64_t)r);
      tq_say("]");
      return;
    }
    if (status) {
      say_status(status);
      return;
    }
    say_number("m-tinyq-ticks-", ticks);
    if (r == 0)
      memcpy(first_out, out_buf, TQ_MODEL_OUTPUT_BYTES);
    else
      changed |= memcmp(first_out, out_buf, TQ_MODEL_OUTPUT_BYTES) != 0;
  }
  if (changed) tq_fail("Outputs changed between runs of the same input");
  say_outputs();
}

static void cmd_tinyq_outputs(char **argv, int argc) {
  (void)argv;
  (void)argc;
  if (have_outputs)
    say_outputs();
  else
    tq_fail("No inference has run yet");
}

static void cmd_tinyq(char **argv, int argc) {
  (void)argv;
  (void)argc;
  tq_say("m-tinyq-model-[" TQ_MODEL_NAME "]");
  tq_say("m-tinyq-hash-[" TQ_DUT_MODEL_HASH "]");
  tq_say("m-tinyq-board-[" TQ_BOARD_NAME "]");
  tq_say("m-tinyq-mlperf-[" TQ_DUT_MLPERF_MODEL "]");
  tq_say("m-tinyq-arena-[" TQ_STR(TQ_DUT_ARENA_BYTES) "]");
  tq_say("m-tinyq-input-bytes-[" TQ_STR(TQ_MODEL_INPUT_BYTES) "]");
  tq_say("m-tinyq-output-bytes-[" TQ_STR(TQ_MODEL_OUTPUT_BYTES) "]");
  tq_say("m-tinyq-db-bytes-[" TQ_STR(TQ_DUT_DB_BYTES) "]");
  tq_say("m-tinyq-tick-hz-[" TQ_STR(TQ_TICK_HZ) "]");
  tq_say("m-tinyq-clock-hz-[" TQ_STR(TQ_DUT_CLOCK_HZ) "]");
  tq_say("m-tinyq-qemu-[" TQ_STR(TQ_DUT_QEMU_ICOUNT_SHIFT) "]");
}

/* --- command loop --------------------------------------------------------------------------- */

typedef void (*command_fn)(char **argv, int argc);

static const struct {
  const char *name;
  command_fn run;
} COMMANDS[] = {
    {"name", cmd_name},       {"profile", cmd_profile}, {"timestamp", cmd_timestamp},
    {"help", cmd_help},       {"db", cmd_db},           {"infer", cmd_infer},
    {"results", cmd_results}, {"tinyq", cmd_tinyq},     {"tinyq-infer", cmd_tinyq_infer},
    {"tinyq-outputs", cmd_tinyq_outputs}, {"tinyq-inputs", tq_capture_inputs},
    {"tinyq-capture", tq_capture_run},
};

/* Reads up to '%'; returns the length, or -1 when the line was too long (then discarded). */
static int read_line(void) {
  int len = 0, too_long = 0;
  for (;;) {
    int c = tq_io_getc();
    if (c == '%') break;
    if (len == 0 && (c == ' ' || c == '\r' || c == '\n')) continue; /* keystrokes between commands */
    if (len == LINE_MAX)
      too_long = 1;
    else
      line[len++] = (char)(c >= ' ' && c < 127 ? c : '?'); /* never echo control bytes back */
  }
  line[len] = 0;
  return too_long ? -1 : len;
}

static int split(char **argv) {
  int argc = 0;
  for (char *p = line; *p && argc < ARGS_MAX;) {
    while (*p == ' ') *p++ = 0;
    if (!*p) break;
    argv[argc++] = p;
    while (*p && *p != ' ') ++p;
  }
  return argc;
}

/* Commands of a firmware built with more than the model (tq_pipeline_dut.c: a streaming
 * classifier): nonzero when it handled the command. */
__attribute__((weak)) int tq_dut_extension(char **argv, int argc) {
  (void)argv;
  (void)argc;
  return 0;
}

static void dispatch(void) {
  char *argv[ARGS_MAX];
  int argc = split(argv);
  if (argc == 0) return; /* a bare '%': just m-ready, a cheap way for a host to resync */
  for (unsigned i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; ++i) {
    if (strcmp(argv[0], COMMANDS[i].name) == 0) {
      COMMANDS[i].run(argv, argc);
      return;
    }
  }
  if (tq_dut_extension(argv, argc)) return;
  tq_puts("e-[Unknown command: ");
  tq_puts(argv[0]);
  tq_say("]");
}

void tq_dut_run(void) {
  for (int i = 0; i < TQ_MODEL_NUM_INPUTS; ++i) inputs[i] = in_buf + tq_model_input_offset[i];
  for (int i = 0; i < TQ_MODEL_NUM_OUTPUTS; ++i) outputs[i] = out_buf + tq_model_output_offset[i];
  tq_say("m-timestamp-mode-performance");
  tq_say("m-init-done");
  tq_say("m-ready");
  for (;;) {
    if (read_line() < 0)
      tq_fail("Command longer than " TQ_STR(LINE_MAX) " characters");
    else
      dispatch();
    tq_say("m-ready");
  }
}
