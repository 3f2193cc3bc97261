/* A host driver of the streaming glue (firmware/tq_pipeline.c), for tests/test_micro_speech.py.
 * Reads lines from stdin:  "r" reset,  "p <hex>" push those sample bytes,  "c" classify,
 * and prints for "c":  "f <hex of the feature rows>", "o <status> <hex of the outputs>",
 * "n <frames> <best class>"; "p" prints "p <status> <frames>". */
#include <stdio.h>
#include <string.h>

#include "tq_pipeline.h"

static char line[1 << 20];
static uint8_t bytes[1 << 19];
static uint8_t outputs[TQ_PIPELINE_OUTPUT_BYTES];

static void put_hex(const uint8_t *p, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) printf("%02x", p[i]);
}

int main(void) {
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == 'r') {
      tq_pipeline_reset();
    } else if (line[0] == 'p') {
      uint32_t n = 0;
      unsigned value;
      for (const char *h = line + 2; sscanf(h, "%2x", &value) == 1; h += 2) bytes[n++] = (uint8_t)value;
      const int status = tq_pipeline_push(bytes, n / TQ_PIPELINE_SAMPLE_BYTES);
      printf("p %d %u\n", status, (unsigned)tq_pipeline_frames());
    } else if (line[0] == 'c') {
      const int status = tq_pipeline_classify(outputs);
      printf("f ");
      put_hex(tq_pipeline_features(), TQ_PIPELINE_FRAMES * TQ_PIPELINE_FEATURE_BYTES);
      printf("\no %d ", status);
      put_hex(outputs, TQ_PIPELINE_OUTPUT_BYTES);
      printf("\nn %u %u\n", (unsigned)tq_pipeline_frames(), (unsigned)tq_pipeline_best(outputs));
    }
    fflush(stdout);
  }
  return 0;
}
