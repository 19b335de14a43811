/* test_audio_plugins.c - encoders/audio_rwkv (file and waveform builds) and
 * heads/audio_tagging loaded through the plugin registry and run by hand (as
 * the pipeline runner does) on tests/fixtures/audio-arwkv2025: the waveform
 * plugin fed the decoded input.wav must give the fixture's logits (atol =
 * rtol = 3e-4) and be bit-identical to the file plugin; the head's
 * probabilities must match the fixture's probs (7e-5) and its tags name the
 * top class; bad options are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_audio.h"
#include "aviary/aviary_plugin.h"

#define FX "fixtures/audio-arwkv2025/"

#include "test_util.h"
#include "test_plugin_host.h"

static void free_values(aviary_value *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        aviary_tensor_free(&v[i].tensor);
        free(v[i].text);
    }
}

/* max over i of |a - b| - rtol*|b| (<= atol passes) */
static double excess(const float *a, const float *b, size_t n, double rtol) {
    double w = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) - rtol * fabs(b[i]);
        if (!(e <= w)) w = e;
    }
    return w;
}

int main(void) {
    aviary_host_api host = {sizeof host, AVIARY_PLUGIN_ABI_MAJOR, AVIARY_PLUGIN_ABI_MINOR, "test", host_log, host_error,
                            host_threads};
    aviary_plugin_registry *reg = NULL;
    CHECK(aviary_plugin_registry_open(NULL, &reg) == AVIARY_OK);
    const aviary_plugin_info *wave = NULL, *file = NULL, *head = NULL;
    CHECK(aviary_plugin_registry_find(reg, "audio_rwkv_wave", &wave) == AVIARY_OK);
    CHECK(aviary_plugin_registry_find(reg, "audio_rwkv", &file) == AVIARY_OK);
    CHECK(aviary_plugin_registry_find(reg, "audio_tagging", &head) == AVIARY_OK);
    aviary_checkpoint *ck = NULL, *ex = NULL;
    CHECK(aviary_checkpoint_open(FX "model.safetensors", &ck) == AVIARY_OK);
    CHECK(aviary_checkpoint_open(FX "expected.safetensors", &ex) == AVIARY_OK);
    if (!wave || !file || !head || !ck || !ex) return 1;
    float want_logits[527], want_probs[527];
    CHECK(aviary_tensor_to_f32(aviary_checkpoint_find(ex, "logits"), want_logits) == AVIARY_OK);
    CHECK(aviary_tensor_to_f32(aviary_checkpoint_find(ex, "probs"), want_probs) == AVIARY_OK);

    /* waveform plugin on the decoded file */
    const aviary_plugin_descriptor *wd = wave->desc, *fd = file->desc, *hd = head->desc;
    aviary_option_value wopt[8], fopt[8], hopt[8];
    const char *wset[] = {"sample_rate", "44100"};
    fill_options(wd, wset, 1, wopt);
    aviary_plugin_create_args args = {sizeof args, &host, "encoder", wopt, wd->n_options, ck, FX "model.safetensors",
                                      NULL, "."};
    void *wi = NULL, *fi = NULL, *hi = NULL;
    CHECK(wd->create(&args, &wi) == AVIARY_OK);
    aviary_audio a;
    CHECK(aviary_audio_read(FX "input.wav", &a) == AVIARY_OK);
    aviary_value in = {AVIARY_PORT_TENSOR, {0}, NULL};
    in.tensor.dtype = AVIARY_F32;
    in.tensor.ndim = 2;
    in.tensor.shape[0] = a.channels;
    in.tensor.shape[1] = a.frames;
    in.tensor.data = a.samples;
    aviary_tensor_set_contiguous(&in.tensor);
    aviary_value wout[3] = {{AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}};
    CHECK(wi && wd->run(wi, &in, wout) == AVIARY_OK);
    CHECK(wout[0].tensor.ndim == 2 && wout[0].tensor.shape[0] == 1 && wout[0].tensor.shape[1] == 527);
    if (wout[0].tensor.data) CHECK(excess(wout[0].tensor.data, want_logits, 527, 3e-4) <= 3e-4);
    CHECK(wout[2].tensor.data && ((float *)wout[2].tensor.data)[0] == 0.0f &&
          fabsf(((float *)wout[2].tensor.data)[1] - 5.5f) < 1e-4f);

    /* file plugin: the same numbers, bit for bit */
    fill_options(fd, NULL, 0, fopt);
    args.options = fopt;
    args.n_options = fd->n_options;
    CHECK(fd->create(&args, &fi) == AVIARY_OK);
    aviary_value fin = {AVIARY_PORT_PATH, {0}, (char *)FX "input.wav"};
    aviary_value fout[3] = {{AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}};
    CHECK(fi && fd->run(fi, &fin, fout) == AVIARY_OK);
    CHECK(fout[0].tensor.data && wout[0].tensor.data && !memcmp(fout[0].tensor.data, wout[0].tensor.data, 527 * sizeof(float)));
    CHECK(fout[1].tensor.data && wout[1].tensor.data &&
          !memcmp(fout[1].tensor.data, wout[1].tensor.data, (size_t)aviary_tensor_numel(&fout[1].tensor) * sizeof(float)));

    /* head */
    const char *hset[] = {"labels", "fixtures/audioset-labels/class_labels_indices.csv", "top_k", "2"};
    fill_options(hd, hset, 2, hopt);
    aviary_plugin_create_args hargs = {sizeof hargs, &host, "head", hopt, hd->n_options, NULL, NULL, NULL, "."};
    CHECK(hd->create(&hargs, &hi) == AVIARY_OK);
    aviary_value hin[2] = {wout[0], wout[2]};
    hin[0].type = hin[1].type = AVIARY_PORT_TENSOR;
    aviary_value hout[3] = {{AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TEXT, {0}, NULL}};
    CHECK(hi && hd->run(hi, hin, hout) == AVIARY_OK);
    if (hout[0].tensor.data) CHECK(excess(hout[0].tensor.data, want_probs, 527, 7e-5) <= 7e-5);
    CHECK(hout[2].text && !strncmp(hout[2].text, "0.9937\tDidgeridoo\n", 18) && !strchr(strchr(hout[2].text, '\n') + 1, '\n'));

    /* bad options */
    void *bad = NULL;
    const char *b1[] = {"sample_rate", "12"};
    fill_options(wd, b1, 1, wopt);
    args.options = wopt;
    args.n_options = wd->n_options;
    CHECK(wd->create(&args, &bad) == AVIARY_CONFIG && !bad && strstr(aviary_errmsg(), "options.sample_rate"));
    const char *b2[] = {"sample_rate", "16000", "variant", "2024"};
    fill_options(wd, b2, 2, wopt);
    CHECK(wd->create(&args, &bad) == AVIARY_CONFIG && !bad && strstr(aviary_errmsg(), "A-RWKV-2025"));
    const char *b3[] = {"aggregate", "median"};
    fill_options(hd, b3, 1, hopt);
    CHECK(hd->create(&hargs, &bad) == AVIARY_CONFIG && !bad && strstr(aviary_errmsg(), "options.aggregate"));

    free_values(wout, 3);
    free_values(fout, 3);
    free_values(hout, 3);
    wd->destroy(wi);
    fd->destroy(fi);
    hd->destroy(hi);
    aviary_audio_free(&a);
    aviary_checkpoint_close(ck);
    aviary_checkpoint_close(ex);
    aviary_plugin_registry_free(reg);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("audio plugins ok\n");
    return 0;
}
