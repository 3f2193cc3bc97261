#ifndef TQ_SIGNAL_FFT_H
#define TQ_SIGNAL_FFT_H
#include <stdint.h>

/* TFLM's signal-library FFTs: KISS FFT v130 as TFLM builds it (FIXED_POINT 16 / 32 and float),
 * its arithmetic repeated step for step. The tables come from tinyq/ops/signal_kissfft.py. */
typedef struct {
  int32_t n;               /* complex points: fft_length / 2 */
  int32_t stages;          /* entries of factors / 2 */
  const int32_t *factors;  /* kf_factor's radix p, remaining length m per stage, outermost first */
  const uint16_t *order;   /* kf_work's input order: the complex FFT's point k reads input order[k] */
  int32_t inverse;         /* the substate's inverse flag: kf_bfly4's other rotation */
} tq_kissfft_plan_t;

typedef struct { int16_t r, i; } tq_cpx_s16_t;
typedef struct { int32_t r, i; } tq_cpx_s32_t;
typedef struct { float r, i; } tq_cpx_f32_t;

/* kiss_fftr: `length` samples (zero padded to 2n) -> n + 1 complex bins. scratch: n complex values. */
void tq_signal_rfft_s16(const tq_kissfft_plan_t *plan, const tq_cpx_s16_t *twiddles, const tq_cpx_s16_t *super,
                        const int16_t *input, int32_t length, tq_cpx_s16_t *output, tq_cpx_s16_t *scratch);
void tq_signal_rfft_s32(const tq_kissfft_plan_t *plan, const tq_cpx_s32_t *twiddles, const tq_cpx_s32_t *super,
                        const int32_t *input, int32_t length, tq_cpx_s32_t *output, tq_cpx_s32_t *scratch);
void tq_signal_rfft_f32(const tq_kissfft_plan_t *plan, const tq_cpx_f32_t *twiddles, const tq_cpx_f32_t *super,
                        const float *input, int32_t length, tq_cpx_f32_t *output, tq_cpx_f32_t *scratch);

/* kiss_fftri: n + 1 complex bins -> 2n samples (the float kernel then divides by 2n, as TFLM's
 * IrfftFloatApply). scratch: n complex values. */
void tq_signal_irfft_s16(const tq_kissfft_plan_t *plan, const tq_cpx_s16_t *twiddles, const tq_cpx_s16_t *super,
                         const tq_cpx_s16_t *input, int16_t *output, tq_cpx_s16_t *scratch);
void tq_signal_irfft_s32(const tq_kissfft_plan_t *plan, const tq_cpx_s32_t *twiddles, const tq_cpx_s32_t *super,
                         const tq_cpx_s32_t *input, int32_t *output, tq_cpx_s32_t *scratch);
void tq_signal_irfft_f32(const tq_kissfft_plan_t *plan, const tq_cpx_f32_t *twiddles, const tq_cpx_f32_t *super,
                         const tq_cpx_f32_t *input, float *output, tq_cpx_f32_t *scratch);

/* TFLM's FftAutoScale: shift the samples up to use int16's range; returns the shift. */
int32_t tq_signal_fft_auto_scale(const int16_t *input, int16_t *output, int32_t count);

#endif
