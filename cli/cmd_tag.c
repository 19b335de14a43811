/* cmd_tag.c - `aviary tag`: AudioSet tags for audio files with an AudioRWKV
 * pipeline (encoders/audio_rwkv + heads/audio_tagging).
 *
 *   aviary tag -c PIPELINE.json AUDIO... [--top-k N] [--json] [--overlap F]
 *              [--aggregate max|mean] [--threads N]
 *   aviary tag -c PIPELINE.json --stream (-|FILE) [--rate HZ] [--channels N]
 *              [--format s16le|f32le] [--idle SEC] ...
 *
 * The pipeline is validated by the same loader `aviary run` uses (plugins,
 * options, files); then this command reads the two stages' weights and
 * options and runs libaviary's pieces directly (aviary_audio_rwkv*.h,
 * aviary_tagging.h), which are exactly what the plugins run.
 *
 * Long clips: windows of the model's length (10 s) overlapping by --overlap
 * (default: the encoder's "overlap" option, 0.5); the last window ends at
 * the end of the clip. Each window is tagged as a clip of its own and the
 * per-window probabilities are aggregated by max (default: a sound counts if
 * any window hears it, like AudioSet's clip-level labels) or mean.
 *
 * --stream: audio arrives on stdin ("-") or in a file that is still being
 * written (followed like tail -f until --idle seconds pass without new
 * data). Raw PCM (--rate, --channels, --format), or a WAV stream whose header
 * gives them. Windows are tagged and printed as soon as they are complete;
 * memory holds one window plus one hop of samples, whatever the length.
 * Each window is resampled on its own (file mode resamples the whole clip
 * first), so values at window edges can differ slightly from file mode.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "aviary/aviary_audio.h"
#include "aviary/aviary_audio_rwkv.h"
#include "aviary/aviary_audio_rwkv_input.h"
#include "aviary/aviary_pipeline.h"
#include "aviary/aviary_tagging.h"
#include "cli.h"

#define MAX_FILES 256

typedef struct tag_opts {
    const char *pipeline;
    const char *files[MAX_FILES];
    int n_files;
    long top_k, threads, rate, channels;
    double overlap, idle;
    bool json, stream, top_k_set, overlap_set, agg_set;
    aviary_aggregate agg;
    const char *format;
} tag_opts;

/* What the two stages of the pipeline say. */
typedef struct tag_pipe {
    char weights[4096], labels[4096];
    aviary_weight_type precision;
    int variant;         /* -1 auto, else aviary_audio_rwkv_variant */
    double overlap;
    long top_k;
    aviary_aggregate agg;
} tag_pipe;

typedef struct tagger {
    aviary_audio_rwkv *model;
    aviary_audio_rwkv_input *input;
    aviary_label_list *labels;   /* or NULL */
    const aviary_audio_rwkv_info *info;
    float *spec, *logits, *probs, *agg;
    size_t *idx;
    size_t top_k;
} tagger;

static void usage(FILE *f) {
    fprintf(f,
            "usage: aviary tag -c PIPELINE.json AUDIO... [options]\n"
            "  Prints the most likely AudioSet labels of each audio file (any format and rate\n"
            "  libsndfile reads) with an AudioRWKV pipeline (examples/audio-tagging/).\n"
            "  --top-k N          labels shown (default: the head's top_k, else 5)\n"
            "  --json             print one JSON document (JSON lines with --stream)\n"
            "  --overlap F        clips longer than the model window (10 s) are cut into\n"
            "                     windows overlapping by F, 0 to 0.9 (default: the encoder's\n"
            "                     overlap option, else 0.5); results per window and aggregated\n"
            "  --aggregate MODE   max (default: a sound counts if any window hears it) or mean\n"
            "  --threads N        compute threads (default: all cores)\n"
            "  --stream           tag audio as it arrives, printing each window when complete:\n"
            "                     AUDIO is '-' (stdin) or a file still being written\n"
            "    --rate HZ        raw PCM sample rate (not needed for a WAV stream)\n"
            "    --channels N     raw PCM channels (default 1)\n"
            "    --format F       raw PCM samples: s16le (default) or f32le\n"
            "    --idle SEC       a growing file ends after SEC s without new data (default 5)\n");
}

/* ------------------------------------------------------------ pipeline */

/* Validate with the pipeline loader, then read the stages' settings (the
 * loader has checked their types and values already). */
static int load_pipe(const char *pf, tag_pipe *tp) {
    aviary_plugin_registry *reg = NULL;
    aviary_pipeline *pl = NULL;
    aviary_status s = aviary_plugin_registry_open(NULL, &reg);
    if (!s) s = aviary_pipeline_load(pf, reg, &pl);
    aviary_pipeline_free(pl);
    aviary_plugin_registry_free(reg);
    if (s) return cli_fail_status(s);
    size_t len = 0;
    char *text = cli_read_file(pf, &len);
    if (!text) return cli_fail("%s: cannot read the pipeline file (%s)", pf, strerror(errno));
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return cli_fail("%s: not valid JSON", pf);
    int rc = 0, enc = -1, head = -1, si = 0;
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages"), *st;
    cJSON_ArrayForEach(st, stages) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(st, "plugin");
        if (cJSON_IsString(p) && !strcmp(p->valuestring, "audio_rwkv") && enc < 0) enc = si;
        if (cJSON_IsString(p) && !strcmp(p->valuestring, "audio_tagging") && head < 0) head = si;
        si++;
    }
    tp->precision = AVIARY_WEIGHTS_AUTO;
    tp->variant = -1;
    tp->overlap = 0.5;
    tp->top_k = 5;
    tp->agg = AVIARY_AGGREGATE_MAX;
    tp->labels[0] = 0;
    if (enc < 0) {
        rc = cli_fail("%s: stages: a tagging pipeline needs an 'audio_rwkv' encoder stage", pf);
        goto out;
    }
    const cJSON *es = cJSON_GetArrayItem(stages, enc);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(es, "weights");
    if (!cJSON_IsString(w)) {
        rc = cli_fail("%s: stages[%d].weights: expected the AudioRWKV checkpoint file", pf, enc);
        goto out;
    }
    cli_resolve_path(pf, w->valuestring, tp->weights, sizeof tp->weights);
    const cJSON *eo = cJSON_GetObjectItemCaseSensitive(es, "options"), *j;
    if ((j = cJSON_GetObjectItemCaseSensitive(eo, "precision")) && cJSON_IsString(j))
        aviary_weight_type_parse(j->valuestring, &tp->precision);
    if ((j = cJSON_GetObjectItemCaseSensitive(eo, "variant")) && cJSON_IsString(j))
        tp->variant = !strcmp(j->valuestring, "2024") ? AVIARY_AUDIO_RWKV_2024
                      : !strcmp(j->valuestring, "2025") ? AVIARY_AUDIO_RWKV_2025 : -1;
    if ((j = cJSON_GetObjectItemCaseSensitive(eo, "overlap")) && cJSON_IsNumber(j)) tp->overlap = j->valuedouble;
    if (head >= 0) {
        const cJSON *ho = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(stages, head), "options");
        if ((j = cJSON_GetObjectItemCaseSensitive(ho, "labels")) && cJSON_IsString(j) && j->valuestring[0])
            cli_resolve_path(pf, j->valuestring, tp->labels, sizeof tp->labels);
        if ((j = cJSON_GetObjectItemCaseSensitive(ho, "top_k")) && cJSON_IsNumber(j)) tp->top_k = (long)j->valuedouble;
        if ((j = cJSON_GetObjectItemCaseSensitive(ho, "aggregate")) && cJSON_IsString(j))
            aviary_aggregate_parse(j->valuestring, &tp->agg);
    }
out:
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------ tagger */

static void tagger_free(tagger *t) {
    aviary_audio_rwkv_free(t->model);
    aviary_audio_rwkv_input_free(t->input);
    aviary_label_list_free(t->labels);
    free(t->spec);
    free(t->logits);
    free(t->probs);
    free(t->agg);
    free(t->idx);
}

static int tagger_init(tagger *t, const tag_pipe *tp, size_t top_k) {
    memset(t, 0, sizeof *t);
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(tp->weights, &ck);
    if (!s) s = aviary_audio_rwkv_load_weights(ck, 0, tp->precision, &t->model);
    aviary_checkpoint_close(ck);
    if (s) return cli_fail_status(s);
    t->info = aviary_audio_rwkv_get_info(t->model);
    if (tp->variant >= 0 && (int)t->info->variant != tp->variant)
        return cli_fail("%s: the pipeline asks for variant %s but the checkpoint is an %s model", tp->weights,
                        tp->variant == AVIARY_AUDIO_RWKV_2024 ? "2024" : "2025",
                        t->info->variant == AVIARY_AUDIO_RWKV_2024 ? "AudioRWKV-2024" : "A-RWKV-2025");
    if ((s = aviary_audio_rwkv_input_create(t->info, NULL, &t->input))) return cli_fail_status(s);
    if (tp->labels[0]) {
        if ((s = aviary_label_list_read(tp->labels, &t->labels))) return cli_fail_status(s);
        if (aviary_label_list_count(t->labels) != (size_t)t->info->n_classes)
            return cli_fail("%s: %zu labels, the model has %d classes", tp->labels, aviary_label_list_count(t->labels),
                            t->info->n_classes);
    }
    const size_t K = (size_t)t->info->n_classes;
    t->top_k = top_k < K ? top_k : K;
    t->spec = malloc((size_t)aviary_audio_rwkv_input_frames(t->input) * (size_t)aviary_audio_rwkv_input_mels(t->input) *
                     sizeof(float));
    t->logits = malloc(K * sizeof(float));
    t->probs = malloc(K * sizeof(float));
    t->agg = malloc(K * sizeof(float));
    t->idx = malloc(K * sizeof(size_t));
    if (!t->spec || !t->logits || !t->probs || !t->agg || !t->idx) return cli_fail("out of memory");
    return 0;
}

/* Probabilities of one window x[0..n) at the model rate into t->probs. */
static aviary_status tag_window(tagger *t, const float *x, int64_t n) {
    aviary_audio_rwkv_outputs o = {NULL, NULL, NULL, t->logits, t->probs};
    aviary_status s = aviary_audio_rwkv_input_spectrogram(t->input, x, n, t->spec);
    if (!s)
        s = aviary_audio_rwkv_forward(t->model, t->spec, aviary_audio_rwkv_input_frames(t->input),
                                      aviary_audio_rwkv_input_mels(t->input), &o);
    return s;
}

static const char *label_of(const tagger *t, size_t i, char *buf, size_t n) {
    if (t->labels) return aviary_label_list_name(t->labels, i);
    snprintf(buf, n, "class %zu", i);
    return buf;
}

/* The top-k of p as a JSON array. */
static void json_top(const tagger *t, const float *p) {
    char nb[32];
    size_t k = aviary_scores_top_k(p, (size_t)t->info->n_classes, t->top_k, t->idx);
    putchar('[');
    for (size_t i = 0; i < k; i++) {
        size_t c = t->idx[i];
        printf("%s{\"index\": %zu, \"label\": ", i ? ", " : "", c);
        cli_json_string(stdout, label_of(t, c, nb, sizeof nb));
        if (t->labels && aviary_label_list_id(t->labels, c)[0]) {
            printf(", \"mid\": ");
            cli_json_string(stdout, aviary_label_list_id(t->labels, c));
        }
        printf(", \"prob\": %.6f}", (double)p[c]);
    }
    putchar(']');
}

static void text_top(const tagger *t, const float *p) {
    char nb[32];
    size_t k = aviary_scores_top_k(p, (size_t)t->info->n_classes, t->top_k, t->idx);
    for (size_t i = 0; i < k; i++) printf("  %.4f  %s\n", (double)p[t->idx[i]], label_of(t, t->idx[i], nb, sizeof nb));
}

static void text_window_line(const tagger *t, int64_t k, double t0, double t1, const float *p) {
    char nb[32];
    size_t n = aviary_scores_top_k(p, (size_t)t->info->n_classes, t->top_k < 3 ? t->top_k : 3, t->idx);
    printf("  window %lld  %.2f-%.2f s:", (long long)k, t0, t1);
    for (size_t i = 0; i < n; i++)
        printf("%s %s %.3f", i ? "," : "", label_of(t, t->idx[i], nb, sizeof nb), (double)p[t->idx[i]]);
    printf("\n");
}

static bool all_zero(const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++)
        if (x[i] != 0.0f) return false;
    return true;
}

/* ------------------------------------------------------------ files */

static int tag_file(tagger *t, const tag_opts *o, const char *path, bool first) {
    aviary_audio a;
    aviary_status s = aviary_audio_read(path, &a);
    if (s) return cli_fail_status(s);
    float *wave = NULL, *wp = NULL;
    int64_t n = 0;
    s = aviary_audio_rwkv_input_waveform(t->input, &a, path, &wave, &n);
    aviary_audio_free(&a);
    if (s) return cli_fail_status(s);
    const size_t K = (size_t)t->info->n_classes;
    const double rate = aviary_audio_rwkv_input_rate(t->input);
    const int64_t W = aviary_audio_rwkv_input_window(t->input), hop = aviary_window_hop(W, o->overlap);
    const int64_t count = aviary_window_count(n, W, hop);
    int rc = 0;
    if (all_zero(wave, n)) fprintf(stderr, "aviary: %s: the audio is silent (every sample is 0)\n", path);
    wp = malloc((size_t)count * K * sizeof(float));
    if (!wp) {
        rc = cli_fail("%s: out of memory for %lld windows", path, (long long)count);
        goto done;
    }
    if ((s = aviary_audio_rwkv_run_windows(t->model, t->input, wave, n, hop, wp, NULL, NULL))) {
        rc = cli_fail_status(s);
        goto done;
    }
    for (size_t i = 0; i < (size_t)count * K; i++) wp[i] = 1.0f / (1.0f + expf(-wp[i]));
    aviary_scores_aggregate(wp, (size_t)count, K, o->agg, t->agg);
    if (o->json) {
        printf("%s{\"file\": ", first ? "" : ",\n  ");
        cli_json_string(stdout, path);
        printf(", \"seconds\": %.3f, \"windows\": [", (double)n / rate);
        for (int64_t k = 0; k < count; k++) {
            int64_t st = aviary_window_start(n, W, hop, k), len = n < W ? n : W;
            printf("%s{\"start\": %.3f, \"end\": %.3f, \"top\": ", k ? ", " : "", st / rate, (st + len) / rate);
            json_top(t, wp + k * K);
            printf("}");
        }
        printf("], \"top\": ");
        json_top(t, t->agg);
        printf("}");
    } else {
        printf("%s: %.2f s", path, (double)n / rate);
        if (count > 1)
            printf(", %lld windows of %.2f s (overlap %.2f), %s over windows", (long long)count, W / rate, o->overlap,
                   aviary_aggregate_name(o->agg));
        printf("\n");
        text_top(t, t->agg);
        if (count > 1)
            for (int64_t k = 0; k < count; k++) {
                int64_t st = aviary_window_start(n, W, hop, k);
                text_window_line(t, k, st / rate, (st + W) / rate, wp + k * K);
            }
    }
done:
    free(wave);
    free(wp);
    return rc;
}

/* ------------------------------------------------------------ stream */

typedef struct stream_in {
    FILE *f;
    bool follow;          /* a growing file: wait for more at EOF */
    double idle;
    int rate, channels;
    int bytes;            /* per sample: 1 (u8, WAV only), 2 (s16le) or 4 (f32le) */
    uint64_t left;        /* bytes of samples still to come (a WAV data chunk's size), or UINT64_MAX */
} stream_in;

/* Read up to n bytes, following a growing file; returns bytes read (0 at
 * the end of the stream). */
static size_t sread(stream_in *si, void *buf, size_t n) {
    if (n > si->left) n = (size_t)si->left;
    size_t got = 0;
    double waited = 0;
    while (got < n) {
        size_t r = fread((char *)buf + got, 1, n - got, si->f);
        got += r;
        if (got == n) break;
        if (ferror(si->f) || !si->follow) break;
        if (r) waited = 0;
        if (waited >= si->idle) break;
        clearerr(si->f);
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        waited += 0.1;
        if (got) break; /* hand over what arrived; the caller asks again */
    }
    if (si->left != UINT64_MAX) si->left -= got;
    return got;
}

static uint32_t le32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

static size_t sread_full(stream_in *si, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        size_t r = sread(si, (char *)buf + got, n - got);
        if (!r) break;
        got += r;
    }
    return got;
}

/* A WAV header at the start of the stream sets rate, channels and format;
 * stops at the "data" chunk. pre[0..4) are the first bytes, already read. */
static int read_wav_header(stream_in *si, const char *name, const unsigned char *pre) {
    unsigned char h[8];
    if (memcmp(pre, "RIFF", 4) || sread_full(si, h, 8) != 8 || memcmp(h + 4, "WAVE", 4))
        return cli_fail("%s: stream starts with 'RIFF' but is not a WAV file", name);
    bool have_fmt = false;
    for (;;) {
        if (sread_full(si, h, 8) != 8) return cli_fail("%s: WAV stream ends before its data chunk", name);
        uint32_t size = le32(h + 4);
        if (!memcmp(h, "data", 4)) {
            /* a file still being written often has 0 or 0xFFFFFFFF here: read to the end then */
            if (size != 0 && size != 0xFFFFFFFFu) si->left = size;
            break;
        }
        if (!memcmp(h, "fmt ", 4)) {
            unsigned char f[40];
            if (size < 16 || size > sizeof f || sread_full(si, f, size) != size)
                return cli_fail("%s: bad WAV fmt chunk", name);
            int fmt = le16(f), ch = le16(f + 2), bits = le16(f + 14);
            if (fmt == 0xFFFE && size >= 26) fmt = le16(f + 24);
            si->rate = (int)le32(f + 4);
            si->channels = ch;
            if (fmt == 1 && bits == 8) si->bytes = 1;
            else if (fmt == 1 && bits == 16) si->bytes = 2;
            else if (fmt == 3 && bits == 32) si->bytes = 4;
            else return cli_fail("%s: WAV stream must be 8/16-bit PCM or 32-bit float (format %d, %d bits)", name, fmt, bits);
            if (size & 1) sread_full(si, f, 1);
            have_fmt = true;
        } else {
            unsigned char skip[256];
            uint64_t left = size + (size & 1);
            while (left) {
                size_t r = sread_full(si, skip, left < sizeof skip ? (size_t)left : sizeof skip);
                if (!r) return cli_fail("%s: WAV stream ends inside a chunk", name);
                left -= r;
            }
        }
    }
    if (!have_fmt) return cli_fail("%s: WAV stream has no fmt chunk before its data", name);
    if (si->rate < 1 || si->rate > 768000 || si->channels < 1 || si->channels > 64)
        return cli_fail("%s: WAV stream has %d Hz, %d channels", name, si->rate, si->channels);
    return 0;
}

static int tag_stream(tagger *t, const tag_opts *o) {
    const char *name = o->files[0];
    stream_in si = {NULL, false, o->idle, (int)o->rate, (int)o->channels, 2, UINT64_MAX};
    if (o->format && !strcmp(o->format, "f32le")) si.bytes = 4;
    else if (o->format && strcmp(o->format, "s16le"))
        return cli_fail("tag: --format: expected s16le or f32le, got '%s'", o->format);
    if (!strcmp(name, "-")) {
        si.f = stdin;
    } else {
        si.f = fopen(name, "rb");
        if (!si.f) return cli_fail("%s: cannot open: %s", name, strerror(errno));
        si.follow = true;
    }
    int rc = 0;
    float *buf = NULL, *mono = NULL, *res = NULL;
    unsigned char *raw = NULL;
    unsigned char pre[4];
    size_t npre = sread_full(&si, pre, 4);
    bool wav = npre == 4 && !memcmp(pre, "RIFF", 4);
    if (npre == 0) {
        rc = cli_fail("%s: no audio samples (the stream is empty)", name);
        goto done;
    }
    if (wav && (rc = read_wav_header(&si, name, pre))) goto done;
    if (!wav && si.rate < 1) {
        rc = cli_fail("%s: raw PCM stream: give its sample rate with --rate", name);
        goto done;
    }
    const int C = si.channels;
    const size_t bps = (size_t)si.bytes, frame_bytes = bps * (size_t)C;
    const int R = si.rate;
    const int64_t W = aviary_audio_rwkv_input_window(t->input);
    const int mr = aviary_audio_rwkv_input_rate(t->input);
    const int64_t Ws = (int64_t)ceil((double)W * R / mr), hop = aviary_window_hop(Ws, o->overlap);
    const int64_t cap = Ws + hop;
    const size_t K = (size_t)t->info->n_classes, chunk = 4096;
    buf = malloc((size_t)cap * sizeof(float));
    mono = malloc(chunk * (size_t)C * sizeof(float));
    raw = malloc(chunk * frame_bytes + 4);
    if (!buf || !mono || !raw) {
        rc = cli_fail("out of memory");
        goto done;
    }
    /* buf holds source samples [base, base + filled) */
    int64_t base = 0, filled = 0, total = 0, next = 0, last_end = 0, windows = 0;
    size_t carry = 0;
    if (!wav) {
        memcpy(raw, pre, npre);
        carry = npre;
    }
    bool eof = false, silent = true;
    for (size_t c = 0; c < K; c++) t->agg[c] = 0.0f;
    for (;;) {
        /* read more, then move whole frames into buf (as far as it has room) */
        size_t want = chunk * frame_bytes - carry;
        if (!eof && want > 0) {
            size_t got = sread(&si, raw + carry, want);
            if (!got) eof = true;
            carry += got;
        }
        size_t frames = carry / frame_bytes;
        if (frames > (size_t)(cap - filled)) frames = (size_t)(cap - filled);
        if (frames) {
            /* planar channels for aviary_audio_mono, mixed as the model's design does */
            for (size_t f = 0; f < frames; f++)
                for (int c = 0; c < C; c++) {
                    const unsigned char *p = raw + f * frame_bytes + (size_t)c * bps;
                    float v;
                    if (bps == 4) memcpy(&v, p, 4);
                    else if (bps == 2) v = (float)(int16_t)le16(p) / 32768.0f;
                    else v = (float)((int)p[0] - 128) / 128.0f;
                    mono[(size_t)c * frames + f] = v;
                }
            aviary_audio a = {mono, (int64_t)frames, C, R};
            float *m1 = NULL;
            aviary_status s = aviary_audio_mono(&a, aviary_audio_rwkv_input_default_params(t->info->variant).mix, &m1);
            if (s) {
                rc = cli_fail_status(s);
                goto done;
            }
            memcpy(buf + filled, m1, frames * sizeof(float));
            if (!all_zero(m1, (int64_t)frames)) silent = false;
            free(m1);
            filled += (int64_t)frames;
            total += (int64_t)frames;
            carry -= frames * frame_bytes;
            memmove(raw, raw + frames * frame_bytes, carry);
        }
        const bool input_done = eof && carry < frame_bytes;
        /* windows that are complete (or, at the end, the final one) */
        int64_t st = -1, len = 0;
        if (base + filled >= next + Ws) {
            st = next;
            len = Ws;
        } else if (input_done) {
            if (total == 0) {
                rc = cli_fail("%s: no audio samples", name);
                goto done;
            }
            if (windows == 0) {
                st = 0;
                len = total;
            } else if (last_end < total) {
                st = total - Ws;
                len = Ws;
            }
            filled = 0; /* nothing after this */
            if (st < 0) break;
        } else {
            continue;
        }
        if (st < base) st = base; /* cannot happen: buf keeps the last window start onwards */
        int64_t n_out = 0;
        aviary_status s = aviary_audio_rwkv_input_resample(t->input, buf + (st - base), len, R, &res, &n_out);
        if (s) {
            rc = cli_fail_status(s);
            goto done;
        }
        if (n_out > W) n_out = W;
        if (n_out < aviary_audio_rwkv_input_min_samples(t->input)) {
            rc = cli_fail("%s: %.4f s of audio is too short, the model needs at least %.3f s", name, (double)len / R,
                          (double)aviary_audio_rwkv_input_min_samples(t->input) / mr);
            goto done;
        }
        if ((s = tag_window(t, res, n_out))) {
            rc = cli_fail_status(s);
            goto done;
        }
        free(res);
        res = NULL;
        for (size_t c = 0; c < K; c++) {
            if (o->agg == AVIARY_AGGREGATE_MAX) t->agg[c] = windows == 0 || t->probs[c] > t->agg[c] ? t->probs[c] : t->agg[c];
            else t->agg[c] += t->probs[c];
        }
        double t0 = (double)st / R, t1 = (double)(st + len) / R;
        if (o->json) {
            printf("{\"window\": %lld, \"start\": %.3f, \"end\": %.3f, \"top\": ", (long long)windows, t0, t1);
            json_top(t, t->probs);
            printf("}\n");
        } else {
            text_window_line(t, windows, t0, t1, t->probs);
        }
        fflush(stdout);
        windows++;
        last_end = st + len;
        if (filled == 0) break; /* the final window */
        next = st + hop;
        /* keep from the start of the window just tagged: a final window ending
         * at the end of the stream starts after it */
        int64_t drop = st - base;
        memmove(buf, buf + drop, (size_t)(filled - drop) * sizeof(float));
        base += drop;
        filled -= drop;
        if (filled == cap && base + filled < next + Ws) {
            /* cannot happen with cap = Ws + hop; guard against a stall */
            rc = cli_fail("%s: internal stream buffer error", name);
            goto done;
        }
    }
    if (silent) fprintf(stderr, "aviary: %s: the audio is silent (every sample is 0)\n", name);
    if (o->agg == AVIARY_AGGREGATE_MEAN)
        for (size_t c = 0; c < K; c++) t->agg[c] /= (float)windows;
    if (o->json) {
        printf("{\"windows\": %lld, \"seconds\": %.3f, \"aggregate\": \"%s\", \"top\": ", (long long)windows,
               (double)total / R, aviary_aggregate_name(o->agg));
        json_top(t, t->agg);
        printf("}\n");
    } else {
        printf("%s: %.2f s, %lld window%s, %s over windows\n", name, (double)total / R, (long long)windows,
               windows == 1 ? "" : "s", aviary_aggregate_name(o->agg));
        text_top(t, t->agg);
    }
done:
    if (si.f && si.f != stdin) fclose(si.f);
    free(buf);
    free(mono);
    free(raw);
    free(res);
    return rc;
}

/* ------------------------------------------------------------ main */

int cli_cmd_tag(int argc, char **argv) {
    tag_opts o = {0};
    o.channels = 1;
    o.idle = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
            if (!more) return cli_fail("tag: %s needs a pipeline file", a);
            o.pipeline = argv[++i];
        } else if (!strcmp(a, "--top-k")) {
            if (!more || !cli_parse_int(a, argv[++i], 1, 100000, &o.top_k)) return more ? 1 : cli_fail("tag: %s needs a value", a);
            o.top_k_set = true;
        } else if (!strcmp(a, "--threads")) {
            if (!more || !cli_parse_int(a, argv[++i], 1, 4096, &o.threads)) return more ? 1 : cli_fail("tag: %s needs a value", a);
        } else if (!strcmp(a, "--rate")) {
            if (!more || !cli_parse_int(a, argv[++i], 1, 768000, &o.rate)) return more ? 1 : cli_fail("tag: %s needs a value", a);
        } else if (!strcmp(a, "--channels")) {
            if (!more || !cli_parse_int(a, argv[++i], 1, 64, &o.channels)) return more ? 1 : cli_fail("tag: %s needs a value", a);
        } else if (!strcmp(a, "--overlap")) {
            if (!more || !cli_parse_float(a, argv[++i], 0, 0.9, &o.overlap)) return more ? 1 : cli_fail("tag: %s needs a value", a);
            o.overlap_set = true;
        } else if (!strcmp(a, "--idle")) {
            if (!more || !cli_parse_float(a, argv[++i], 0, 86400, &o.idle)) return more ? 1 : cli_fail("tag: %s needs a value", a);
        } else if (!strcmp(a, "--aggregate")) {
            if (!more) return cli_fail("tag: %s needs a value", a);
            if (aviary_aggregate_parse(argv[++i], &o.agg))
                return cli_fail("tag: --aggregate: expected max or mean, got '%s'", argv[i]);
            o.agg_set = true;
        } else if (!strcmp(a, "--format")) {
            if (!more) return cli_fail("tag: %s needs a value", a);
            o.format = argv[++i];
        } else if (!strcmp(a, "--json")) {
            o.json = true;
        } else if (!strcmp(a, "--stream")) {
            o.stream = true;
        } else if (a[0] == '-' && a[1]) {
            return cli_fail("tag: unknown option '%s' (see aviary tag --help)", a);
        } else {
            if (o.n_files == MAX_FILES) return cli_fail("tag: at most %d audio files at once", MAX_FILES);
            o.files[o.n_files++] = a;
        }
    }
    if (!o.pipeline) {
        usage(stderr);
        return cli_fail("tag: give the pipeline with -c PIPELINE.json");
    }
    if (o.n_files == 0) return cli_fail("tag: no audio file given");
    if (o.stream && o.n_files != 1) return cli_fail("tag: --stream reads one stream ('-' or a file)");
    if (o.format && !o.stream) return cli_fail("tag: --format is for raw PCM with --stream");
    tag_pipe tp;
    int rc = load_pipe(o.pipeline, &tp);
    if (rc) return rc;
    if (!o.top_k_set) o.top_k = tp.top_k;
    if (!o.overlap_set) o.overlap = tp.overlap;
    if (!o.agg_set) o.agg = tp.agg;
    if (o.threads) aviary_set_num_threads((int)o.threads);
    tagger t;
    if ((rc = tagger_init(&t, &tp, (size_t)o.top_k))) {
        tagger_free(&t);
        return rc;
    }
    if (o.stream) {
        rc = tag_stream(&t, &o);
    } else {
        if (o.json) {
            printf("{\"pipeline\": ");
            cli_json_string(stdout, o.pipeline);
            printf(", \"aggregate\": \"%s\", \"results\": [\n  ", aviary_aggregate_name(o.agg));
        }
        int printed = 0;
        for (int i = 0; i < o.n_files; i++) {
            int r = tag_file(&t, &o, o.files[i], printed == 0);
            if (r) rc = r;
            else printed++;
        }
        if (o.json) printf("\n]}\n");
    }
    tagger_free(&t);
    return rc;
}
