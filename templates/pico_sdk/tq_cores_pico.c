/* The RP2040's second Cortex-M0+ serving tq_cores_fork/join (tinyq/plan/cores.py).
 *
 * Core 1 is started at the first fork with the SDK's multicore_launch_core1 and then
 * waits on the SIO FIFO from core 0: each job is one word (its function), and core 1
 * answers with one word when the job is done. The FIFO is the barrier: a push from one
 * core becomes visible to the other after its own writes (the SIO is on the single-cycle
 * IOPORT, and the RP2040 caches no SRAM), and both ends sleep in WFE until it moves. */
#include <stdint.h>

#include "pico/multicore.h"

/* model/tq_cores.h's declarations (a model without a split op has no such file) */
typedef void (*tq_core_job_t)(void);
void tq_cores_fork(tq_core_job_t job);
void tq_cores_join(void);

#define TQ_CORES_DONE 1u

static void core1_main(void) {
  for (;;) {
    tq_core_job_t job = (tq_core_job_t)(uintptr_t)multicore_fifo_pop_blocking();
    job();
    multicore_fifo_push_blocking(TQ_CORES_DONE);
  }
}

void tq_cores_fork(tq_core_job_t job) {
  static int started;
  if (!started) {
    started = 1;
    multicore_launch_core1(core1_main); /* the SDK's handshake also goes through the FIFO: before our first job */
  }
  multicore_fifo_push_blocking((uint32_t)(uintptr_t)job);
}

void tq_cores_join(void) { (void)multicore_fifo_pop_blocking(); }
