/* Entry of the benchmark firmware (tinyq flash / tinyq qemu): console and tick
 * counter, then the MLPerf Tiny DUT protocol instead of tinyq's batch harness.
 * The same file serves bare metal, the Pico SDK (main) and ESP-IDF (app_main). */
#include "tq_dut.h"
#include "tq_io.h"
#include "tq_timer.h"

#if defined(ESP_PLATFORM)
void app_main(void) {
  tq_io_init();
  tq_timer_init();
  tq_dut_run();
}
#else
int main(void) {
  tq_io_init();
  tq_timer_init();
  tq_dut_run();
  return 0;
}
#endif
