/*
 * verify_audio_rwkv.c - `aviary verify` for the "audio-rwkv" family
 * (tests/fixtures/README_audio.md): the audio front end of AudioRWKV-2024
 * (mean of channels, resampy kaiser_best, STFT + Slaney mel dB, bn0) and
 * A-RWKV-2025 (channel 0, torchaudio sinc resampler, Kaldi fbank, cut/pad,
 * fixed normalisation), then the encoder outputs.
 *
 * Modes: "frontend" checks only the waveform/spectrogram tensors; "all"
 * (default) also runs the encoder (aviary_audio_rwkv.h) from model.safetensors
 * (or --weights) and checks features/pooled/logits/probs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_audio.h"
#include "aviary/aviary_audio_rwkv.h"
#include "aviary/aviary_resample.h"
#include "aviary/aviary_spectrogram.h"
#include "verify.h"

static const cJSON *cfg_item(const verify_ctx *v, const char *section, const char *key) {
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v->fixture, "config");
    if (section) c = cJSON_GetObjectItemCaseSensitive(c, section);
    return cJSON_GetObjectItemCaseSensitive(c, key);
}

static double cfg_num(const verify_ctx *v, const char *section, const char *key, double dflt) {
    const cJSON *it = cfg_item(v, section, key);
    return cJSON_IsNumber(it) ? it->valuedouble : dflt;
}

/* Front-end constants from config.summary (falling back to the preset). */
static void apply_summary(const verify_ctx *v, aviary_spectrogram_params *p) {
    p->sample_rate = (int)cfg_num(v, "summary", "sample_rate", p->sample_rate);
    p->n_fft = (int)cfg_num(v, "summary", "n_fft", p->n_fft);
    p->win_length = (int)cfg_num(v, "summary", "frame_length", p->win_length);
    p->hop_length = (int)cfg_num(v, "summary", "frame_shift", p->hop_length);
    p->n_mels = (int)cfg_num(v, "summary", "n_mels", p->n_mels);
    p->fmin = cfg_num(v, "summary", "fmin", p->fmin);
    p->fmax = cfg_num(v, "summary", "fmax", p->fmax);
    p->log_floor = cfg_num(v, "summary", "log_floor", p->log_floor);
    p->preemphasis = cfg_num(v, "summary", "preemphasis", p->preemphasis);
}

/* bn0 of the 2024 model (eval): per mel bin affine from running stats. */
static int apply_bn0(verify_ctx *v, float *x, int64_t frames, int n_mels) {
    char path[4096];
    const char *w = v->weights ? v->weights : verify_path(v, "model.safetensors", path, sizeof path);
    aviary_checkpoint *ck = NULL;
    if (aviary_checkpoint_open(w, &ck) != AVIARY_OK) {
        verify_failf(v, "fbank: %s", aviary_errmsg());
        return 1;
    }
    static const char *names[4] = {"sed_model.bn0.running_mean", "sed_model.bn0.running_var", "sed_model.bn0.weight",
                                   "sed_model.bn0.bias"};
    float *vals[4] = {0};
    int rc = 0;
    for (int i = 0; i < 4 && !rc; i++) {
        const aviary_tensor *t = NULL;
        if (aviary_checkpoint_get(ck, names[i], &t) != AVIARY_OK) {
            verify_failf(v, "fbank: %s", aviary_errmsg());
            rc = 1;
        } else if (aviary_tensor_numel(t) != n_mels) {
            verify_failf(v, "fbank: %s has %lld values, want %d", names[i], (long long)aviary_tensor_numel(t), n_mels);
            rc = 1;
        } else if (!(vals[i] = malloc((size_t)n_mels * sizeof(float))) || aviary_tensor_to_f32(t, vals[i]) != AVIARY_OK) {
            verify_failf(v, "fbank: cannot read %s", names[i]);
            rc = 1;
        }
    }
    if (!rc)
        for (int64_t t = 0; t < frames; t++)
            for (int m = 0; m < n_mels; m++) {
                double inv = 1.0 / sqrt((double)vals[1][m] + 1e-5);
                float *e = &x[t * n_mels + m];
                *e = (float)(((double)*e - vals[0][m]) * inv * vals[2][m] + vals[3][m]);
            }
    for (int i = 0; i < 4; i++) free(vals[i]);
    aviary_checkpoint_close(ck);
    return rc;
}

static int frontend_2024(verify_ctx *v, const aviary_audio *a, float **model_in, int64_t *rows, int *cols) {
    float *mono = NULL, *wave = NULL, *spec = NULL;
    aviary_spectrogram *sp = NULL;
    int rc = 1;
    if (aviary_audio_mono(a, AVIARY_AUDIO_MIX_MEAN, &mono) != AVIARY_OK) goto fail;
    aviary_resample_params rp;
    aviary_resample_params_default(&rp, AVIARY_RESAMPLE_KAISER_BEST);
    {
        const cJSON *res = cfg_item(v, NULL, "resampler");
        const cJSON *flt = cJSON_GetObjectItemCaseSensitive(res, "filter");
        const cJSON *it;
        if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(flt, "num_zeros"))) rp.num_zeros = it->valueint;
        if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(flt, "samples_per_zero_crossing"))) {
            int prec = 0;
            while (prec < 30 && (1 << prec) < it->valueint) prec++;
            rp.precision = prec;
        }
        if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(flt, "rolloff"))) rp.rolloff = it->valuedouble;
        if (cJSON_IsNumber(it = cJSON_GetObjectItemCaseSensitive(flt, "kaiser_beta"))) rp.kaiser_beta = it->valuedouble;
    }
    const int sr = (int)cfg_num(v, NULL, "sample_rate", 32000);
    int64_t n = 0;
    if (aviary_resample(&rp, mono, a->frames, a->sample_rate, sr, &wave, &n) != AVIARY_OK) goto fail;
    const int64_t clip = (int64_t)cfg_num(v, NULL, "clip_samples", 320000);
    float *fixed = calloc((size_t)clip, sizeof(float));
    if (!fixed) {
        aviary_error(AVIARY_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(fixed, wave, (size_t)(n < clip ? n : clip) * sizeof(float));
    free(wave);
    wave = fixed;
    verify_compare(v, "waveform", wave, clip, NULL);

    aviary_spectrogram_params sp_p;
    aviary_spectrogram_params_audiorwkv2024(&sp_p);
    apply_summary(v, &sp_p);
    if (aviary_spectrogram_create(&sp_p, &sp) != AVIARY_OK) goto fail;
    int64_t frames = aviary_spectrogram_n_frames(sp, clip);
    spec = malloc((size_t)frames * (size_t)sp_p.n_mels * sizeof(float));
    if (!spec || aviary_spectrogram_compute(sp, wave, clip, spec) != AVIARY_OK) goto fail;
    verify_compare(v, "logmel", spec, frames * sp_p.n_mels, NULL);
    /* the encoder takes the dB log-mel and applies bn0 itself */
    float *bn = malloc((size_t)frames * (size_t)sp_p.n_mels * sizeof(float));
    if (!bn) {
        aviary_error(AVIARY_NOMEM, "out of memory");
        goto fail;
    }
    memcpy(bn, spec, (size_t)frames * (size_t)sp_p.n_mels * sizeof(float));
    if (apply_bn0(v, bn, frames, sp_p.n_mels) == 0) verify_compare(v, "fbank", bn, frames * sp_p.n_mels, NULL);
    free(bn);
    *model_in = spec;
    spec = NULL;
    *rows = frames;
    *cols = sp_p.n_mels;
    rc = 0;
fail:
    if (rc) verify_failf(v, "front end: %s", aviary_errmsg());
    free(mono);
    free(wave);
    free(spec);
    aviary_spectrogram_free(sp);
    return 0;
}

static int frontend_2025(verify_ctx *v, const aviary_audio *a, float **model_in, int64_t *rows, int *cols) {
    float *mono = NULL, *wave = NULL, *spec = NULL, *fit = NULL;
    aviary_spectrogram *sp = NULL;
    int rc = 1;
    if (aviary_audio_mono(a, AVIARY_AUDIO_MIX_FIRST, &mono) != AVIARY_OK) goto fail;
    aviary_resample_params rp;
    aviary_resample_params_default(&rp, AVIARY_RESAMPLE_TORCHAUDIO);
    const int sr = (int)cfg_num(v, NULL, "sample_rate", 32000);
    int64_t n = 0;
    if (aviary_resample(&rp, mono, a->frames, a->sample_rate, sr, &wave, &n) != AVIARY_OK) goto fail;
    verify_compare(v, "waveform_32k", wave, n, NULL);

    aviary_spectrogram_params sp_p;
    aviary_spectrogram_params_arwkv2025(&sp_p);
    apply_summary(v, &sp_p);
    if (aviary_spectrogram_create(&sp_p, &sp) != AVIARY_OK) goto fail;
    verify_compare(v, "mel_banks", aviary_spectrogram_mel_banks(sp),
                   (int64_t)sp_p.n_mels * aviary_spectrogram_n_bins(sp), NULL);
    int64_t frames = aviary_spectrogram_n_frames(sp, n);
    if (frames < 1) {
        aviary_error(AVIARY_INVALID_ARG, "input too short for one frame");
        goto fail;
    }
    spec = malloc((size_t)frames * (size_t)sp_p.n_mels * sizeof(float));
    if (!spec || aviary_spectrogram_compute(sp, wave, n, spec) != AVIARY_OK) goto fail;
    verify_compare(v, "fbank_raw", spec, frames * sp_p.n_mels, NULL);
    const int64_t target = (int64_t)cfg_num(v, NULL, "target_frames", 992);
    const double mean = cfg_num(v, "summary", "normalisation_mean", -4.421761);
    const double std = cfg_num(v, "summary", "normalisation_std", 4.32408);
    const double pad = cfg_num(v, "summary", "pad_value_before_normalisation", 0.0);
    fit = malloc((size_t)target * (size_t)sp_p.n_mels * sizeof(float));
    if (!fit ||
        aviary_spectrogram_fit_frames(spec, frames, sp_p.n_mels, target, (float)pad, mean, std, fit) != AVIARY_OK)
        goto fail;
    verify_compare(v, "fbank", fit, target * sp_p.n_mels, NULL);
    *model_in = fit;
    fit = NULL;
    *rows = target;
    *cols = sp_p.n_mels;
    rc = 0;
fail:
    if (rc) verify_failf(v, "front end: %s", aviary_errmsg());
    free(mono);
    free(wave);
    free(spec);
    free(fit);
    aviary_spectrogram_free(sp);
    return 0;
}

/* The encoder and head on the front end's output: features, pooled, logits, probs. */
static void run_encoder(verify_ctx *v, bool is2024, const float *spec, int64_t rows, int cols) {
    char path[4096];
    const char *w = v->weights ? v->weights : verify_path(v, "model.safetensors", path, sizeof path);
    aviary_checkpoint *ck = NULL;
    aviary_audio_rwkv *m = NULL;
    float *features = NULL, *pooled = NULL, *logits = NULL, *probs = NULL;
    if (aviary_checkpoint_open(w, &ck) != AVIARY_OK || aviary_audio_rwkv_load(ck, cols, &m) != AVIARY_OK) {
        verify_failf(v, "encoder: %s", aviary_errmsg());
        goto done;
    }
    aviary_checkpoint_close(ck);
    ck = NULL;
    const aviary_audio_rwkv_info *I = aviary_audio_rwkv_get_info(m);
    if ((I->variant == AVIARY_AUDIO_RWKV_2024) != is2024) {
        verify_failf(v, "encoder: %s holds an %s checkpoint, the fixture is %s", w,
                     I->variant == AVIARY_AUDIO_RWKV_2024 ? "AudioRWKV-2024" : "A-RWKV-2025",
                     is2024 ? "AudioRWKV-2024" : "A-RWKV-2025");
        goto done;
    }
    int64_t T = (int64_t)I->grid_h * I->grid_w;
    features = malloc((size_t)(T * I->n_embd) * sizeof(float));
    pooled = malloc((size_t)I->n_embd * sizeof(float));
    logits = malloc((size_t)I->n_classes * sizeof(float));
    probs = malloc((size_t)I->n_classes * sizeof(float));
    if (!features || !pooled || !logits || !probs) {
        verify_failf(v, "encoder: out of memory");
        goto done;
    }
    aviary_audio_rwkv_outputs o = {NULL, features, pooled, logits, probs};
    if (aviary_audio_rwkv_forward(m, spec, rows, cols, &o) != AVIARY_OK) {
        verify_failf(v, "encoder: %s", aviary_errmsg());
        goto done;
    }
    verify_compare(v, "features", features, T * I->n_embd, NULL);
    verify_compare(v, "pooled", pooled, I->n_embd, NULL);
    verify_compare(v, "logits", logits, I->n_classes, NULL);
    verify_compare(v, "probs", probs, I->n_classes, NULL);
done:
    aviary_checkpoint_close(ck);
    aviary_audio_rwkv_free(m);
    free(features);
    free(pooled);
    free(logits);
    free(probs);
}

int verify_audio_rwkv(verify_ctx *v) {
    const char *mode = v->mode ? v->mode : "all";
    if (strcmp(mode, "all") && strcmp(mode, "frontend")) {
        fprintf(stderr, "aviary: verify: audio-rwkv modes are 'frontend' and 'all', got '%s'\n", mode);
        return 2;
    }
    const cJSON *variant = cJSON_GetObjectItemCaseSensitive(v->fixture, "variant");
    const char *var = cJSON_IsString(variant) ? variant->valuestring : "";
    bool is2024 = !strcmp(var, "audiorwkv-2024"), is2025 = !strcmp(var, "a-rwkv-2025");
    if (!is2024 && !is2025) {
        fprintf(stderr, "aviary: %s/fixture.json: unknown audio-rwkv variant '%s'\n", v->dir, var);
        return 1;
    }
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(inputs, "audio");
    char path[4096];
    verify_path(v, cJSON_IsString(file) ? file->valuestring : "input.wav", path, sizeof path);
    aviary_audio a;
    if (aviary_audio_read(path, &a) != AVIARY_OK) {
        fprintf(stderr, "aviary: %s\n", aviary_errmsg());
        return 1;
    }
    float *model_in = NULL;
    int64_t rows = 0;
    int cols = 0;
    if (is2024)
        frontend_2024(v, &a, &model_in, &rows, &cols);
    else
        frontend_2025(v, &a, &model_in, &rows, &cols);
    aviary_audio_free(&a);
    if (!strcmp(mode, "all") && model_in) run_encoder(v, is2024, model_in, rows, cols);
    free(model_in);
    return 0;
}
