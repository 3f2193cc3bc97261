/* Force-included into host builds: routes the model's TQ_TRACE hook to the harness. */
#ifndef TQ_HOST_TRACE_H
#define TQ_HOST_TRACE_H
void tq_host_trace(int op, int tensor, const void *ptr, int bytes);
#define TQ_TRACE(op, tensor, ptr, bytes) tq_host_trace((op), (tensor), (ptr), (bytes))
#endif
