/* The streaming classifier's commands in the benchmark firmware (tq_dut.c hands them over through
 * tq_dut_extension). Same framing as the rest of the protocol: commands end with '%', replies are
 * "m-tinyq-<key>-[value]" lines, errors "e-[...]", and tq_dut.c ends every reply with m-ready.
 *
 *   tinyq-pipeline%       m-tinyq-pipeline-[window=480,stride=320,frames=49,feature-bytes=40,
 *                         sample-bytes=2,classes=4]  m-tinyq-labels-[silence,unknown,yes,no]
 *                         m-tinyq-frontend-[name]  m-tinyq-frontend-hash-[16 hex digits]
 *                         m-tinyq-classifier-[name]  m-tinyq-classifier-hash-[...]
 *   tinyq-audio-reset%    m-tinyq-frames-[0]        (the frontend's state and the rows reset)
 *   tinyq-audio <hex>%    the samples' bytes (whole samples, little-endian), pushed through the
 *                         frontend: m-tinyq-frames-[rows since reset]  m-tinyq-frontend-ticks-[T]
 *   tinyq-classify%       m-tinyq-label-[yes]  m-tinyq-class-[2]  m-tinyq-scores-[0.000,...]
 *                         m-tinyq-outputs-[hex of every classifier output]  m-tinyq-frames-[N]
 *                         m-tinyq-classifier-ticks-[T]
 *   tinyq-features%       m-tinyq-features-[hex of the classifier's input rows]
 *   tinyq-capture N%      (tq_capture.h) the classifier's input rows as a record, once new rows came
 *
 * MLPerf Tiny's streaming wake word benchmark (sww01), its UART mode: the runner loads one stride of
 * mono samples with `db load N` / `db <hex>` (tq_dut.c), then
 *   extract_uart_stream%  pushes them through the frontend and runs the classifier:
 *                         m-features-[+a, +b, ...]   the newest feature row (int8 features; empty
 *                                                    until the first window is complete)
 *                         m-activations-[+a, +b, +c] the classifier's scores (int8; else %0.3f)
 * as the reference firmware's th_extract_features_on_chunk prints them. Where the reference takes
 * I2S audio, this firmware has only its UART: the audio is streamed over it (QEMU included).
 */
#include <stdint.h>
#include <string.h>

#include "tq_console.h"
#include "tq_io.h"
#include "tq_pipeline.h"
#include "tq_timer.h"

#define MAX_LINE_BYTES 128 /* a 255-character command holds at most 121 bytes of hex */

int tq_dut_extension(char **argv, int argc); /* tq_dut.h; the batch harness build has no tq_dut.h */
/* tq_dut.c's db buffer; absent (weak: null) from a build without the MLPerf protocol */
const uint8_t *tq_dut_db(uint32_t *bytes) __attribute__((weak));

static uint8_t outputs[TQ_PIPELINE_OUTPUT_BYTES] __attribute__((aligned(16)));
static uint8_t samples[MAX_LINE_BYTES] __attribute__((aligned(16)));

static void say_value(const char *key, uint64_t v) {
  tq_puts("m-tinyq-");
  tq_puts(key);
  tq_puts("-[");
  tq_put_u64(v);
  tq_say("]");
}

static void cmd_pipeline(void) {
  tq_say("m-tinyq-pipeline-[window=" TQ_STR(TQ_PIPELINE_WINDOW) ",stride=" TQ_STR(TQ_PIPELINE_STRIDE)
      ",frames=" TQ_STR(TQ_PIPELINE_FRAMES) ",feature-bytes=" TQ_STR(TQ_PIPELINE_FEATURE_BYTES)
      ",sample-bytes=" TQ_STR(TQ_PIPELINE_SAMPLE_BYTES) ",classes=" TQ_STR(TQ_PIPELINE_CLASSES) "]");
  tq_puts("m-tinyq-labels-[");
  for (uint32_t i = 0; i < TQ_PIPELINE_CLASSES; ++i) {
    if (i) tq_puts(",");
    tq_puts(tq_pipeline_labels[i]);
  }
  tq_say("]");
  tq_say("m-tinyq-frontend-[" TQ_PIPELINE_FRONTEND_NAME "]");
  tq_say("m-tinyq-frontend-hash-[" TQ_PIPELINE_FRONTEND_HASH "]");
  tq_say("m-tinyq-classifier-[" TQ_PIPELINE_CLASSIFIER_NAME "]");
  tq_say("m-tinyq-classifier-hash-[" TQ_PIPELINE_CLASSIFIER_HASH "]");
}

/* Capture mode (tq_capture.h, `tinyq calibrate`): this firmware's sensor is its frontend. A frame is
 * the classifier's input, the rows the frontend computed from the audio sent so far, ready once a new
 * row arrived since the last frame taken. */
static int new_rows;

int tq_sensor_read(uint8_t *input, uint32_t bytes) {
  if (!new_rows || bytes != TQ_PIPELINE_FRAMES * TQ_PIPELINE_FEATURE_BYTES) return 0;
  memcpy(input, tq_pipeline_features(), bytes);
  new_rows = 0;
  return 1;
}

static void cmd_audio(const char *hex) {
  const uint32_t digits = (uint32_t)strlen(hex);
  if (digits % (2 * TQ_PIPELINE_SAMPLE_BYTES) != 0 || digits / 2 > MAX_LINE_BYTES) {
    tq_fail("tinyq-audio takes whole samples, at most 128 bytes, as hex digits");
    return;
  }
  for (uint32_t i = 0; i < digits; i += 2) {
    const int hi = tq_hex_value(hex[i]), lo = tq_hex_value(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      tq_fail("Invalid hex digit");
      return;
    }
    samples[i / 2] = (uint8_t)(hi << 4 | lo);
  }
  const uint32_t before = tq_pipeline_frames();
  const uint64_t start = tq_timer_ticks();
  const int status = tq_pipeline_push(samples, digits / 2 / TQ_PIPELINE_SAMPLE_BYTES);
  const uint64_t ticks = tq_timer_ticks() - start;
  new_rows |= tq_pipeline_frames() != before;
  if (status != 0) {
    tq_puts("e-[Frontend invoke returned ");
    tq_put_u64((uint64_t)(uint32_t)status);
    tq_say("]");
    return;
  }
  say_value("frames", tq_pipeline_frames());
  say_value("frontend-ticks", ticks);
}

static void cmd_classify(void) {
  const uint64_t start = tq_timer_ticks();
  const int status = tq_pipeline_classify(outputs);
  const uint64_t ticks = tq_timer_ticks() - start;
  if (status != 0) {
    tq_puts("e-[Classifier invoke returned ");
    tq_put_u64((uint64_t)(uint32_t)status);
    tq_say("]");
    return;
  }
  const uint32_t best = tq_pipeline_best(outputs);
  tq_puts("m-tinyq-label-[");
  tq_puts(tq_pipeline_labels[best]);
  tq_say("]");
  say_value("class", best);
  tq_puts("m-tinyq-scores-[");
  for (uint32_t i = 0; i < TQ_PIPELINE_CLASSES; ++i) {
    if (i) tq_puts(",");
    tq_put_milli(tq_pipeline_score(outputs, i));
  }
  tq_say("]");
  tq_puts("m-tinyq-outputs-[");
  tq_put_hex_bytes(outputs, TQ_PIPELINE_OUTPUT_BYTES);
  tq_say("]");
  say_value("frames", tq_pipeline_frames());
  say_value("classifier-ticks", ticks);
}

static void cmd_features(void) {
  tq_puts("m-tinyq-features-[");
  tq_put_hex_bytes(tq_pipeline_features(), TQ_PIPELINE_FRAMES * TQ_PIPELINE_FEATURE_BYTES);
  tq_say("]");
}

static void put_signed(int v) {
  tq_io_putc(v < 0 ? '-' : '+');
  tq_put_u64((uint64_t)(v < 0 ? -v : v));
}

static void cmd_extract_uart_stream(void) {
  uint32_t bytes = 0;
  const uint8_t *db = tq_dut_db ? tq_dut_db(&bytes) : 0;
  if (db == 0 || bytes == 0 || bytes % TQ_PIPELINE_SAMPLE_BYTES != 0) {
    tq_fail("extract_uart_stream needs whole samples loaded with 'db load N' and 'db <hex>' first");
    return;
  }
  const uint32_t before = tq_pipeline_frames();
  int status = tq_pipeline_push(db, bytes / TQ_PIPELINE_SAMPLE_BYTES);
  new_rows |= tq_pipeline_frames() != before;
  if (status == 0) status = tq_pipeline_classify(outputs);
  if (status != 0) {
    tq_puts("e-[Invoke returned ");
    tq_put_u64((uint64_t)(uint32_t)status);
    tq_say("]");
    return;
  }
  tq_puts("m-features-[");
  if (tq_pipeline_frames() > before || before > 0) {
    const uint8_t *row = tq_pipeline_features() + (TQ_PIPELINE_FRAMES - 1u) * TQ_PIPELINE_FEATURE_BYTES;
    for (uint32_t i = 0; i < TQ_PIPELINE_FEATURE_BYTES; ++i) {
      if (i) tq_puts(", ");
#if TQ_PIPELINE_FEATURE_INT8
      put_signed((int8_t)row[i]);
#else
      put_signed(row[i]);
#endif
    }
  }
  tq_say("]");
  tq_puts("m-activations-[");
  for (uint32_t i = 0; i < TQ_PIPELINE_CLASSES; ++i) {
    if (i) tq_puts(", ");
#if TQ_PIPELINE_SCORE_INT8
    put_signed((int8_t)outputs[i]);
#else
    tq_put_milli(tq_pipeline_score(outputs, i));
#endif
  }
  tq_say("]");
}

int tq_dut_extension(char **argv, int argc) {
  if (strcmp(argv[0], "extract_uart_stream") == 0) {
    cmd_extract_uart_stream();
  } else if (strcmp(argv[0], "tinyq-pipeline") == 0) {
    cmd_pipeline();
  } else if (strcmp(argv[0], "tinyq-audio-reset") == 0) {
    tq_pipeline_reset();
    new_rows = 0;
    say_value("frames", 0);
  } else if (strcmp(argv[0], "tinyq-audio") == 0) {
    if (argc < 2)
      tq_fail("tinyq-audio needs the samples as hex digits");
    else
      cmd_audio(argv[1]);
  } else if (strcmp(argv[0], "tinyq-classify") == 0) {
    cmd_classify();
  } else if (strcmp(argv[0], "tinyq-features") == 0) {
    cmd_features();
  } else {
    return 0;
  }
  return 1;
}
