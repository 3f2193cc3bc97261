/* Bare-metal entry: bring up the console and the tick counter, then serve the
 * host protocol. A different protocol (e.g. MLPerf Tiny's) replaces tq_harness.c. */
#include "tq_harness.h"
#include "tq_io.h"
#include "tq_timer.h"

int main(void) {
  tq_io_init();
  tq_timer_init();
  return tq_harness_run();
}
