/* Two cores (tinyq/plan/cores.py): core 0 runs the model; for a split op it hands core 1
 * its part of the output, computes its own part, then waits for core 1. The two parts
 * write disjoint bytes of the output, so the order they run in does not change a bit.
 *
 * A board's port defines both functions and builds the model with TQ_CORES_PORT defined
 * (bare metal on QEMU's mps2-an521: firmware/tq_cores_an521.c; the Pico SDK: SIO FIFO;
 * ESP-IDF: a task pinned to core 1). Without a port, tq_cores.c runs core 1's part on
 * the calling core, so the same model code also runs on one core. */
#ifndef TQ_CORES_H
#define TQ_CORES_H

typedef void (*tq_core_job_t)(void);

/* Start `job` on core 1 and return at once. Called by core 0 only, never twice without a join. */
void tq_cores_fork(tq_core_job_t job);
/* Wait until core 1 has finished the job of the last fork; its writes are then visible here. */
void tq_cores_join(void);

#endif
