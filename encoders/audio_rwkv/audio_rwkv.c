/* audio_rwkv.c - AudioRWKV encoder plugins.
 *
 * Built twice (CMakeLists.txt): as "audio_rwkv" with
 * Input  "audio" (PATH, modality audio): any file libsndfile reads, any rate
 *        and channel count;
 * and, with AUDIO_RWKV_WAVEFORM defined, as "audio_rwkv_wave" with
 * Input  "waveform" (TENSOR [channels, samples], any real dtype, planar, in
 *        [-1, 1]) at the rate given by option "sample_rate", for stages that
 *        produce samples rather than files. Both then do the same:
 * Output "logits"     [windows, classes]: the model's head output per window.
 * Output "embeddings" [windows, dim]: the pooled encoder output per window
 *        (2024: mean of LayerNorm(tokens); 2025: LayerNorm(mean(tokens))).
 * Output "windows"    [windows, 2]: start and end of each window in seconds.
 *
 * The design (2024 or 2025) comes from the checkpoint's tensor names; option
 * "variant" only asserts it. A clip no longer than the model window (10 s)
 * is one window, processed exactly as the reference does; longer clips are
 * cut into windows overlapping by "overlap" (aviary_tagging.h layout) and
 * each window is processed as a clip. Everything numeric is libaviary's.
 */
#include <stdlib.h>
#include <string.h>
#include <aviary/aviary_audio.h>
#include <aviary/aviary_audio_rwkv.h>
#include <aviary/aviary_audio_rwkv_input.h>
#include <aviary/aviary_plugin.h>
#include <aviary/aviary_tagging.h>

typedef struct audio_rwkv {
    aviary_audio_rwkv *model;
    aviary_audio_rwkv_input *input;
    double overlap;
    int64_t max_windows;
    int sample_rate;      /* audio_rwkv_wave: rate of the input tensor */
} audio_rwkv;

static const aviary_option_spec options[] = {
    {"variant", AVIARY_OPT_STRING, "auto", "auto (from the checkpoint), 2024 (AudioRWKV/VRWKV6) or 2025 (A-RWKV); a mismatch is an error"},
    {"precision", AVIARY_OPT_STRING, "auto", "matmul weights: auto (as stored), f32, bf16 or int8"},
    {"overlap", AVIARY_OPT_FLOAT, "0.5", "clips longer than the model window: fraction by which windows overlap, 0 to 0.9"},
    {"max_windows", AVIARY_OPT_INT, "360", "refuse clips needing more windows than this (bounds time and memory)"},
#ifdef AUDIO_RWKV_WAVEFORM
    {"sample_rate", AVIARY_OPT_INT, NULL, "sample rate of the input waveform, Hz"},
#endif
};

static const aviary_port_spec inputs[] = {
#ifdef AUDIO_RWKV_WAVEFORM
    {"waveform", AVIARY_PORT_TENSOR, AVIARY_MODALITY_AUDIO, AVIARY_DTYPE_ANY, "[channels, samples]",
     "samples in [-1, 1], one row per channel, at options.sample_rate"},
#else
    {"audio", AVIARY_PORT_PATH, AVIARY_MODALITY_AUDIO, AVIARY_F32, NULL, "audio file (WAV, FLAC, Ogg, Opus, MP3, ...)"},
#endif
};

static const aviary_port_spec outputs[] = {
    {"logits", AVIARY_PORT_TENSOR, AVIARY_MODALITY_SCORES, AVIARY_F32, "[windows, classes]",
     "head logits per window (probabilities = sigmoid)"},
    {"embeddings", AVIARY_PORT_TENSOR, AVIARY_MODALITY_FEATURES, AVIARY_F32, "[windows, dim]",
     "pooled encoder output per window"},
    {"windows", AVIARY_PORT_TENSOR, AVIARY_MODALITY_TENSOR, AVIARY_F32, "[windows, 2]",
     "start and end of each window, seconds"},
};

static void destroy(void *inst) {
    audio_rwkv *p = inst;
    if (!p) return;
    aviary_audio_rwkv_free(p->model);
    aviary_audio_rwkv_input_free(p->input);
    free(p);
}

static aviary_status create(const aviary_plugin_create_args *a, void **instance) {
    *instance = NULL;
    if (!a->weights) return aviary_error(AVIARY_CONFIG, "audio_rwkv needs a \"weights\" file (an AudioRWKV checkpoint)");
    const char *var = aviary_option_find(a, "variant")->s, *prec = aviary_option_find(a, "precision")->s;
    int want = !strcmp(var, "auto") ? -1 : !strcmp(var, "2024") ? AVIARY_AUDIO_RWKV_2024
                                          : !strcmp(var, "2025") ? AVIARY_AUDIO_RWKV_2025 : -2;
    if (want == -2) return aviary_error(AVIARY_CONFIG, "options.variant: expected auto, 2024 or 2025, got '%s'", var);
    aviary_weight_type wt;
    if (aviary_weight_type_parse(prec, &wt))
        return aviary_error(AVIARY_CONFIG, "options.precision: expected auto, f32, bf16 or int8, got '%s'", prec);
    double overlap = aviary_option_find(a, "overlap")->f;
    if (!(overlap >= 0 && overlap <= 0.9))
        return aviary_error(AVIARY_CONFIG, "options.overlap: expected a number from 0 to 0.9, got %g", overlap);
    int64_t maxw = aviary_option_find(a, "max_windows")->i;
    if (maxw < 1) return aviary_error(AVIARY_CONFIG, "options.max_windows: expected a positive integer");
    int rate = 0;
#ifdef AUDIO_RWKV_WAVEFORM
    int64_t r = aviary_option_find(a, "sample_rate")->i;
    if (r < 1000 || r > 768000)
        return aviary_error(AVIARY_CONFIG, "options.sample_rate: expected 1000 to 768000 Hz, got %lld", (long long)r);
    rate = (int)r;
#endif
    audio_rwkv *p = calloc(1, sizeof *p);
    if (!p) return aviary_error(AVIARY_NOMEM, "out of memory");
    p->overlap = overlap;
    p->max_windows = maxw;
    p->sample_rate = rate;
    aviary_status s = aviary_audio_rwkv_load_weights(a->weights, 0, wt, &p->model);
    if (s) {
        destroy(p);
        return s;
    }
    const aviary_audio_rwkv_info *I = aviary_audio_rwkv_get_info(p->model);
    if (want >= 0 && (int)I->variant != want) {
        const char *is = I->variant == AVIARY_AUDIO_RWKV_2024 ? "AudioRWKV-2024" : "A-RWKV-2025";
        destroy(p); /* I is freed with the model */
        return aviary_error(AVIARY_CONFIG, "%s: options.variant is %s but the checkpoint is an %s model", a->weights_path,
                            var, is);
    }
    if ((s = aviary_audio_rwkv_input_create(I, NULL, &p->input))) {
        destroy(p);
        return s;
    }
    *instance = p;
    return AVIARY_OK;
}

static aviary_status run(void *inst, const aviary_value *in, aviary_value *out) {
    audio_rwkv *p = inst;
    const aviary_audio_rwkv_info *I = aviary_audio_rwkv_get_info(p->model);
    float *wave = NULL;
    int64_t n = 0;
#ifdef AUDIO_RWKV_WAVEFORM
    const char *path = "waveform";
    const aviary_tensor *t = &in[0].tensor;
    aviary_audio a = {NULL, t->shape[1], (int)t->shape[0], p->sample_rate};
    if (t->shape[0] < 1 || t->shape[0] > 1024 || t->shape[1] < 1)
        return aviary_error(AVIARY_SHAPE, "waveform: %lld channels x %lld samples", (long long)t->shape[0],
                            (long long)t->shape[1]);
    if (!(a.samples = malloc((size_t)aviary_tensor_numel(t) * sizeof(float))))
        return aviary_error(AVIARY_NOMEM, "out of memory");
    aviary_status s = aviary_tensor_to_f32(t, a.samples);
    if (!s) s = aviary_audio_rwkv_input_waveform(p->input, &a, path, &wave, &n);
    free(a.samples);
#else
    const char *path = in[0].text;
    aviary_audio a;
    aviary_status s = aviary_audio_read(path, &a);
    if (s) return s;
    s = aviary_audio_rwkv_input_waveform(p->input, &a, path, &wave, &n);
    aviary_audio_free(&a);
#endif
    if (s) return s;
    const int64_t W = aviary_audio_rwkv_input_window(p->input), hop = aviary_window_hop(W, p->overlap);
    const int64_t count = aviary_window_count(n, W, hop);
    const double rate = aviary_audio_rwkv_input_rate(p->input);
    if (count > p->max_windows) {
        s = aviary_error(AVIARY_SHAPE, "%s: %.1f s of audio needs %lld windows, more than options.max_windows = %lld",
                         path, (double)n / rate, (long long)count, (long long)p->max_windows);
        goto done;
    }
    int64_t ls[2] = {count, I->n_classes}, es[2] = {count, I->n_embd}, ws[2] = {count, 2};
    if ((s = aviary_tensor_alloc(&out[0].tensor, AVIARY_F32, 2, ls)) ||
        (s = aviary_tensor_alloc(&out[1].tensor, AVIARY_F32, 2, es)) ||
        (s = aviary_tensor_alloc(&out[2].tensor, AVIARY_F32, 2, ws)))
        goto done;
    s = aviary_audio_rwkv_run_windows(p->model, p->input, wave, n, hop, out[0].tensor.data, out[1].tensor.data,
                                      out[2].tensor.data);
done:
    free(wave);
    return s;
}

static const aviary_plugin_descriptor desc = {
    AVIARY_PLUGIN_DESCRIPTOR_HEADER,
#ifdef AUDIO_RWKV_WAVEFORM
    .name = "audio_rwkv_wave",
    .description = "AudioRWKV (2024 VRWKV6 / 2025 A-RWKV): waveform tensor -> spectrogram -> bidirectional RWKV -> logits per window",
#else
    .name = "audio_rwkv",
    .description = "AudioRWKV (2024 VRWKV6 / 2025 A-RWKV): audio file -> spectrogram -> bidirectional RWKV -> logits per window",
#endif
    .kind = AVIARY_PLUGIN_ENCODER,
    .version = "1.0.0",
    .n_options = sizeof options / sizeof options[0],
    .options = options,
    .n_inputs = 1,
    .inputs = inputs,
    .n_outputs = 3,
    .outputs = outputs,
    .create = create,
    .run = run,
    .destroy = destroy,
};

AVIARY_PLUGIN_DEFINE(desc);
