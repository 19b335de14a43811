/*
 * aviary_audio.h - decoded audio input (libsndfile) as float samples.
 *
 * Reads every format libsndfile 1.2 reads (WAV, FLAC, Ogg/Vorbis, Opus, MP3,
 * AIFF, ...) at any sample rate and channel count. Samples are float32 in
 * [-1, 1) with libsndfile's normalisation, which for integer PCM is the
 * same as soundfile / torchaudio (int16 / 32768, int24 / 2^23, ...).
 *
 * Ownership: aviary_audio_read*() fills a caller-provided aviary_audio whose
 * `samples` buffer is owned by it; release with aviary_audio_free(). Channel
 * selection (aviary_audio_mono) returns a new malloc'd buffer the caller frees
 * with free().
 */
#ifndef AVIARY_AUDIO_H
#define AVIARY_AUDIO_H

#include "aviary_base.h"
#include "aviary_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_audio {
    float *samples;      /* planar: channel c is samples[c*frames .. (c+1)*frames) */
    int64_t frames;      /* samples per channel (> 0 after a successful read) */
    int channels;        /* >= 1 */
    int sample_rate;     /* Hz, > 0 */
} aviary_audio;

/* How a multi-channel signal becomes the single channel a model sees. */
typedef enum aviary_audio_mix {
    AVIARY_AUDIO_MIX_MEAN = 0,   /* mean over channels (librosa.to_mono; AudioRWKV 2024) */
    AVIARY_AUDIO_MIX_FIRST = 1   /* channel 0 only (kaldi.fbank channel=-1; A-RWKV 2025) */
} aviary_audio_mix;

/* Decode the whole file. Errors (message names `path`): AVIARY_IO if it
 * cannot be opened, AVIARY_FORMAT if libsndfile does not recognise it or it
 * is truncated/corrupt, AVIARY_FORMAT "no audio samples" for an empty file,
 * AVIARY_NOMEM for allocations. On failure `out` is zeroed. */
AVIARY_API aviary_status aviary_audio_read(const char *path, aviary_audio *out);

/* Same, from an in-memory file image (libsndfile virtual I/O). `name` is used
 * in error messages only. The buffer is not retained. */
AVIARY_API aviary_status aviary_audio_read_memory(const void *data, size_t size, const char *name,
                                                  aviary_audio *out);

/* Release the samples and zero the struct. NULL ok. */
AVIARY_API void aviary_audio_free(aviary_audio *a);

/* One channel of `a` as a new buffer of a->frames floats (*out, caller frees
 * with free()). MIX_MEAN sums in double and rounds once. */
AVIARY_API aviary_status aviary_audio_mono(const aviary_audio *a, aviary_audio_mix mix, float **out);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_AUDIO_H */
