/* bench_audio_frontend.c - speed of the two AudioRWKV front ends on one
 * thread, in seconds of audio processed per second of wall time.
 * Usage: bench_audio_frontend [SECONDS_OF_AUDIO=60] [INPUT_RATE=44100]
 * A synthetic stereo signal at INPUT_RATE goes through
 *   2024: channel mean -> resampy kaiser_best to 32 kHz -> STFT + Slaney mel dB
 *   2025: channel 0 -> torchaudio sinc to 32 kHz -> Kaldi fbank
 * (file decoding is not included). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "aviary/aviary_audio.h"
#include "aviary/aviary_resample.h"
#include "aviary/aviary_spectrogram.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int run(const char *name, const aviary_audio *a, aviary_audio_mix mix, aviary_resample_method rm,
               void (*preset)(aviary_spectrogram_params *)) {
    double secs = (double)a->frames / a->sample_rate;
    double t0 = now();
    float *mono = NULL, *wave = NULL, *spec = NULL;
    int64_t n = 0;
    aviary_resample_params rp;
    aviary_resample_params_default(&rp, rm);
    aviary_spectrogram_params sp;
    preset(&sp);
    aviary_spectrogram *s = NULL;
    if (aviary_audio_mono(a, mix, &mono) || aviary_resample(&rp, mono, a->frames, a->sample_rate, 32000, &wave, &n)) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        return 1;
    }
    double t1 = now();
    if (aviary_spectrogram_create(&sp, &s)) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        return 1;
    }
    int64_t frames = aviary_spectrogram_n_frames(s, n);
    spec = malloc((size_t)frames * (size_t)sp.n_mels * sizeof(float));
    if (!spec || aviary_spectrogram_compute(s, wave, n, spec)) {
        fprintf(stderr, "%s\n", aviary_errmsg());
        return 1;
    }
    double t2 = now();
    printf("%-5s %.0f s audio: resample %.3f s (%.0fx real time), spectrogram %.3f s (%.0fx), total %.0fx real time\n",
           name, secs, t1 - t0, secs / (t1 - t0), t2 - t1, secs / (t2 - t1), secs / (t2 - t0));
    free(mono);
    free(wave);
    free(spec);
    aviary_spectrogram_free(s);
    return 0;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 60;
    int rate = argc > 2 ? atoi(argv[2]) : 44100;
    if (!(secs > 0 && secs < 36000) || rate < 1000) {
        fprintf(stderr, "usage: bench_audio_frontend [SECONDS] [RATE]\n");
        return 2;
    }
    aviary_audio a = {0};
    a.frames = (int64_t)(secs * rate);
    a.channels = 2;
    a.sample_rate = rate;
    a.samples = malloc((size_t)a.frames * 2 * sizeof(float));
    if (!a.samples) return 1;
    unsigned r = 1;
    for (int64_t i = 0; i < a.frames * 2; i++) {
        r = r * 1103515245u + 12345u;
        a.samples[i] = (float)(0.3 * sin(0.01 * (double)i) + ((double)(r >> 8) / 16777216.0 - 0.5) * 0.1);
    }
    aviary_set_num_threads(1);
    int rc = run("2024", &a, AVIARY_AUDIO_MIX_MEAN, AVIARY_RESAMPLE_KAISER_BEST, aviary_spectrogram_params_audiorwkv2024);
    rc |= run("2025", &a, AVIARY_AUDIO_MIX_FIRST, AVIARY_RESAMPLE_TORCHAUDIO, aviary_spectrogram_params_arwkv2025);
    aviary_audio_free(&a);
    return rc;
}
