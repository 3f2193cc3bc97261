/* The ESP32-S3's second core (APP_CPU) serving tq_cores_fork/join (tinyq/plan/cores.py).
 *
 * A FreeRTOS task pinned to core 1 runs the jobs; app_main (tinyq's harness) stays on
 * core 0. Each handover is a direct-to-task notification: fork notifies the core-1 task,
 * which runs the job and notifies the task that forked; join blocks on that. Between
 * jobs the core-1 task blocks, so core 1's idle task (and the task watchdog) keep running.
 * The notifications are the memory barrier (FreeRTOS's critical sections), and the two
 * cores share internal SRAM coherently, where the arena is. */
#include <stdint.h>

#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

/* model/tq_cores.h's declarations (a model without a split op has no such file) */
typedef void (*tq_core_job_t)(void);
void tq_cores_fork(tq_core_job_t job);
void tq_cores_join(void);

#define TQ_CORE1_STACK_BYTES 4096 /* the reference kernels' frames are a few hundred bytes */

static TaskHandle_t core1_task;
static TaskHandle_t forked_by;
static volatile tq_core_job_t pending;

static void core1_loop(void *unused) {
  (void)unused;
  for (;;) {
    ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
    pending();
    xTaskNotifyGive(forked_by);
  }
}

void tq_cores_fork(tq_core_job_t job) {
  if (core1_task == NULL) {
    xTaskCreatePinnedToCore(core1_loop, "tq_core1", TQ_CORE1_STACK_BYTES, NULL, configMAX_PRIORITIES - 1,
                            &core1_task, 1);
  }
  forked_by = xTaskGetCurrentTaskHandle();
  pending = job;
  xTaskNotifyGive(core1_task);
}

void tq_cores_join(void) { ulTaskNotifyTake(pdTRUE, portMAX_DELAY); }
