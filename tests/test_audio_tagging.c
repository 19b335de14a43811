/* test_audio_tagging.c - the model-window front end (aviary_audio_rwkv_input.h)
 * and the tagging helpers (aviary_tagging.h).
 *  - Each audio fixture's input.wav through aviary_audio_rwkv_input + the
 *    model must give the fixture's expected probs (clips shorter than the
 *    window are the reference computation), within the fixture's tolerance.
 *  - Labels: the AudioSet CSV (quoted names with commas), plain lists and
 *    malformed files; windows, aggregation and top-k on hand-made cases. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "aviary/aviary_audio_rwkv_input.h"
#include "aviary/aviary_tagging.h"

static int failures;
#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); fprintf(stderr, __VA_ARGS__); \
                                       fprintf(stderr, "\n"); failures++; } } while (0)

static void fixture_probs(const char *dir, double tol) {
    char p[512];
    aviary_checkpoint *ck = NULL, *ex = NULL;
    aviary_audio_rwkv *m = NULL;
    aviary_audio_rwkv_input *in = NULL;
    aviary_audio a = {0};
    float *wave = NULL, *spec = NULL, probs[527];
    int64_t n = 0;
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    aviary_status s = aviary_checkpoint_open(p, &ck);
    if (!s) s = aviary_audio_rwkv_load(ck, 0, &m);
    const aviary_audio_rwkv_info *I = m ? aviary_audio_rwkv_get_info(m) : NULL;
    if (!s) s = aviary_audio_rwkv_input_create(I, NULL, &in);
    snprintf(p, sizeof p, "%s/input.wav", dir);
    if (!s) s = aviary_audio_read(p, &a);
    if (!s) s = aviary_audio_rwkv_input_waveform(in, &a, p, &wave, &n);
    CHECK(!s, "%s: %s", dir, aviary_errmsg());
    if (s) goto done;
    CHECK(n < aviary_audio_rwkv_input_window(in), "%s: the fixture clip should fit one window", dir);
    CHECK(aviary_window_count(n, aviary_audio_rwkv_input_window(in), 1000) == 1, "one window");
    spec = malloc((size_t)aviary_audio_rwkv_input_frames(in) * (size_t)aviary_audio_rwkv_input_mels(in) * sizeof(float));
    aviary_audio_rwkv_outputs o = {.probs = probs};
    s = aviary_audio_rwkv_input_spectrogram(in, wave, n, spec);
    if (!s) s = aviary_audio_rwkv_forward(m, spec, aviary_audio_rwkv_input_frames(in), aviary_audio_rwkv_input_mels(in), &o);
    CHECK(!s, "%s: %s", dir, aviary_errmsg());
    snprintf(p, sizeof p, "%s/expected.safetensors", dir);
    const aviary_tensor *t = NULL;
    if (!s && !aviary_checkpoint_open(p, &ex) && (t = aviary_checkpoint_find(ex, "probs")) &&
        aviary_tensor_numel(t) == 527) {
        float want[527];
        aviary_tensor_to_f32(t, want);
        double worst = 0;
        for (int i = 0; i < 527; i++) {
            double e = fabs(probs[i] - want[i]) - tol * fabs(want[i]);
            if (e > worst) worst = e;
        }
        CHECK(worst <= tol, "%s: probs differ from the fixture by %g (> %g)", dir, worst, tol);
    } else {
        CHECK(0, "%s: cannot read expected probs", p);
    }
    /* one sample short of the minimum: a clear error */
    s = aviary_audio_rwkv_input_spectrogram(in, wave, aviary_audio_rwkv_input_min_samples(in) - 1, spec);
    CHECK(s == AVIARY_SHAPE, "too-short window accepted");
done:
    aviary_checkpoint_close(ck);
    aviary_checkpoint_close(ex);
    aviary_audio_rwkv_free(m);
    aviary_audio_rwkv_input_free(in);
    aviary_audio_free(&a);
    free(wave);
    free(spec);
}

static const char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/aviary_labels_%d.txt", (int)getpid());
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    return path;
}

static void labels(void) {
    aviary_label_list *l = NULL;
    CHECK(!aviary_label_list_read("fixtures/audioset-labels/class_labels_indices.csv", &l), "%s", aviary_errmsg());
    CHECK(aviary_label_list_count(l) == 527, "527 AudioSet labels");
    CHECK(!strcmp(aviary_label_list_name(l, 1), "Male speech, man speaking"), "quoted name with comma: %s",
          aviary_label_list_name(l, 1));
    CHECK(!strcmp(aviary_label_list_id(l, 0), "/m/09x0r") && !strcmp(aviary_label_list_name(l, 0), "Speech"), "row 0");
    CHECK(!strcmp(aviary_label_list_name(l, 526), "Field recording"), "last row: %s", aviary_label_list_name(l, 526));
    aviary_label_list_free(l);
    const char *p = write_tmp("cat\r\ndog\n\"quoted\"\n");
    CHECK(!aviary_label_list_read(p, &l) && aviary_label_list_count(l) == 3 && !strcmp(aviary_label_list_name(l, 1), "dog") &&
              !strcmp(aviary_label_list_name(l, 2), "\"quoted\""), "plain list");
    aviary_label_list_free(l);
    l = NULL;
    p = write_tmp("index,mid,display_name\n0,/m/a,\"A, \"\"x\"\"\"\n2,/m/b,B\n");
    CHECK(aviary_label_list_read(p, &l) == AVIARY_FORMAT && !l && strstr(aviary_errmsg(), ":3: index '2', expected 1"),
          "index gap: %s", aviary_errmsg());
    p = write_tmp("index,mid,display_name\n0,/m/a,\"A, \"\"x\"\"\"\n1,/m/b,\"unterminated\n");
    CHECK(aviary_label_list_read(p, &l) == AVIARY_FORMAT && strstr(aviary_errmsg(), ":3: malformed"), "bad quote: %s",
          aviary_errmsg());
    p = write_tmp("index,mid,display_name\n0,/m/a,\"A, \"\"x\"\"\"\n");
    CHECK(!aviary_label_list_read(p, &l) && !strcmp(aviary_label_list_name(l, 0), "A, \"x\""), "escaped quotes: %s",
          l ? aviary_label_list_name(l, 0) : "-");
    aviary_label_list_free(l);
    p = write_tmp("");
    CHECK(aviary_label_list_read(p, &l) == AVIARY_FORMAT && strstr(aviary_errmsg(), "no class labels"), "empty");
    p = write_tmp("a\n\nb\n");
    CHECK(aviary_label_list_read(p, &l) == AVIARY_FORMAT && strstr(aviary_errmsg(), ":2: empty line"), "blank line");
    CHECK(aviary_label_list_read("/nonexistent/labels.csv", &l) == AVIARY_IO && strstr(aviary_errmsg(), "/nonexistent/labels.csv"),
          "missing file");
    unlink(p);
}

static void windows(void) {
    /* 25 s at 1 sample/s with 10 s windows, hop 5: starts 0,5,10,15 (15+10 = 25 = end) */
    CHECK(aviary_window_hop(10, 0.5) == 5 && aviary_window_hop(10, 0) == 10 && aviary_window_hop(3, 0.9) == 1, "hop");
    CHECK(aviary_window_count(25, 10, 5) == 4, "count 25/10/5 = %lld", (long long)aviary_window_count(25, 10, 5));
    CHECK(aviary_window_start(25, 10, 5, 3) == 15, "start 3");
    /* 27 s: 0,5,10,15 then a final window 17..27 */
    CHECK(aviary_window_count(27, 10, 5) == 5 && aviary_window_start(27, 10, 5, 4) == 17, "final window");
    CHECK(aviary_window_count(7, 10, 5) == 1 && aviary_window_start(7, 10, 5, 0) == 0, "short clip");
    CHECK(aviary_window_count(10, 10, 5) == 1 && aviary_window_count(0, 10, 5) == 0, "exact / empty");
    CHECK(aviary_window_count(21, 10, 10) == 3 && aviary_window_start(21, 10, 10, 2) == 11, "no overlap tail");
    float x[6] = {0.1f, 0.9f, 0.5f, 0.3f, 0.2f, 0.7f}, out[3];
    aviary_scores_aggregate(x, 2, 3, AVIARY_AGGREGATE_MAX, out);
    CHECK(out[0] == 0.3f && out[1] == 0.9f && out[2] == 0.7f, "max");
    aviary_scores_aggregate(x, 2, 3, AVIARY_AGGREGATE_MEAN, out);
    CHECK(fabsf(out[0] - 0.2f) < 1e-7f && fabsf(out[1] - 0.55f) < 1e-7f && fabsf(out[2] - 0.6f) < 1e-7f, "mean");
    aviary_aggregate ag;
    CHECK(aviary_aggregate_parse("mean", &ag) == AVIARY_OK && ag == AVIARY_AGGREGATE_MEAN, "parse mean");
    CHECK(aviary_aggregate_parse("median", &ag) == AVIARY_INVALID_ARG, "parse bad");
    float y[6] = {0.5f, NAN, 0.9f, 0.5f, 0.1f, 0.9f};
    size_t idx[6];
    CHECK(aviary_scores_top_k(y, 6, 4, idx) == 4 && idx[0] == 2 && idx[1] == 5 && idx[2] == 0 && idx[3] == 3, "top-k ties");
    CHECK(aviary_scores_top_k(y, 6, 9, idx) == 6 && idx[4] == 4 && idx[5] == 1, "top-k all, NaN last");
}

int main(void) {
    fixture_probs("fixtures/audio-arwkv2025", 7e-5);
    fixture_probs("fixtures/audio-rwkv2024", 2e-5);
    labels();
    windows();
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("audio tagging ok\n");
    return 0;
}
