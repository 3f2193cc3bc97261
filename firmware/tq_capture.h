/* Capture mode of the benchmark firmware (tq_dut.c): the inputs the model sees, streamed back to the
 * host as records, so calibration data comes from the deployment itself (`tinyq calibrate`).
 *
 *   tinyq-inputs%       one line per model input, in order:
 *                       m-tinyq-input-[<type>,<d0>x<d1>x...,<scale>,<zero point>,<name>]
 *   tinyq-capture N%    N times: a frame from the sensor into the model's input buffer, the record
 *                       m-tinyq-record-[hex of every input's bytes, back to back], then the model runs
 *                       on it, as the application would; then m-tinyq-captured-[frames]
 *
 * The sensor is tq_sensor_read(). A board's application defines it (camera, microphone, the features
 * it computes from them) and the firmware captures whatever it delivers; in a bare-metal project a .c
 * file in the project's model/ folder is linked into the firmware. The weak default is the stand-in
 * for where there is no sensor (QEMU): the frame the host fed over the UART with `db load N` /
 * `db <hex>`, taken once. */
#ifndef TQ_CAPTURE_H
#define TQ_CAPTURE_H

#include <stdint.h>

/* Fills `input` (the model's input bytes, every input back to back) with the next frame; returns 1,
 * or 0 when the sensor has no frame to give. A real sensor may block until it has one. */
int tq_sensor_read(uint8_t *input, uint32_t bytes);

/* The commands (tq_dut.c's command table). */
void tq_capture_inputs(char **argv, int argc);
void tq_capture_run(char **argv, int argc);

/* What tq_dut.c lends the capture: its input buffer, one inference on it (outputs kept for
 * `results`), and forgetting the loaded db buffer once the stand-in sensor has taken it. */
uint8_t *tq_dut_input(void);
int tq_dut_invoke(void);
void tq_dut_db_clear(void);

#endif
