/* One core standing in for two (no TQ_CORES_PORT): core 1's part runs at the fork. */
#include "tq_cores.h"

#ifndef TQ_CORES_PORT
void tq_cores_fork(tq_core_job_t job) { job(); }

void tq_cores_join(void) {}
#else
typedef int tq_cores_port_defines_fork_and_join; /* ISO C forbids an empty translation unit */
#endif
