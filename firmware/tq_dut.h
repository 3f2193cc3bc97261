/* The device-under-test protocol of MLPerf Tiny (EEMBC EnergyRunner), spoken by
 * `tinyq bench` and by the official runner alike. Every command ends with '%';
 * every reply ends with the line "m-ready"; errors are "e-[...]" lines.
 *
 *   name%               m-name-dut-[tinyq]
 *   profile%            m-profile-[...]  m-model-[kws01|ic01|ic02|vww01|ad01|sww01|<model>]
 *   timestamp%          m-lap-us-<microseconds>
 *   db load N%          m-[Expecting N bytes]
 *   db <hex>%           (bytes appended) ... m-load-done once N bytes arrived
 *   db print%           m-buffer-xx-xx-... (8 bytes a line)
 *   infer N [W]%        m-warmup-start-W  m-warmup-done  m-infer-start-N  m-lap-us-T0
 *                       m-lap-us-T1  m-infer-done  m-results-[f,f,...]
 *   results%            m-results-[f,f,...]   (dequantized outputs, %0.3f; ad01: the MSE)
 *
 * tinyq's own commands (same framing, "m-tinyq-<key>-[value]" lines):
 *   tinyq%              model, hash (first 16 hex digits of the .tflite's SHA-256),
 *                       board, arena, input-bytes, output-bytes, tick-hz, clock-hz, qemu
 *   tinyq-infer N [W]%  W untimed runs, then N timed ones: one "m-tinyq-ticks-<t>" line each,
 *                       then "m-tinyq-outputs-[hex]" (raw bytes of every output)
 *   tinyq-outputs%      m-tinyq-outputs-[hex] of the last inference
 *   tinyq-inputs%       m-tinyq-input-[type,shape,scale,zero point,name], one per input
 *   tinyq-capture N%    N frames from the sensor: m-tinyq-record-[hex] each, the model run on it
 *                       (capture mode, tq_capture.h: `tinyq calibrate`)
 *
 * `infer` converts the db buffer the way the MLPerf reference firmware does for the
 * benchmark (ic01/vww01: uint8 pixels shifted to int8, ad01: float32 features
 * quantized); `tinyq-infer` always takes the model's raw input bytes. The banner
 * after reset is "m-timestamp-mode-performance", "m-init-done", "m-ready": a host
 * seeing m-init-done mid-command knows the board reset. */
#ifndef TQ_DUT_H
#define TQ_DUT_H

#include <stdint.h>

/* The bytes `db` loaded so far (extensions read their data from there, as MLPerf's sww01 does). */
const uint8_t *tq_dut_db(uint32_t *bytes);

/* Serves commands forever. */
void tq_dut_run(void);

/* Commands beyond the table (the streaming classifier's, tq_pipeline_dut.c); a weak default
 * handles none. Returns nonzero when it answered argv[0]. */
int tq_dut_extension(char **argv, int argc);

#endif
