/*
 * aviary_spectrogram.h - log-mel spectrogram front ends (FFTW), configurable
 * by a params struct so one object serves AudioRWKV-2024 (torchlibrosa STFT
 * + Slaney mel + dB), A-RWKV-2025 (torchaudio.compliance.kaldi.fbank) and
 * whisper-style front ends.
 *
 * Pipeline per frame (each step switched by params):
 *   framing: center=true pads n_fft/2 on both sides (reflect, edge sample not
 *     repeated) and takes 1 + N/hop frames of n_fft samples, window centred;
 *     center=false ("snip_edges") takes 1 + (N - win_length)/hop frames of
 *     win_length samples;
 *   remove_dc (subtract the frame mean), pre-emphasis y[i] = x[i] - c*x[i-1]
 *     with x[-1] = x[0], window, zero-pad to n_fft, |rfft|^2 (n_fft/2+1 bins);
 *   mel: n_mels triangles on the Slaney or HTK (Kaldi 1127*ln(1+f/700)) scale,
 *     Slaney-area normalised or peak 1 (Kaldi also zeroes the Nyquist bin);
 *   log: 10*log10(max(x, floor)) - 10*log10(max(floor, ref)) with optional
 *     top_db clipping, or ln(max(x, floor)).
 * Precision: framing, DC removal, pre-emphasis and windowing in float64,
 * the FFT in float32 (fftw3f, like the float32 references), power, mel and
 * log in float64; output float32, row-major [n_frames][n_mels]. On the
 * audio-rwkv fixtures this uses at most 27% of the 1e-4 tolerances.
 *
 * Thread safety: FFTW plans are created once per object under a global
 * mutex (FFTW's planner is not thread-safe). One aviary_spectrogram may be
 * used by one thread at a time; create one per thread for parallel use.
 */
#ifndef AVIARY_SPECTROGRAM_H
#define AVIARY_SPECTROGRAM_H

#include "aviary_base.h"
#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aviary_window {
    AVIARY_WINDOW_HANN_PERIODIC = 0,   /* 0.5 - 0.5 cos(2 pi i / N) (scipy get_window('hann')) */
    AVIARY_WINDOW_HANN_SYMMETRIC = 1,  /* 0.5 - 0.5 cos(2 pi i / (N-1)) (Kaldi "hanning") */
    AVIARY_WINDOW_POVEY = 2,           /* (0.5 - 0.5 cos(2 pi i / (N-1)))^0.85 */
    AVIARY_WINDOW_HAMMING = 3,         /* 0.54 - 0.46 cos(2 pi i / (N-1)) (Kaldi) */
    AVIARY_WINDOW_RECTANGULAR = 4
} aviary_window;

typedef enum aviary_mel_scale {
    AVIARY_MEL_SLANEY = 0,   /* librosa htk=False */
    AVIARY_MEL_HTK = 1       /* 2595 log10(1+f/700) == 1127 ln(1+f/700) */
} aviary_mel_scale;

typedef enum aviary_mel_layout {
    AVIARY_MEL_LIBROSA = 0,  /* librosa.filters.mel: triangles on linspace(0, sr/2, n_fft/2+1) */
    AVIARY_MEL_KALDI = 1     /* kaldi get_mel_banks: slopes in mel units, Nyquist bin weight 0 */
} aviary_mel_layout;

typedef enum aviary_log_kind {
    AVIARY_LOG_DB = 0,       /* 10*log10 */
    AVIARY_LOG_LN = 1,       /* natural log */
    AVIARY_LOG_NONE = 2      /* linear mel energies */
} aviary_log_kind;

typedef struct aviary_spectrogram_params {
    int sample_rate;          /* Hz the input is at (32000) */
    int n_fft;                /* FFT size (1024) */
    int win_length;           /* window samples, <= n_fft (1024 / 800) */
    int hop_length;           /* frame shift (320) */
    aviary_window window;
    bool center;              /* true: reflect-pad n_fft/2 each side; false: snip_edges framing */
    bool remove_dc;           /* subtract each frame's mean (Kaldi) */
    double preemphasis;       /* 0 = off; Kaldi 0.97 */
    int n_mels;               /* 64 / 128 */
    double fmin, fmax;        /* Hz; fmax <= 0 means sample_rate/2 + fmax (Kaldi convention) */
    aviary_mel_scale mel_scale;
    aviary_mel_layout mel_layout;
    bool slaney_norm;         /* scale each triangle by 2/(f_right - f_left) */
    aviary_log_kind log;
    double log_floor;         /* amin: 1e-10 (dB) / 1.1920929e-07 (ln) */
    double db_ref;            /* dB reference (1.0) */
    double top_db;            /* <= 0: no clipping */
} aviary_spectrogram_params;

/* Presets: exact front ends of the two AudioRWKV designs. */
AVIARY_API void aviary_spectrogram_params_audiorwkv2024(aviary_spectrogram_params *p);
AVIARY_API void aviary_spectrogram_params_arwkv2025(aviary_spectrogram_params *p);

typedef struct aviary_spectrogram aviary_spectrogram;

/* Validate `p` (AVIARY_INVALID_ARG naming the field) and build the window,
 * filterbank and FFT plan. */
AVIARY_API aviary_status aviary_spectrogram_create(const aviary_spectrogram_params *p, aviary_spectrogram **out);
AVIARY_API void aviary_spectrogram_free(aviary_spectrogram *s);

/* Frames produced for n input samples (0 if n is too short for snip_edges). */
AVIARY_API int64_t aviary_spectrogram_n_frames(const aviary_spectrogram *s, int64_t n);
AVIARY_API int aviary_spectrogram_n_mels(const aviary_spectrogram *s);
AVIARY_API int aviary_spectrogram_n_bins(const aviary_spectrogram *s); /* n_fft/2 + 1 */

/* The mel filterbank as applied, [n_mels][n_bins] float32 (borrowed). */
AVIARY_API const float *aviary_spectrogram_mel_banks(const aviary_spectrogram *s);

/* Compute the log-mel spectrogram of x[0..n) into out (caller-provided,
 * n_frames(n) * n_mels floats). AVIARY_INVALID_ARG if the input is too short
 * for one frame (the message says how many samples are needed) or, with
 * center=true, shorter than n_fft/2+1 (reflect padding needs it). */
AVIARY_API aviary_status aviary_spectrogram_compute(aviary_spectrogram *s, const float *x, int64_t n, float *out);

/* Cut or pad [n_frames][n_mels] to [target][n_mels] (the first `target`
 * rows are kept; missing rows are `pad_value`), then apply
 * (v - mean) / std to every element (std == 0 is an error; pass mean 0,
 * std 1 for none). out holds target*n_mels floats and may not alias in. */
AVIARY_API aviary_status aviary_spectrogram_fit_frames(const float *in, int64_t n_frames, int n_mels, int64_t target,
                                                       float pad_value, double mean, double std, float *out);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_SPECTROGRAM_H */
