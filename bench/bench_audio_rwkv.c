/* bench_audio_rwkv.c - AudioRWKV encoder + head speed.
 * Usage: bench_audio_rwkv CHECKPOINT [THREADS=1] [REPEATS=5]
 * Runs the model on a synthetic spectrogram of its window (2024: 1001x64 for
 * 10 s; 2025: 992x128 for 9.92 s at 32 kHz, hop 320) and prints seconds per
 * window and the real-time factor (window seconds per compute second). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "aviary/aviary_audio_rwkv.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_audio_rwkv CHECKPOINT [THREADS] [REPEATS]\n");
        return 2;
    }
    int threads = argc > 2 ? atoi(argv[2]) : 1, reps = argc > 3 ? atoi(argv[3]) : 5;
    if (threads < 1 || reps < 1) return 2;
    aviary_set_num_threads(threads);
    aviary_checkpoint *ck = NULL;
    aviary_audio_rwkv *m = NULL;
    if (aviary_checkpoint_open(argv[1], &ck) || aviary_audio_rwkv_load(ck, 0, &m)) {
        fprintf(stderr, "bench_audio_rwkv: %s\n", aviary_errmsg());
        aviary_checkpoint_close(ck);
        return 1;
    }
    aviary_checkpoint_close(ck);
    const aviary_audio_rwkv_info *I = aviary_audio_rwkv_get_info(m);
    int64_t frames = I->variant == AVIARY_AUDIO_RWKV_2024 ? I->min_frames + 1 : I->min_frames;
    float *spec = malloc((size_t)(frames * I->n_mels) * sizeof(float));
    float *logits = malloc((size_t)I->n_classes * sizeof(float));
    if (!spec || !logits) return 1;
    for (int64_t i = 0; i < frames * I->n_mels; i++) spec[i] = (float)(sin(0.001 * (double)i) * 3 - 4);
    aviary_audio_rwkv_outputs o = {.logits = logits};
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (aviary_audio_rwkv_forward(m, spec, frames, I->n_mels, &o)) {
            fprintf(stderr, "bench_audio_rwkv: %s\n", aviary_errmsg());
            return 1;
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    double window_s = (double)(frames - 1) * 320.0 / 32000.0;
    printf("%s C=%d L=%d tokens=%d threads=%d: %.4f s per %.2f s window (%.0fx real time)\n",
           I->variant == AVIARY_AUDIO_RWKV_2024 ? "AudioRWKV-2024" : "A-RWKV-2025", I->n_embd, I->n_layer,
           I->grid_h * I->grid_w, threads, best, window_s, window_s / best);
    free(spec);
    free(logits);
    aviary_audio_rwkv_free(m);
    return 0;
}
