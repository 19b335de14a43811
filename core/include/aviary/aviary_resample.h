/*
 * aviary_resample.h - band-limited sample-rate conversion that reproduces two
 * reference resamplers sample for sample (within float32 rounding):
 *
 *  - AVIARY_RESAMPLE_TORCHAUDIO: torchaudio.functional.resample /
 *    transforms.Resample defaults (Hann-windowed sinc "sinc_interp_hann",
 *    lowpass_filter_width 6, rolloff 0.99). Rates are reduced by their gcd to
 *    o -> n; the kernel has n phases of 2*width+o taps, width =
 *    ceil(6*o/(0.99*min(o,n))). Like torchaudio, the phase term -j/n is
 *    rounded to float32 before being added to the float64 tap position, and
 *    the kernel is stored as float32. Output length ceil(n*N/o).
 *  - AVIARY_RESAMPLE_KAISER_BEST: resampy.resample(filter='kaiser_best') as
 *    librosa 0.8 load(sr=...) calls it. The half-window table is computed
 *    from its formula: rolloff*sinc(rolloff*t)*kaiser(beta), t = i/2^precision
 *    over num_zeros zero crossings (parameters in aviary_resample_params).
 *    The output buffer is float32 and every tap's contribution is added in
 *    double and rounded to float32, as resampy's numba loop does. Output
 *    length int(N*new/orig), then zero-padded to ceil(N*new/orig) (librosa
 *    fix_length).
 *
 * All functions are thread-safe (no shared state).
 */
#ifndef AVIARY_RESAMPLE_H
#define AVIARY_RESAMPLE_H

#include "aviary_base.h"
#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aviary_resample_method {
    AVIARY_RESAMPLE_TORCHAUDIO = 0,
    AVIARY_RESAMPLE_KAISER_BEST = 1
} aviary_resample_method;

typedef struct aviary_resample_params {
    aviary_resample_method method;
    /* torchaudio */
    int lowpass_filter_width;   /* 6 */
    double rolloff;             /* 0.99 (torchaudio) / 0.917347 (kaiser_best) */
    /* resampy */
    int num_zeros;              /* 50 */
    int precision;              /* 13 -> 2^13 table samples per zero crossing */
    double kaiser_beta;         /* 12.9846 */
} aviary_resample_params;

/* Fill `p` with the defaults of `method` (values above). */
AVIARY_API void aviary_resample_params_default(aviary_resample_params *p, aviary_resample_method method);

/* Number of output samples for n input samples. */
AVIARY_API int64_t aviary_resample_out_len(const aviary_resample_params *p, int64_t n, int orig_rate,
                                           int new_rate);

/* Resample x[0..n) from orig_rate to new_rate into a new malloc'd buffer
 * (*out, caller frees with free()) of *n_out samples. Equal rates copy.
 * AVIARY_INVALID_ARG for non-positive rates/lengths or bad parameters. */
AVIARY_API aviary_status aviary_resample(const aviary_resample_params *p, const float *x, int64_t n,
                                         int orig_rate, int new_rate, float **out, int64_t *n_out);

/* resampy's half-window table (num_zeros*2^precision+1 doubles, caller frees
 * with free()) for the given parameters; exposed for tests. */
AVIARY_API aviary_status aviary_resample_kaiser_table(const aviary_resample_params *p, double **table,
                                                      int64_t *n_table);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_RESAMPLE_H */
