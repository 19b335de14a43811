/* audio_rwkv_input.c - AudioRWKV front ends cut to the model window
 * (aviary_audio_rwkv_input.h), on aviary_audio / aviary_resample /
 * aviary_spectrogram. */
#include <math.h>
#include <stdio.h>
#include "aviary/aviary_audio_rwkv_input.h"
#include "aviary/aviary_resample.h"
#include "aviary/aviary_spectrogram.h"
#include "aviary/aviary_tagging.h"
#include "internal.h"

struct aviary_audio_rwkv_input {
    aviary_audio_rwkv_variant variant;
    aviary_audio_rwkv_input_params p;
    aviary_spectrogram_params sp_p;
    aviary_spectrogram *sp;
    aviary_resample_params rp;
    int64_t window, min_samples, frames;
    int n_mels;
    float *padded;   /* 2024: window samples (zero tail) */
    float *spec;     /* frames of the full window spectrogram */
};

aviary_audio_rwkv_input_params aviary_audio_rwkv_input_default_params(aviary_audio_rwkv_variant variant) {
    aviary_audio_rwkv_input_params p = {32000, AVIARY_AUDIO_MIX_MEAN, 0.0, 1.0};
    if (variant == AVIARY_AUDIO_RWKV_2025) {
        p.mix = AVIARY_AUDIO_MIX_FIRST;
        p.norm_mean = -4.421761;
        p.norm_std = 4.32408;
    }
    return p;
}

void aviary_audio_rwkv_input_free(aviary_audio_rwkv_input *in) {
    if (!in) return;
    aviary_spectrogram_free(in->sp);
    free(in->padded);
    free(in->spec);
    free(in);
}

aviary_status aviary_audio_rwkv_input_create(const aviary_audio_rwkv_info *info,
                                             const aviary_audio_rwkv_input_params *params,
                                             aviary_audio_rwkv_input **out) {
    if (!out) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_input_create: out is NULL");
    *out = NULL;
    if (!info) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_input_create: info is NULL");
    aviary_audio_rwkv_input_params p = params ? *params : aviary_audio_rwkv_input_default_params(info->variant);
    if (p.sample_rate < 8000 || p.sample_rate > 384000)
        return aviary_error(AVIARY_INVALID_ARG, "AudioRWKV input: sample rate %d Hz out of range", p.sample_rate);
    if (!(p.norm_std > 0) || !isfinite(p.norm_mean))
        return aviary_error(AVIARY_INVALID_ARG, "AudioRWKV input: normalisation mean %g / std %g invalid", p.norm_mean,
                            p.norm_std);
    if (info->min_frames < 1 || info->n_mels < 1)
        return aviary_error(AVIARY_INVALID_ARG, "AudioRWKV input: model has %d frames x %d mels", info->min_frames,
                            info->n_mels);
    aviary_audio_rwkv_input *in = calloc(1, sizeof *in);
    if (!in) return aviary_error(AVIARY_NOMEM, "out of memory");
    in->variant = info->variant;
    in->p = p;
    in->frames = info->min_frames;
    in->n_mels = info->n_mels;
    if (info->variant == AVIARY_AUDIO_RWKV_2024) {
        aviary_spectrogram_params_audiorwkv2024(&in->sp_p);
        aviary_resample_params_default(&in->rp, AVIARY_RESAMPLE_KAISER_BEST);
    } else {
        aviary_spectrogram_params_arwkv2025(&in->sp_p);
        aviary_resample_params_default(&in->rp, AVIARY_RESAMPLE_TORCHAUDIO);
    }
    in->sp_p.sample_rate = p.sample_rate;
    in->sp_p.n_mels = info->n_mels;
    aviary_status s = aviary_spectrogram_create(&in->sp_p, &in->sp);
    if (s) {
        aviary_audio_rwkv_input_free(in);
        return s;
    }
    const int64_t hop = in->sp_p.hop_length;
    if (info->variant == AVIARY_AUDIO_RWKV_2024) {
        /* centred frames: 1 + window/hop >= min_frames */
        in->window = (int64_t)info->min_frames * hop;
        in->min_samples = in->sp_p.n_fft;
    } else {
        /* snip_edges: 1 + (window - win)/hop == min_frames */
        in->window = in->sp_p.win_length + (int64_t)(info->min_frames - 1) * hop;
        in->min_samples = in->sp_p.win_length;
    }
    int64_t full = aviary_spectrogram_n_frames(in->sp, in->window);
    in->padded = malloc((size_t)in->window * sizeof(float));
    in->spec = malloc((size_t)(full > in->frames ? full : in->frames) * (size_t)in->n_mels * sizeof(float));
    if (!in->padded || !in->spec) {
        aviary_audio_rwkv_input_free(in);
        return aviary_error(AVIARY_NOMEM, "out of memory");
    }
    *out = in;
    return AVIARY_OK;
}

int aviary_audio_rwkv_input_rate(const aviary_audio_rwkv_input *in) { return in ? in->p.sample_rate : 0; }
int64_t aviary_audio_rwkv_input_window(const aviary_audio_rwkv_input *in) { return in ? in->window : 0; }
int64_t aviary_audio_rwkv_input_min_samples(const aviary_audio_rwkv_input *in) { return in ? in->min_samples : 0; }
int64_t aviary_audio_rwkv_input_frames(const aviary_audio_rwkv_input *in) { return in ? in->frames : 0; }
int aviary_audio_rwkv_input_mels(const aviary_audio_rwkv_input *in) { return in ? in->n_mels : 0; }

aviary_status aviary_audio_rwkv_input_resample(const aviary_audio_rwkv_input *in, const float *x, int64_t n, int rate,
                                               float **out, int64_t *n_out) {
    if (!in || !x || !out || !n_out) return aviary_error(AVIARY_INVALID_ARG, "AudioRWKV input: NULL argument");
    return aviary_resample(&in->rp, x, n, rate, in->p.sample_rate, out, n_out);
}

aviary_status aviary_audio_rwkv_input_waveform(const aviary_audio_rwkv_input *in, const aviary_audio *a,
                                               const char *name, float **wave, int64_t *n) {
    if (!in || !a || !wave || !n) return aviary_error(AVIARY_INVALID_ARG, "AudioRWKV input: NULL argument");
    *wave = NULL;
    *n = 0;
    if (!name) name = "audio";
    if (a->frames < 1 || a->channels < 1 || a->sample_rate < 1)
        return aviary_error(AVIARY_FORMAT, "%s: no audio samples", name);
    /* refuse before resampling: the length at the model rate is known */
    double secs = (double)a->frames / a->sample_rate;
    int64_t approx = (int64_t)floor(secs * in->p.sample_rate);
    if (approx < in->min_samples)
        return aviary_error(AVIARY_SHAPE, "%s: %.4f s of audio is too short, the model needs at least %.3f s", name,
                            secs, (double)in->min_samples / in->p.sample_rate);
    float *mono = NULL;
    aviary_status s = aviary_audio_mono(a, in->p.mix, &mono);
    if (s) return s;
    s = aviary_resample(&in->rp, mono, a->frames, a->sample_rate, in->p.sample_rate, wave, n);
    free(mono);
    if (s) return s;
    if (*n < in->min_samples) {
        free(*wave);
        *wave = NULL;
        *n = 0;
        return aviary_error(AVIARY_SHAPE, "%s: %.4f s of audio is too short, the model needs at least %.3f s", name,
                            secs, (double)in->min_samples / in->p.sample_rate);
    }
    return AVIARY_OK;
}

aviary_status aviary_audio_rwkv_input_spectrogram(aviary_audio_rwkv_input *in, const float *x, int64_t n, float *spec) {
    if (!in || !x || !spec) return aviary_error(AVIARY_INVALID_ARG, "AudioRWKV input: NULL argument");
    if (n < in->min_samples || n > in->window)
        return aviary_error(AVIARY_SHAPE, "AudioRWKV input: window of %lld samples, expected %lld to %lld",
                            (long long)n, (long long)in->min_samples, (long long)in->window);
    const size_t row = (size_t)in->n_mels * sizeof(float);
    aviary_status s;
    if (in->variant == AVIARY_AUDIO_RWKV_2024) {
        /* PANNs pad_or_truncate: the window is always full length */
        memcpy(in->padded, x, (size_t)n * sizeof(float));
        memset(in->padded + n, 0, (size_t)(in->window - n) * sizeof(float));
        if ((s = aviary_spectrogram_compute(in->sp, in->padded, in->window, in->spec))) return s;
        memcpy(spec, in->spec, (size_t)in->frames * row);
        return AVIARY_OK;
    }
    int64_t frames = aviary_spectrogram_n_frames(in->sp, n);
    if ((s = aviary_spectrogram_compute(in->sp, x, n, in->spec))) return s;
    return aviary_spectrogram_fit_frames(in->spec, frames, in->n_mels, in->frames, 0.0f, in->p.norm_mean,
                                         in->p.norm_std, spec);
}

aviary_status aviary_audio_rwkv_run_windows(const aviary_audio_rwkv *m, aviary_audio_rwkv_input *in, const float *x,
                                            int64_t n, int64_t hop, float *logits, float *pooled, float *span) {
    if (!m || !in || !x) return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_run_windows: NULL argument");
    const aviary_audio_rwkv_info *I = aviary_audio_rwkv_get_info(m);
    if (I->n_mels != in->n_mels || I->min_frames != in->frames || I->variant != in->variant)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_audio_rwkv_run_windows: the input was made for another model");
    const int64_t W = in->window, count = aviary_window_count(n, W, hop), len = n < W ? n : W;
    const double rate = in->p.sample_rate;
    float *spec = malloc((size_t)in->frames * (size_t)in->n_mels * sizeof(float));
    if (!spec) return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s = AVIARY_OK;
    for (int64_t k = 0; k < count && !s; k++) {
        const int64_t st = aviary_window_start(n, W, hop, k);
        aviary_audio_rwkv_outputs o = {NULL, NULL, pooled ? pooled + k * I->n_embd : NULL,
                                       logits ? logits + k * I->n_classes : NULL, NULL};
        if (span) {
            span[2 * k] = (float)(st / rate);
            span[2 * k + 1] = (float)((st + len) / rate);
        }
        s = aviary_audio_rwkv_input_spectrogram(in, x + st, len, spec);
        if (!s) s = aviary_audio_rwkv_forward(m, spec, in->frames, in->n_mels, &o);
    }
    free(spec);
    return s;
}
