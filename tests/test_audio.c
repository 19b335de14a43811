/*
 * test_audio.c - the audio front end: libsndfile input (formats, channels,
 * errors), the two resamplers against direct sinc sums, and the spectrogram
 * front ends against analytic properties of sine waves.
 */
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aviary/aviary_audio.h"
#include "aviary/aviary_audio_rwkv.h"
#include "aviary/aviary_resample.h"
#include "aviary/aviary_spectrogram.h"

static int failures = 0;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

static char tmpdir[256];

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int k = 0;
    k = (k + 1) & 3;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Write frames x channels (interleaved, float in [-1,1)) with libsndfile. */
static int write_audio(const char *path, int format, int rate, int channels, const float *inter, int64_t frames) {
    SF_INFO info = {0};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) return 0;
    sf_count_t w = sf_writef_float(sf, inter, frames);
    sf_close(sf);
    return w == frames;
}

static void test_wav_channels(void) {
    /* 3 channels of known int16 values: c0 = i, c1 = -2i, c2 = 16384. */
    const int64_t n = 1000;
    float *inter = malloc((size_t)n * 3 * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        inter[i * 3 + 0] = (float)i / 32768.0f;
        inter[i * 3 + 1] = (float)(-2 * i) / 32768.0f;
        inter[i * 3 + 2] = 0.5f;
    }
    const char *p = tmp_path("three.wav");
    CHECK(write_audio(p, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 3, inter, n), "write wav");
    aviary_audio a;
    aviary_status s = aviary_audio_read(p, &a);
    CHECK(s == AVIARY_OK, "read: %s", aviary_errmsg());
    if (s == AVIARY_OK) {
        CHECK(a.channels == 3 && a.frames == n && a.sample_rate == 22050, "header %d %lld %d", a.channels,
              (long long)a.frames, a.sample_rate);
        CHECK(a.samples[5] == 5.0f / 32768.0f, "int16 scaling: %g", a.samples[5]);
        CHECK(a.samples[n + 7] == -14.0f / 32768.0f, "planar channel 1: %g", a.samples[n + 7]);
        CHECK(a.samples[2 * n + 3] == 0.5f, "channel 2: %g", a.samples[2 * n + 3]);
        float *first = NULL, *mean = NULL;
        CHECK(aviary_audio_mono(&a, AVIARY_AUDIO_MIX_FIRST, &first) == AVIARY_OK, "mono first");
        CHECK(aviary_audio_mono(&a, AVIARY_AUDIO_MIX_MEAN, &mean) == AVIARY_OK, "mono mean");
        if (first && mean) {
            CHECK(first[100] == 100.0f / 32768.0f, "first channel: %g", first[100]);
            double want = (100.0 - 200.0 + 16384.0) / 3.0 / 32768.0;
            CHECK(fabs(mean[100] - want) < 1e-8, "mean: %g want %g", mean[100], want);
        }
        free(first);
        free(mean);
        /* the same bytes from memory */
        FILE *f = fopen(p, "rb");
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        unsigned char *buf = malloc((size_t)len);
        CHECK(fread(buf, 1, (size_t)len, f) == (size_t)len, "fread");
        fclose(f);
        aviary_audio b;
        CHECK(aviary_audio_read_memory(buf, (size_t)len, "mem.wav", &b) == AVIARY_OK, "memory read: %s",
              aviary_errmsg());
        CHECK(b.frames == a.frames && b.channels == 3 &&
                  !memcmp(b.samples, a.samples, (size_t)n * 3 * sizeof(float)),
              "memory read differs");
        aviary_audio_free(&b);
        /* truncated: cut the last 1000 bytes of sample data */
        const char *pt = tmp_path("trunc.wav");
        f = fopen(pt, "wb");
        fwrite(buf, 1, (size_t)len - 1000, f);
        fclose(f);
        s = aviary_audio_read(pt, &b);
        CHECK(s == AVIARY_FORMAT && strstr(aviary_errmsg(), "trunc.wav") && strstr(aviary_errmsg(), "truncated"),
              "truncated wav: %d %s", s, aviary_errmsg());
        CHECK(b.samples == NULL, "out zeroed on failure");
        /* header only: a data chunk with no frames */
        f = fopen(pt, "wb");
        fwrite(buf, 1, 44, f);
        fclose(f);
        s = aviary_audio_read(pt, &b);
        CHECK(s != AVIARY_OK && strstr(aviary_errmsg(), "trunc.wav"), "header-only wav: %d %s", s, aviary_errmsg());
        free(buf);
    }
    aviary_audio_free(&a);
    free(inter);
}

static void test_formats(void) {
    const int rate = 48000;
    const int64_t n = 48000;
    float *inter = malloc((size_t)n * 2 * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        inter[2 * i] = (float)(0.5 * sin(2 * M_PI * 440.0 * (double)i / rate));
        inter[2 * i + 1] = (float)(0.25 * sin(2 * M_PI * 880.0 * (double)i / rate));
    }
    struct { const char *name; int format; double tol; } fmts[] = {
        {"a.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1.0 / 32768},
        {"a.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0.05},
        {"a.opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, 0.05},
        {"a.mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, 0.05},
    };
    for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        const char *p = tmp_path(fmts[f].name);
        SF_INFO probe = {.samplerate = rate, .channels = 2, .format = fmts[f].format};
        if (!sf_format_check(&probe) || !write_audio(p, fmts[f].format, rate, 2, inter, n)) {
            printf("  (this libsndfile cannot write %s; skipped)\n", fmts[f].name);
            continue;
        }
        aviary_audio a;
        aviary_status s = aviary_audio_read(p, &a);
        CHECK(s == AVIARY_OK, "%s: %s", fmts[f].name, aviary_errmsg());
        if (s != AVIARY_OK) continue;
        CHECK(a.channels == 2 && a.sample_rate == rate, "%s header", fmts[f].name);
        CHECK(llabs(a.frames - n) < 4096, "%s frames %lld", fmts[f].name, (long long)a.frames);
        /* Lossy codecs add delay; compare by the best alignment in [0, 1024). */
        double best = 1e9;
        int64_t m = a.frames < n ? a.frames : n;
        for (int lag = 0; lag < 1024 && best > fmts[f].tol; lag++) {
            double err = 0;
            for (int64_t i = 8000; i < m - 8000; i++) {
                double d = fabs(a.samples[i + lag] - inter[2 * i]);
                if (d > err) err = d;
            }
            if (err < best) best = err;
        }
        CHECK(best <= fmts[f].tol, "%s: channel 0 max error %g (tol %g)", fmts[f].name, best, fmts[f].tol);
        printf("  %s: %lld frames, max error %.2e\n", fmts[f].name, (long long)a.frames, best);
        aviary_audio_free(&a);
    }
    free(inter);
}

static void test_bad_files(void) {
    aviary_audio a;
    aviary_status s = aviary_audio_read(tmp_path("missing.wav"), &a);
    CHECK(s == AVIARY_IO && strstr(aviary_errmsg(), "missing.wav"), "missing: %d %s", s, aviary_errmsg());
    s = aviary_audio_read(tmpdir, &a);
    CHECK(s == AVIARY_IO && strstr(aviary_errmsg(), "directory"), "directory: %d %s", s, aviary_errmsg());
    const char *pe = tmp_path("empty.wav");
    FILE *f = fopen(pe, "wb");
    fclose(f);
    s = aviary_audio_read(pe, &a);
    CHECK(s == AVIARY_FORMAT && strstr(aviary_errmsg(), "empty.wav") && strstr(aviary_errmsg(), "empty"),
          "empty: %d %s", s, aviary_errmsg());
    const char *pg = tmp_path("garbage.wav");
    f = fopen(pg, "wb");
    for (int i = 0; i < 4000; i++) fputc((i * 7919) & 255, f);
    fclose(f);
    s = aviary_audio_read(pg, &a);
    CHECK(s == AVIARY_FORMAT && strstr(aviary_errmsg(), "garbage.wav"), "garbage: %d %s", s, aviary_errmsg());
    s = aviary_audio_read_memory("RIFF", 4, "tiny", &a);
    CHECK(s == AVIARY_FORMAT && strstr(aviary_errmsg(), "tiny"), "tiny memory: %d %s", s, aviary_errmsg());
    s = aviary_audio_read_memory(NULL, 0, "none", &a);
    CHECK(s == AVIARY_FORMAT && strstr(aviary_errmsg(), "none"), "empty memory: %d %s", s, aviary_errmsg());
}

/* ---- resamplers ---------------------------------------------------------- */

static float *test_signal(int64_t n, int rate) {
    float *x = malloc((size_t)n * sizeof(float));
    unsigned r = 12345;
    for (int64_t i = 0; i < n; i++) {
        r = r * 1103515245u + 12345u;
        double noise = ((double)(r >> 8) / 16777216.0 - 0.5) * 0.2;
        x[i] = (float)(0.4 * sin(2 * M_PI * 997.0 * (double)i / rate) + 0.2 * sin(2 * M_PI * 5003.0 * (double)i / rate) + noise);
    }
    return x;
}

/* torchaudio: y[k] = sum_q x[q] * base/o * sinc(base*(q/o - k/n)) * cos^2(pi*t/12), |t| <= 6,
 * written as a direct sum over input samples (no phase table). */
static void test_resample_torchaudio(int orig, int newr) {
    const int64_t n = 3000;
    float *x = test_signal(n, orig);
    aviary_resample_params p;
    aviary_resample_params_default(&p, AVIARY_RESAMPLE_TORCHAUDIO);
    float *y = NULL;
    int64_t ny = 0;
    aviary_status s = aviary_resample(&p, x, n, orig, newr, &y, &ny);
    CHECK(s == AVIARY_OK, "torchaudio %d->%d: %s", orig, newr, aviary_errmsg());
    if (s == AVIARY_OK) {
        long g = orig, h = newr;
        while (h) { long t = g % h; g = h; h = t; }
        double o = orig / g, nn = newr / g, base = (o < nn ? o : nn) * 0.99;
        CHECK(ny == (int64_t)ceil(nn * n / o), "length %lld", (long long)ny);
        double worst = 0;
        for (int64_t k = 0; k < ny; k += 7) {
            double acc = 0;
            for (int64_t q = 0; q < n; q++) {
                double t = ((double)q / o - (double)k / nn) * base;
                if (fabs(t) >= 6) continue;
                double sinc = t == 0 ? 1 : sin(M_PI * t) / (M_PI * t);
                double w = cos(M_PI * t / 12);
                acc += x[q] * sinc * w * w * base / o;
            }
            double d = fabs(acc - y[k]);
            if (d > worst) worst = d;
        }
        /* the float32 kernel and the float32 phase quirk move values by ~1e-5 */
        CHECK(worst < 3e-5, "torchaudio %d->%d vs direct sum: %g", orig, newr, worst);
        printf("  torchaudio %d->%d: %lld samples, max |diff| vs direct sinc sum %.2e\n", orig, newr, (long long)ny, worst);
    }
    free(x);
    free(y);
}

static double i0_ref(double x) {
    double s = 1, t = 1;
    for (int k = 1; k < 500; k++) {
        t *= (x / 2) * (x / 2) / ((double)k * k);
        s += t;
    }
    return s;
}

/* resampy: y(t) = sum_m x[m] * scale * h(scale*(t*orig/new - m)), h the
 * Kaiser-windowed sinc over 50 zero crossings (evaluated analytically here,
 * not from a table). */
static void test_resample_kaiser(int orig, int newr) {
    const int64_t n = 3000;
    float *x = test_signal(n, orig);
    aviary_resample_params p;
    aviary_resample_params_default(&p, AVIARY_RESAMPLE_KAISER_BEST);
    float *y = NULL;
    int64_t ny = 0;
    aviary_status s = aviary_resample(&p, x, n, orig, newr, &y, &ny);
    CHECK(s == AVIARY_OK, "kaiser %d->%d: %s", orig, newr, aviary_errmsg());
    if (s == AVIARY_OK) {
        double ratio = (double)newr / orig, scale = ratio < 1 ? ratio : 1;
        CHECK(ny == (int64_t)ceil(n * ratio), "length %lld", (long long)ny);
        const double Z = p.num_zeros, roll = p.rolloff, beta = p.kaiser_beta, ib = i0_ref(beta);
        double worst = 0;
        for (int64_t k = 0; k < (int64_t)(n * ratio); k += 7) {
            double tin = (double)k / ratio, acc = 0;
            for (int64_t m = 0; m < n; m++) {
                double tau = fabs(scale * (tin - (double)m));
                if (tau >= Z) continue;
                double u = tau / Z;
                double sinc = tau == 0 ? 1 : sin(M_PI * roll * tau) / (M_PI * roll * tau);
                double h = roll * sinc * i0_ref(beta * sqrt(1 - u * u)) / ib;
                acc += x[m] * scale * h;
            }
            double d = fabs(acc - y[k]);
            if (d > worst) worst = d;
        }
        /* resampy truncates the table step to int(scale*8192), so downsampling taps sit
         * up to ~1e-4 of a table step away from the ideal positions. */
        CHECK(worst < (ratio < 1 ? 1e-4 : 2e-6), "kaiser %d->%d vs direct sum: %g", orig, newr, worst);
        printf("  kaiser_best %d->%d: max |diff| vs direct windowed-sinc sum %.2e\n", orig, newr, worst);
        for (int64_t k = (int64_t)(n * ratio); k < ny; k++) CHECK(y[k] == 0, "fix_length pad not zero");
    }
    free(x);
    free(y);
}

static void test_resample_properties(void) {
    /* A 1 kHz sine keeps its shape; a tone above the new Nyquist vanishes. */
    const int orig = 44100, newr = 32000;
    const int64_t n = 44100;
    float *lo = malloc(n * sizeof(float)), *hi = malloc(n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        lo[i] = (float)(0.5 * sin(2 * M_PI * 1000.0 * i / orig));
        hi[i] = (float)(0.5 * sin(2 * M_PI * 19000.0 * i / orig));
    }
    for (int method = 0; method < 2; method++) {
        aviary_resample_params p;
        aviary_resample_params_default(&p, (aviary_resample_method)method);
        float *y = NULL, *z = NULL;
        int64_t ny = 0, nz = 0;
        CHECK(aviary_resample(&p, lo, n, orig, newr, &y, &ny) == AVIARY_OK, "sine");
        CHECK(aviary_resample(&p, hi, n, orig, newr, &z, &nz) == AVIARY_OK, "hi sine");
        double err = 0, rms = 0;
        for (int64_t i = 2000; i < 30000; i++) {
            double d = fabs(y[i] - 0.5 * sin(2 * M_PI * 1000.0 * i / newr));
            if (d > err) err = d;
            rms += (double)z[i] * z[i];
        }
        rms = sqrt(rms / 28000);
        CHECK(err < 1e-3, "method %d: 1 kHz sine error %g", method, err);
        /* torchaudio's 6-zero Hann sinc has a far weaker stopband than kaiser_best */
        CHECK(rms < (method == AVIARY_RESAMPLE_KAISER_BEST ? 1e-3 : 0.035), "method %d: 19 kHz tone leaks rms %g", method, rms);
        free(y);
        free(z);
    }
    /* identity and errors */
    aviary_resample_params p;
    aviary_resample_params_default(&p, AVIARY_RESAMPLE_TORCHAUDIO);
    float *y = NULL;
    int64_t ny = 0;
    CHECK(aviary_resample(&p, lo, 10, 16000, 16000, &y, &ny) == AVIARY_OK && ny == 10 && y[3] == lo[3], "identity");
    free(y);
    CHECK(aviary_resample(&p, lo, 10, 0, 16000, &y, &ny) == AVIARY_INVALID_ARG && y == NULL, "zero rate");
    CHECK(aviary_resample(&p, lo, 0, 8000, 16000, &y, &ny) == AVIARY_INVALID_ARG, "no samples");
    free(lo);
    free(hi);
}

static void test_kaiser_table(void) {
    aviary_resample_params p;
    aviary_resample_params_default(&p, AVIARY_RESAMPLE_KAISER_BEST);
    double *t = NULL;
    int64_t nt = 0;
    CHECK(aviary_resample_kaiser_table(&p, &t, &nt) == AVIARY_OK, "table");
    CHECK(nt == 50 * 8192 + 1, "table length %lld", (long long)nt);
    if (t) {
        CHECK(fabs(t[0] - 0.917347) < 1e-15, "t[0] = rolloff: %.17g", t[0]);
        /* zero crossings of sinc(rolloff*t) sit at t = k/rolloff: between table points, sign change */
        double zc = 1.0 / 0.917347 * 8192;
        int64_t i = (int64_t)zc;
        CHECK(t[i] * t[i + 1] <= 0, "first zero crossing near %g", zc);
        CHECK(fabs(t[nt - 1]) < 1e-6, "window tail %g", t[nt - 1]);
    }
    free(t);
}

/* ---- spectrogram --------------------------------------------------------- */

static void test_stft_sine(void) {
    aviary_spectrogram_params p;
    aviary_spectrogram_params_audiorwkv2024(&p);
    aviary_spectrogram *s = NULL;
    CHECK(aviary_spectrogram_create(&p, &s) == AVIARY_OK, "create: %s", aviary_errmsg());
    if (!s) return;
    const int64_t n = 32000;
    float *x = malloc(n * sizeof(float));
    /* 1000 Hz = FFT bin 32 exactly: with a periodic Hann window the power is
     * (N/4)^2 at bin 32 and (N/8)^2 at bins 31 and 33, zero elsewhere. */
    for (int64_t i = 0; i < n; i++) x[i] = (float)sin(2 * M_PI * 1000.0 * i / 32000);
    int64_t frames = aviary_spectrogram_n_frames(s, n);
    CHECK(frames == 101, "frames %lld", (long long)frames);
    float *out = malloc((size_t)frames * 64 * sizeof(float));
    CHECK(aviary_spectrogram_compute(s, x, n, out) == AVIARY_OK, "compute: %s", aviary_errmsg());
    const float *banks = aviary_spectrogram_mel_banks(s);
    const int nb = aviary_spectrogram_n_bins(s);
    CHECK(nb == 513, "bins");
    double worst = 0;
    for (int m = 0; m < 64; m++) {
        double e = banks[m * nb + 32] * 65536.0 + (banks[m * nb + 31] + banks[m * nb + 33]) * 16384.0;
        double want = 10 * log10(e > 1e-10 ? e : 1e-10);
        if (e < 1e-3) continue; /* bands away from the tone hold only float32 FFT noise */
        double d = fabs(out[50 * 64 + m] - want);
        if (d > worst) worst = d;
    }
    CHECK(worst < 1e-3, "sine mel dB vs analytic: %g dB", worst);
    /* Slaney banks: each triangle's area-normalised peak = 2/(f_right-f_left) */
    double sum0 = 0;
    for (int k = 0; k < nb; k++) sum0 += banks[k];
    CHECK(sum0 > 0, "first band empty");
    /* silence -> the floor */
    memset(x, 0, n * sizeof(float));
    CHECK(aviary_spectrogram_compute(s, x, n, out) == AVIARY_OK, "silence");
    CHECK(out[7] == -100.0f, "silence dB %g", out[7]);
    /* too short for reflect padding */
    aviary_status st = aviary_spectrogram_compute(s, x, 100, out);
    CHECK(st == AVIARY_INVALID_ARG && strstr(aviary_errmsg(), "too short"), "short: %s", aviary_errmsg());
    free(x);
    free(out);
    aviary_spectrogram_free(s);
}

static void test_kaldi(void) {
    aviary_spectrogram_params p;
    aviary_spectrogram_params_arwkv2025(&p);
    aviary_spectrogram *s = NULL;
    CHECK(aviary_spectrogram_create(&p, &s) == AVIARY_OK, "create: %s", aviary_errmsg());
    if (!s) return;
    const int nb = aviary_spectrogram_n_bins(s);
    const float *banks = aviary_spectrogram_mel_banks(s);
    double maxw = 0;
    for (int m = 0; m < 128; m++) {
        CHECK(banks[m * nb + nb - 1] == 0, "Nyquist weight not 0");
        for (int k = 0; k < nb; k++)
            if (banks[m * nb + k] > maxw) maxw = banks[m * nb + k];
    }
    CHECK(maxw <= 1.0 && maxw > 0.9, "kaldi peak %g", maxw);
    const int64_t n = 16000;
    CHECK(aviary_spectrogram_n_frames(s, n) == 1 + (16000 - 800) / 320, "snip_edges frames");
    CHECK(aviary_spectrogram_n_frames(s, 799) == 0, "short");
    float *x = malloc(n * sizeof(float));
    float *out = malloc(128 * 100 * sizeof(float));
    /* a constant is removed by DC removal: every band at the floor */
    for (int64_t i = 0; i < n; i++) x[i] = 0.25f;
    CHECK(aviary_spectrogram_compute(s, x, n, out) == AVIARY_OK, "dc");
    CHECK(fabsf(out[5] - logf(1.1920929e-07f)) < 1e-5, "dc -> floor: %g", out[5]);
    /* a 3 kHz tone peaks in the band whose centre is nearest 3 kHz */
    for (int64_t i = 0; i < n; i++) x[i] = (float)(0.3 * sin(2 * M_PI * 3000.0 * i / 32000));
    CHECK(aviary_spectrogram_compute(s, x, n, out) == AVIARY_OK, "tone");
    int arg = 0;
    for (int m = 1; m < 128; m++)
        if (out[10 * 128 + m] > out[10 * 128 + arg]) arg = m;
    int bin = 96; /* 3000 / 31.25 */
    int argb = 0;
    for (int m = 1; m < 128; m++)
        if (banks[m * nb + bin] > banks[argb * nb + bin]) argb = m;
    CHECK(arg == argb, "tone band %d, bank peak band %d", arg, argb);
    CHECK(aviary_spectrogram_compute(s, x, 700, out) == AVIARY_INVALID_ARG, "short input rejected");
    /* cut/pad and normalisation */
    float in[3 * 2] = {1, 2, 3, 4, 5, 6}, fit[4 * 2];
    CHECK(aviary_spectrogram_fit_frames(in, 3, 2, 4, 0.0f, -4.0, 2.0, fit) == AVIARY_OK, "fit");
    CHECK(fit[0] == 2.5f && fit[5] == 5.0f && fit[6] == 2.0f && fit[7] == 2.0f, "fit values %g %g %g", fit[0], fit[5],
          fit[6]);
    CHECK(aviary_spectrogram_fit_frames(in, 3, 2, 2, 0.0f, 0, 1, fit) == AVIARY_OK && fit[3] == 4.0f, "cut");
    CHECK(aviary_spectrogram_fit_frames(in, 3, 2, 2, 0.0f, 0, 0, fit) == AVIARY_INVALID_ARG, "std 0");
    free(x);
    free(out);
    aviary_spectrogram_free(s);
    /* bad params name the field */
    aviary_spectrogram_params_arwkv2025(&p);
    p.win_length = 2048;
    CHECK(aviary_spectrogram_create(&p, &s) == AVIARY_INVALID_ARG && strstr(aviary_errmsg(), "win_length") && !s,
          "bad win_length: %s", aviary_errmsg());
    aviary_spectrogram_params_arwkv2025(&p);
    p.fmax = 20000;
    CHECK(aviary_spectrogram_create(&p, &s) == AVIARY_INVALID_ARG && strstr(aviary_errmsg(), "mel range"),
          "bad fmax: %s", aviary_errmsg());
}

/* ---- encoders: loading and input checks (outputs are checked by the
 * audio-rwkv fixtures through `aviary verify`) ------------------------------ */
static void test_encoder_errors(void) {
    aviary_checkpoint *ck = NULL;
    aviary_audio_rwkv *m = NULL;
    if (aviary_checkpoint_open("fixtures/audio-arwkv2025/expected.safetensors", &ck) != AVIARY_OK) {
        printf("  (fixtures not present; encoder checks skipped)\n");
        return;
    }
    aviary_status s = aviary_audio_rwkv_load(ck, 0, &m);
    CHECK(s == AVIARY_UNSUPPORTED && !m && strstr(aviary_errmsg(), "expected.safetensors"), "not a model: %s",
          aviary_errmsg());
    aviary_checkpoint_close(ck);
    CHECK(aviary_checkpoint_open("fixtures/audio-arwkv2025/model.safetensors", &ck) == AVIARY_OK, "open model");
    s = aviary_audio_rwkv_load(ck, 0, &m);
    aviary_checkpoint_close(ck); /* weights are copied: the model outlives the checkpoint */
    CHECK(s == AVIARY_OK, "load: %s", aviary_errmsg());
    if (!m) return;
    const aviary_audio_rwkv_info *I = aviary_audio_rwkv_get_info(m);
    CHECK(I->variant == AVIARY_AUDIO_RWKV_2025 && I->n_layer == 2 && I->n_head == 2 && I->grid_h == 62 &&
              I->grid_w == 8 && I->min_frames == 992 && I->n_classes == 527,
          "info: variant %d layers %d grid %dx%d", I->variant, I->n_layer, I->grid_h, I->grid_w);
    float *spec = calloc(992 * 128, sizeof(float));
    float logits[527], probs[527];
    aviary_audio_rwkv_outputs o = {.logits = logits, .probs = probs};
    s = aviary_audio_rwkv_forward(m, spec, 991, 128, &o);
    CHECK(s == AVIARY_SHAPE && strstr(aviary_errmsg(), "991"), "short input: %s", aviary_errmsg());
    s = aviary_audio_rwkv_forward(m, spec, 992, 64, &o);
    CHECK(s == AVIARY_SHAPE, "wrong mel count");
    s = aviary_audio_rwkv_forward(m, spec, 992, 128, &o);
    CHECK(s == AVIARY_OK, "forward: %s", aviary_errmsg());
    for (int i = 0; i < 527 && s == AVIARY_OK; i++)
        if (!(probs[i] > 0 && probs[i] < 1) || fabsf(probs[i] - 1 / (1 + expf(-logits[i]))) > 1e-6) {
            CHECK(0, "probs[%d] = %g for logit %g", i, probs[i], logits[i]);
            break;
        }
    free(spec);
    aviary_audio_rwkv_free(m);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/aviary_test_audio_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_wav_channels();
    test_formats();
    test_bad_files();
    test_kaiser_table();
    test_resample_torchaudio(44100, 32000);
    test_resample_torchaudio(48000, 32000);
    test_resample_torchaudio(8000, 32000);
    test_resample_kaiser(44100, 32000);
    test_resample_kaiser(8000, 32000);
    test_resample_properties();
    test_stft_sine();
    test_kaldi();
    test_encoder_errors();
    const char *names[] = {"three.wav", "trunc.wav", "a.flac", "a.ogg", "a.opus", "a.mp3", "empty.wav", "garbage.wav"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
    rmdir(tmpdir);
    if (failures) {
        fprintf(stderr, "test_audio: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_audio: all checks passed\n");
    return 0;
}
