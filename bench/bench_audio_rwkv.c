/* bench_audio_rwkv.c - AudioRWKV speed and memory: front end + encoder + head
 * on one model window.
 *
 *   bench_audio_rwkv CHECKPOINT [THREADS=1] [REPEATS=3] [WEIGHTS=auto]
 *   bench_audio_rwkv --random 2024|2025 T|S [THREADS=1] [REPEATS=3] [WEIGHTS=auto]
 *
 * WEIGHTS: how the matrices are stored (aviary_linear.h: auto, f32, bf16,
 * int8); the published A-RWKV checkpoints are bfloat16, which auto keeps.
 *
 * --random writes a checkpoint of the published shapes with random weights
 * to a temporary file (deleted after loading): the key layout of the
 * audio-* fixtures scaled to the size: T = 192 wide (3 heads), S = 384 wide
 * (6 heads), 12 layers each (A-RWKV-T is run.py's default n_embd 192 /
 * n_layer 12; S doubles the width, DeiT-style), on the fixtures' token grids
 * (2025: 16x16 patches, 62x8 = 496 tokens for 992 frames x 128 mels; 2024:
 * 8x8 patches, 125x8 = 1000 tokens for 1000 frames x 64 mels). Speed does
 * not depend on the values.
 *
 * Prints, for the best of REPEATS runs: front end (spectrogram of a 32 kHz
 * window), model, total seconds per window, the real-time factor
 * RTF = compute seconds / audio seconds, and the process's peak RSS. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "aviary/aviary_audio_rwkv.h"
#include "aviary/aviary_audio_rwkv_input.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- random checkpoint --------------------------------------------------- */

typedef struct wt {
    char name[128];
    int nd;
    int64_t shape[4];
} wt;

static int add(wt *t, int n, const char *name, int nd, int64_t a, int64_t b, int64_t c, int64_t d) {
    snprintf(t[n].name, sizeof t[n].name, "%s", name);
    t[n].nd = nd;
    t[n].shape[0] = a;
    t[n].shape[1] = b;
    t[n].shape[2] = c;
    t[n].shape[3] = d;
    return n + 1;
}

static unsigned rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

/* Value scale by tensor role: norms 1, matrices ~1/sqrt(fan-in), rest small. */
static void fill(const wt *t, float *v, int64_t n) {
    const char *s = t->name;
    bool one = strstr(s, "ln") && strstr(s, ".weight") && !strstr(s, "time_shift");
    one = one || strstr(s, "norm.weight") || strstr(s, "running_var") || strstr(s, "bn0.weight") ||
          strstr(s, "patch_embed.2.weight");
    float sc = 0.1f;
    if (t->nd == 2 && t->shape[1] > 8) sc = 1.0f / sqrtf((float)t->shape[1]);
    for (int64_t i = 0; i < n; i++) v[i] = one ? 1.0f : sc * frand();
}

static int write_random(const char *path, int variant, int C, int L) {
    const int H = C / 64, F = 4 * C;
    wt *t = calloc(4096, sizeof *t);
    int n = 0;
    char nm[128];
    if (!t) return 1;
    if (variant == 2025) {
        const int D = 32, Dg = C >= 384 ? 64 : 32;
        n = add(t, n, "pos_embed", 3, 1, 496, C, 0);
        n = add(t, n, "emb.weight", 4, C, 1, 16, 16);
        n = add(t, n, "emb.bias", 1, C, 0, 0, 0);
        for (int l = 0; l < L; l++) {
            static const char *vec[] = {"ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "att.ln_x.weight",
                                        "att.ln_x.bias", "ffn.key.bias"};
            for (int i = 0; i < 7; i++) {
                snprintf(nm, sizeof nm, "blocks.%d.%s", l, vec[i]);
                n = add(t, n, nm, 1, i == 6 ? F : C, 0, 0, 0);
            }
            snprintf(nm, sizeof nm, "blocks.%d.ffn.value.bias", l);
            n = add(t, n, nm, 1, C, 0, 0, 0);
            static const char *mix[] = {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g", "w0", "a0", "v0", "k_k", "k_a"};
            for (int i = 0; i < 11; i++) {
                snprintf(nm, sizeof nm, "blocks.%d.att.%s", l, mix[i]);
                n = add(t, n, nm, 3, 1, 1, C, 0);
            }
            snprintf(nm, sizeof nm, "blocks.%d.ffn.x_k", l);
            n = add(t, n, nm, 3, 1, 1, C, 0);
            static const char *lo[] = {"w", "a", "v", "g"};
            for (int i = 0; i < 4; i++) {
                int d = i == 3 ? Dg : D;
                snprintf(nm, sizeof nm, "blocks.%d.att.%s1", l, lo[i]);
                n = add(t, n, nm, 2, C, d, 0, 0);
                snprintf(nm, sizeof nm, "blocks.%d.att.%s2", l, lo[i]);
                n = add(t, n, nm, 2, d, C, 0, 0);
            }
            snprintf(nm, sizeof nm, "blocks.%d.att.r_k", l);
            n = add(t, n, nm, 2, H, 64, 0, 0);
            snprintf(nm, sizeof nm, "blocks.%d.att.gate.weight", l);
            n = add(t, n, nm, 3, H, 64, 1, 0);
            snprintf(nm, sizeof nm, "blocks.%d.att.time_shift.weight", l);
            n = add(t, n, nm, 4, C, 1, 3, 3);
            snprintf(nm, sizeof nm, "blocks.%d.ffn.time_shift.weight", l);
            n = add(t, n, nm, 4, C, 1, 3, 3);
            static const char *sq[] = {"receptance", "key", "value", "output"};
            for (int i = 0; i < 4; i++) {
                snprintf(nm, sizeof nm, "blocks.%d.att.%s.weight", l, sq[i]);
                n = add(t, n, nm, 2, C, C, 0, 0);
            }
            snprintf(nm, sizeof nm, "blocks.%d.ffn.key.weight", l);
            n = add(t, n, nm, 2, F, C, 0, 0);
            snprintf(nm, sizeof nm, "blocks.%d.ffn.value.weight", l);
            n = add(t, n, nm, 2, C, F, 0, 0);
        }
        n = add(t, n, "ln_out.weight", 1, C, 0, 0, 0);
        n = add(t, n, "ln_out.bias", 1, C, 0, 0, 0);
        n = add(t, n, "head.weight", 2, 527, C, 0, 0);
    } else {
        n = add(t, n, "pos_embed", 3, 1, 1000, C, 0);
        static const char *bn[] = {"bn0.weight", "bn0.bias", "bn0.running_mean", "bn0.running_var"};
        for (int i = 0; i < 4; i++) n = add(t, n, bn[i], 1, 64, 0, 0, 0);
        n = add(t, n, "patch_embed.0.weight", 4, C, 1, 8, 8);
        n = add(t, n, "patch_embed.0.bias", 1, C, 0, 0, 0);
        n = add(t, n, "patch_embed.2.weight", 1, C, 0, 0, 0);
        n = add(t, n, "patch_embed.2.bias", 1, C, 0, 0, 0);
        for (int l = 0; l < L; l++) {
            static const char *vec[] = {"ln1.weight", "ln1.bias", "ln2.weight", "ln2.bias", "ln0.weight", "ln0.bias",
                                        "att.ln_x.weight", "att.ln_x.bias"};
            for (int i = 0; i < 8; i++) {
                if (l && i >= 4 && i < 6) continue;
                snprintf(nm, sizeof nm, "layers.%d.%s", l, vec[i]);
                n = add(t, n, nm, 1, C, 0, 0, 0);
            }
            static const char *mix[] = {"att.time_maa_x", "att.time_maa_w", "att.time_maa_k", "att.time_maa_v",
                                        "att.time_maa_r", "att.time_maa_g", "att.time_decay", "ffn.spatial_mix_k",
                                        "ffn.spatial_mix_r"};
            for (int i = 0; i < 9; i++) {
                snprintf(nm, sizeof nm, "layers.%d.%s", l, mix[i]);
                n = add(t, n, nm, 3, 1, 1, C, 0);
            }
            snprintf(nm, sizeof nm, "layers.%d.att.time_maa_w1", l);
            n = add(t, n, nm, 2, C, 160, 0, 0);
            snprintf(nm, sizeof nm, "layers.%d.att.time_maa_w2", l);
            n = add(t, n, nm, 3, 5, 32, C, 0);
            snprintf(nm, sizeof nm, "layers.%d.att.time_decay_w1", l);
            n = add(t, n, nm, 2, C, 64, 0, 0);
            snprintf(nm, sizeof nm, "layers.%d.att.time_decay_w2", l);
            n = add(t, n, nm, 2, 64, C, 0, 0);
            snprintf(nm, sizeof nm, "layers.%d.att.time_faaaa", l);
            n = add(t, n, nm, 2, H, 64, 0, 0);
            static const char *sq[] = {"att.key", "att.value", "att.receptance", "att.gate", "att.output",
                                       "ffn.receptance"};
            for (int i = 0; i < 6; i++) {
                snprintf(nm, sizeof nm, "layers.%d.%s.weight", l, sq[i]);
                n = add(t, n, nm, 2, C, C, 0, 0);
            }
            snprintf(nm, sizeof nm, "layers.%d.ffn.key.weight", l);
            n = add(t, n, nm, 2, F, C, 0, 0);
            snprintf(nm, sizeof nm, "layers.%d.ffn.value.weight", l);
            n = add(t, n, nm, 2, C, F, 0, 0);
        }
        n = add(t, n, "classifier.norm.weight", 1, C, 0, 0, 0);
        n = add(t, n, "classifier.norm.bias", 1, C, 0, 0, 0);
        n = add(t, n, "classifier.head.weight", 2, 527, C, 0, 0);
        n = add(t, n, "classifier.head.bias", 1, 527, 0, 0, 0);
    }
    /* safetensors: u64 header length, JSON header (padded to 8), data */
    size_t hcap = (size_t)n * 200 + 64, hl = 0;
    char *hdr = malloc(hcap);
    int64_t off = 0;
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "{");
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[", i ? "," : "", t[i].name);
        for (int d = 0; d < t[i].nd; d++) {
            hl += (size_t)snprintf(hdr + hl, hcap - hl, "%s%lld", d ? "," : "", (long long)t[i].shape[d]);
            numel *= t[i].shape[d];
        }
        hl += (size_t)snprintf(hdr + hl, hcap - hl, "],\"data_offsets\":[%lld,%lld]}", (long long)off,
                               (long long)(off + numel * 4));
        off += numel * 4;
    }
    hl += (size_t)snprintf(hdr + hl, hcap - hl, "}");
    while (hl % 8) hdr[hl++] = ' ';
    FILE *f = fopen(path, "wb");
    if (!f) return 1;
    uint64_t h64 = hl;
    fwrite(&h64, 8, 1, f);
    fwrite(hdr, 1, hl, f);
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < t[i].nd; d++) numel *= t[i].shape[d];
        float *v = malloc((size_t)numel * sizeof(float));
        fill(&t[i], v, numel);
        fwrite(v, sizeof(float), (size_t)numel, f);
        free(v);
    }
    int bad = ferror(f);
    fclose(f);
    free(hdr);
    free(t);
    return bad;
}

/* ---- bench --------------------------------------------------------------- */

int main(int argc, char **argv) {
    const char *ckpt = NULL, *size = "";
    char tmp[64] = "";
    int a = 1;
    if (argc >= 4 && !strcmp(argv[1], "--random")) {
        int variant = atoi(argv[2]);
        size = argv[3];
        int C = !strcmp(size, "T") ? 192 : !strcmp(size, "S") ? 384 : 0;
        if ((variant != 2024 && variant != 2025) || !C) {
            fprintf(stderr, "bench_audio_rwkv: --random 2024|2025 T|S\n");
            return 2;
        }
        snprintf(tmp, sizeof tmp, "/tmp/bench_audio_rwkv_%d.safetensors", (int)getpid());
        if (write_random(tmp, variant, C, 12)) {
            fprintf(stderr, "bench_audio_rwkv: cannot write %s\n", tmp);
            return 1;
        }
        ckpt = tmp;
        a = 4;
    } else if (argc >= 2 && argv[1][0] != '-') {
        ckpt = argv[1];
        a = 2;
    } else {
        fprintf(stderr, "usage: bench_audio_rwkv CHECKPOINT [THREADS] [REPEATS]\n"
                        "       bench_audio_rwkv --random 2024|2025 T|S [THREADS] [REPEATS] [WEIGHTS]\n");
        return 2;
    }
    int threads = argc > a ? atoi(argv[a]) : 1, reps = argc > a + 1 ? atoi(argv[a + 1]) : 3;
    aviary_weight_type wt = AVIARY_WEIGHTS_AUTO;
    if (threads < 1 || reps < 1 || (argc > a + 2 && aviary_weight_type_parse(argv[a + 2], &wt))) return 2;
    aviary_set_num_threads(threads);
    aviary_checkpoint *ck = NULL;
    aviary_audio_rwkv *m = NULL;
    aviary_audio_rwkv_input *in = NULL;
    aviary_status s = aviary_checkpoint_open(ckpt, &ck);
    if (!s) s = aviary_audio_rwkv_load_weights(ck, 0, wt, &m);
    aviary_checkpoint_close(ck);
    if (tmp[0]) unlink(tmp);
    const aviary_audio_rwkv_info *I = m ? aviary_audio_rwkv_get_info(m) : NULL;
    if (!s) s = aviary_audio_rwkv_input_create(I, NULL, &in);
    if (s) {
        fprintf(stderr, "bench_audio_rwkv: %s\n", aviary_errmsg());
        return 1;
    }
    const int64_t W = aviary_audio_rwkv_input_window(in), frames = aviary_audio_rwkv_input_frames(in);
    const int mels = aviary_audio_rwkv_input_mels(in);
    float *wave = malloc((size_t)W * sizeof(float)), *spec = malloc((size_t)(frames * mels) * sizeof(float));
    float *logits = malloc((size_t)I->n_classes * sizeof(float));
    if (!wave || !spec || !logits) return 1;
    for (int64_t i = 0; i < W; i++) wave[i] = (float)(0.3 * sin(0.05 * (double)i + 1e-6 * (double)i * (double)i));
    aviary_audio_rwkv_outputs o = {.logits = logits};
    double best_fe = 1e30, best_m = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (aviary_audio_rwkv_input_spectrogram(in, wave, W, spec)) break;
        double t1 = now();
        if (aviary_audio_rwkv_forward(m, spec, frames, mels, &o)) {
            fprintf(stderr, "bench_audio_rwkv: %s\n", aviary_errmsg());
            return 1;
        }
        double t2 = now();
        if (t1 - t0 < best_fe) best_fe = t1 - t0;
        if (t2 - t1 < best_m) best_m = t2 - t1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double audio_s = (double)W / aviary_audio_rwkv_input_rate(in), total = best_fe + best_m;
    printf("%s%s%s C=%d L=%d heads=%d tokens=%d weights=%s threads=%d: front end %.4f s + model %.4f s = %.4f s per %.2f s "
           "window, RTF %.4f (%.1fx real time), peak RSS %.0f MB\n",
           I->variant == AVIARY_AUDIO_RWKV_2024 ? "AudioRWKV-2024" : "A-RWKV-2025", size[0] ? "-" : "", size, I->n_embd,
           I->n_layer, I->n_head, I->grid_h * I->grid_w, aviary_weight_type_name(wt), threads, best_fe, best_m, total, audio_s, total / audio_s,
           audio_s / total, (double)ru.ru_maxrss / 1024.0);
    free(wave);
    free(spec);
    free(logits);
    aviary_audio_rwkv_input_free(in);
    aviary_audio_rwkv_free(m);
    return 0;
}
