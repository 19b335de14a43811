/*
 * aviary_audio_rwkv_input.h - what an AudioRWKV model sees, made from audio:
 * the reference front end of each design (aviary_audio_rwkv.h), cut into the
 * model's fixed window.
 *
 *  - AudioRWKV 2024: mean of the channels, resampy kaiser_best to 32 kHz,
 *    the window zero-padded to its length (PANNs pad_or_truncate), centred
 *    STFT with reflect padding, Slaney mel, dB; the model applies bn0.
 *    Window: min_frames * hop samples (320000 = 10 s for the 1000-frame model).
 *  - A-RWKV 2025: channel 0, torchaudio's sinc resampler to 32 kHz, Kaldi
 *    fbank (snip_edges), cut or zero-padded in the log domain to min_frames
 *    rows, then (x - norm_mean) / norm_std. Window: the samples that give
 *    exactly min_frames frames (800 + 991*320 = 317920 for 992 frames).
 *
 * For a clip no longer than the window this is the reference computation
 * (the audio-* fixtures check it). Longer clips are cut into windows by the
 * caller (aviary_tagging.h); each window is processed as if it were a clip.
 *
 * Ownership and threads: an input object owns its FFTW plan and scratch; use
 * one per thread. Buffers returned by *_waveform are malloc'd and owned by
 * the caller (free()).
 */
#ifndef AVIARY_AUDIO_RWKV_INPUT_H
#define AVIARY_AUDIO_RWKV_INPUT_H

#include "aviary_audio.h"
#include "aviary_audio_rwkv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_audio_rwkv_input_params {
    int sample_rate;          /* rate the model was trained at (32000) */
    aviary_audio_mix mix;     /* 2024: MEAN, 2025: FIRST */
    double norm_mean;         /* 2025 only: -4.421761 */
    double norm_std;          /* 2025 only: 4.32408 */
} aviary_audio_rwkv_input_params;

/* The reference settings of `variant`. */
AVIARY_API aviary_audio_rwkv_input_params aviary_audio_rwkv_input_default_params(aviary_audio_rwkv_variant variant);

typedef struct aviary_audio_rwkv_input aviary_audio_rwkv_input;

/* Build the front end for a loaded model (its variant, n_mels, min_frames).
 * params NULL = the variant's defaults. AVIARY_INVALID_ARG for bad values. */
AVIARY_API aviary_status aviary_audio_rwkv_input_create(const aviary_audio_rwkv_info *info,
                                                        const aviary_audio_rwkv_input_params *params,
                                                        aviary_audio_rwkv_input **out);
AVIARY_API void aviary_audio_rwkv_input_free(aviary_audio_rwkv_input *in);

AVIARY_API int aviary_audio_rwkv_input_rate(const aviary_audio_rwkv_input *in);
/* Samples (at the model rate) of one model window. */
AVIARY_API int64_t aviary_audio_rwkv_input_window(const aviary_audio_rwkv_input *in);
/* Shortest accepted input: one analysis frame (1024 samples for 2024,
 * 800 for 2025, at the model rate). */
AVIARY_API int64_t aviary_audio_rwkv_input_min_samples(const aviary_audio_rwkv_input *in);
/* Rows and columns of the spectrogram *_spectrogram writes (min_frames x n_mels). */
AVIARY_API int64_t aviary_audio_rwkv_input_frames(const aviary_audio_rwkv_input *in);
AVIARY_API int aviary_audio_rwkv_input_mels(const aviary_audio_rwkv_input *in);

/* Mix a decoded file to one channel as the design does and resample it to
 * the model rate: *wave (caller frees) holds *n samples. `name` (the file)
 * is used in messages. AVIARY_SHAPE "... s of audio, the model needs at
 * least ..." when the result is shorter than min_samples. */
AVIARY_API aviary_status aviary_audio_rwkv_input_waveform(const aviary_audio_rwkv_input *in, const aviary_audio *a,
                                                          const char *name, float **wave, int64_t *n);
/* Resample one channel x[0..n) at `rate` to the model rate (*out, caller
 * frees). No length check: for stream chunks. */
AVIARY_API aviary_status aviary_audio_rwkv_input_resample(const aviary_audio_rwkv_input *in, const float *x, int64_t n,
                                                          int rate, float **out, int64_t *n_out);

/* The model input for one window x[0..n) at the model rate,
 * min_samples <= n <= window (shorter windows are padded as the reference
 * pads short clips): spec gets frames() * mels() floats, row-major. */
AVIARY_API aviary_status aviary_audio_rwkv_input_spectrogram(aviary_audio_rwkv_input *in, const float *x, int64_t n,
                                                             float *spec);

/* Run model `m` on a whole waveform x[0..n) at the model rate, cut into
 * windows of window() samples starting `hop` samples apart (the layout of
 * aviary_window_count / aviary_window_start in aviary_tagging.h: one window
 * for n <= window, else full windows and a last one ending at n). For each
 * window k, fills (NULL to skip) logits[k][n_classes], pooled[k][n_embd] and
 * span[k] = {start, end} in seconds. The caller sizes the arrays with
 * aviary_window_count(n, window(), hop). */
AVIARY_API aviary_status aviary_audio_rwkv_run_windows(const aviary_audio_rwkv *m, aviary_audio_rwkv_input *in,
                                                       const float *x, int64_t n, int64_t hop, float *logits,
                                                       float *pooled, float *span);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_AUDIO_RWKV_INPUT_H */
