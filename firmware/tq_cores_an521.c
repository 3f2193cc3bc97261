/* Core 1 of QEMU's mps2-an521 (Arm SSE-200, two Cortex-M33) serving tq_cores_fork/join
 * (model/tq_cores.h, tinyq/plan/cores.py).
 *
 * The SSE-200 holds core 1 in reset while bit 1 of its system control's CPUWAIT register
 * is set; clearing it starts core 1 from the vector table INITSVTOR1 points to (QEMU:
 * hw/misc/iotkit-sysctl.c; Arm's SSE-200 TRM). Core 0 does that at its first fork.
 *
 * The barrier is one mailbox in shared RAM: core 0 writes the job, then bumps `posted`;
 * core 1 runs it and copies `posted` into `done`. Each counter has one writer, a DMB
 * orders the job's data before the counter that publishes it, and SEV/WFE wake the
 * waiting core (in QEMU, WFE hands the turn to the other core). The M33s have no data
 * cache, so a DMB is all the coherence needed. */
#include <stdint.h>

/* model/tq_cores.h's declarations (a model without a split op has no such file) */
typedef void (*tq_core_job_t)(void);
void tq_cores_fork(tq_core_job_t job);
void tq_cores_join(void);

#define SYSCTL_BASE 0x50021000u /* SSE-200 system control, secure alias */
#define SYSCTL_INITSVTOR1 (*(volatile uint32_t *)(SYSCTL_BASE + 0x114u))
#define SYSCTL_CPUWAIT (*(volatile uint32_t *)(SYSCTL_BASE + 0x118u))
#define CPUWAIT_CORE1 (1u << 1)
#define CORE1_STACK_WORDS 512 /* 2 KB: the reference kernels' frames are a few hundred bytes */

void HardFault_Handler(void); /* tq_startup.c: reports the fault on the console and exits */
static void core1_reset(void);

static uint64_t core1_stack[CORE1_STACK_WORDS / 2];

/* Core 1's own vector table: its stack, its entry and the fault handlers. It takes no
 * interrupt, so the table stops there; VTOR wants it aligned to the full table's size. */
__attribute__((aligned(512))) static const uintptr_t core1_vectors[8] = {
    (uintptr_t)(core1_stack + CORE1_STACK_WORDS / 2), (uintptr_t)core1_reset,
    (uintptr_t)HardFault_Handler, (uintptr_t)HardFault_Handler, (uintptr_t)HardFault_Handler,
    (uintptr_t)HardFault_Handler, (uintptr_t)HardFault_Handler, (uintptr_t)HardFault_Handler,
};

static struct {
  tq_core_job_t job;
  volatile uint32_t posted; /* written by core 0 */
  volatile uint32_t done;   /* written by core 1 */
} mailbox;
static uint32_t core1_started;

static inline void dmb(void) { __asm__ volatile("dmb" ::: "memory"); }
static inline void sev(void) { __asm__ volatile("dsb\n\tsev" ::: "memory"); }
static inline void wfe(void) { __asm__ volatile("wfe" ::: "memory"); }

/* Core 1 waits here between jobs (the bench leaves these instructions out of its counts). */
__attribute__((noinline)) uint32_t tq_cores_core1_wait(uint32_t done) {
  while (mailbox.posted == done) wfe();
  dmb();
  return mailbox.posted;
}

__attribute__((noreturn)) static void core1_reset(void) {
  uint32_t done = 0;
  for (;;) {
    const uint32_t posted = tq_cores_core1_wait(done);
    mailbox.job();
    dmb();
    mailbox.done = done = posted;
    sev();
  }
}

void tq_cores_fork(tq_core_job_t job) {
  mailbox.job = job;
  dmb();
  mailbox.posted = mailbox.posted + 1;
  sev();
  if (!core1_started) {
    core1_started = 1;
    SYSCTL_INITSVTOR1 = (uint32_t)(uintptr_t)core1_vectors;
    dmb();
    SYSCTL_CPUWAIT &= ~CPUWAIT_CORE1;
  }
}

/* Core 0 waits here for core 1 (left out of the bench's counts, as core 1's wait). */
__attribute__((noinline)) void tq_cores_join(void) {
  while (mailbox.done != mailbox.posted) wfe();
  dmb();
}
