/* ESP-IDF entry: tinyq's host protocol on the UART0 console. */
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "tq_harness.h"
#include "tq_io.h"
#include "tq_timer.h"

void app_main(void) {
  tq_io_init();
  tq_timer_init();
  tq_harness_run();
  tq_io_exit(0);
}
