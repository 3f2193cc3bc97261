/* tinyq's host protocol (text lines over tq_io), spoken by `tinyq run`:
 *
 *   firmware -> host  "tinyq-ready model=<name> in=<N> out=<M> tick_hz=<hz>"
 *   host -> firmware  "i<2N hex digits>"   one record: every input, concatenated
 *   firmware -> host  "r <status> <ticks> <2M hex digits>"   every output
 *   host -> firmware  "f"                  batch: reset the model's state, run every
 *                                          N-byte record of the host file
 *                                          (tq_records.h) in order, one "r" line
 *                                          each, then "d <count> stack=<bytes>"
 *                                          (stack high-water mark); the session ends
 *   host -> firmware  "z"                  reset the model's state; answers "z"
 *   host -> firmware  "h"                  the ready line again (late connections)
 *   host -> firmware  "q"                  firmware answers "tinyq-exit 0", stops
 *   firmware -> host  "e <message>"        a malformed line (then it reads on)
 *
 * Records run in order and a stateful model (LSTM, SVDF) carries its state from one to
 * the next, as TFLM's interpreter does across invoke(): a batch is one sequence that
 * starts from the initial state, "i" records continue the sequence until "z".
 * <ticks> times the invoke call alone, at tick_hz. Hex keeps the lines readable
 * on a terminal and free of control bytes; it costs nothing next to inference. */
#ifndef TQ_HARNESS_H
#define TQ_HARNESS_H

int tq_harness_run(void);

#endif
