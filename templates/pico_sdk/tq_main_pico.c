/* Pico SDK entry: console on USB CDC and UART0, then tinyq's host protocol. */
#include "pico/stdlib.h"
#include "tq_harness.h"
#include "tq_io.h"
#include "tq_timer.h"

int main(void) {
  tq_io_init();
  tq_timer_init();
  tq_harness_run();
  tq_io_exit(0);
  return 0;
}
