/* test_ts_plugins.c - the RWKV-TS plugins (encoders/ts_patch, heads/ts_forecast)
 * loaded through the plugin registry and run by hand (as the pipeline runner
 * does): the forecast for the last 336 rows of the weather data must equal the
 * reference forecast_raw_tail of tests/fixtures/ts-rwkv-weather-trained
 * (fixture tolerance atol 1e-4, rtol 1e-4); bad option values are refused. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_plugin.h"

#define FX "fixtures/ts-rwkv-weather-trained/"

#include "test_util.h"
#include "test_plugin_host.h"

int main(void) {
    aviary_plugin_registry *reg = NULL;
    CHECK(aviary_plugin_registry_open(NULL, &reg) == AVIARY_OK);
    const aviary_plugin_info *enc = NULL, *head = NULL;
    CHECK(aviary_plugin_registry_find(reg, "ts_patch", &enc) == AVIARY_OK);
    CHECK(aviary_plugin_registry_find(reg, "ts_forecast", &head) == AVIARY_OK);
    if (!enc || !head) {
        aviary_plugin_registry_free(reg);
        fprintf(stderr, "test_ts_plugins: plugins not found\n");
        return 1;
    }
    CHECK(enc->desc->kind == AVIARY_PLUGIN_ENCODER && head->desc->kind == AVIARY_PLUGIN_HEAD);
    aviary_checkpoint *ck = NULL, *exp = NULL;
    CHECK(aviary_checkpoint_open(FX "model.safetensors", &ck) == AVIARY_OK);
    CHECK(aviary_checkpoint_open(FX "expected.safetensors", &exp) == AVIARY_OK);
    aviary_host_api host = {sizeof host, AVIARY_PLUGIN_ABI_MAJOR, AVIARY_PLUGIN_ABI_MINOR, aviary_version(),
                            host_log, host_error, host_threads};

    aviary_option_value eo[16], ho[4];
    const char *eset[] = {"seq_len", "336", "stride", "8"};
    fill_options(enc->desc, eset, 2, eo);
    fill_options(head->desc, NULL, 0, ho);
    aviary_plugin_create_args ea = {sizeof ea, &host, "encoder", eo, enc->desc->n_options, ck, FX "model.safetensors",
                                    NULL, "."};
    aviary_plugin_create_args ha = ea;
    ha.stage = "head";
    ha.options = ho;
    ha.n_options = head->desc->n_options;
    void *ei = NULL, *hi = NULL;
    CHECK(enc->desc->create(&ea, &ei) == AVIARY_OK);
    CHECK(head->desc->create(&ha, &hi) == AVIARY_OK);
    if (ei && hi && exp) {
        aviary_value in = {AVIARY_PORT_PATH, {0}, (char *)FX "seattle_hourly_normals.csv"};
        aviary_value mid[2] = {{AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}};
        aviary_value out = {AVIARY_PORT_TENSOR, {0}, NULL};
        CHECK(enc->desc->run(ei, &in, mid) == AVIARY_OK);
        CHECK(mid[0].tensor.ndim == 3 && mid[0].tensor.shape[0] == 3 && mid[0].tensor.shape[1] == 42 &&
              mid[0].tensor.shape[2] == 128);
        CHECK(mid[1].tensor.ndim == 2 && mid[1].tensor.shape[0] == 3 && mid[1].tensor.shape[1] == 2);
        CHECK(head->desc->run(hi, mid, &out) == AVIARY_OK);
        const aviary_tensor *ref = aviary_checkpoint_find(exp, "forecast_raw_tail");
        CHECK(ref && out.tensor.ndim == 2 && out.tensor.shape[0] == 96 && out.tensor.shape[1] == 3);
        if (ref && out.tensor.data && aviary_tensor_numel(&out.tensor) == 288) {
            float r[288];
            CHECK(aviary_tensor_to_f32(ref, r) == AVIARY_OK);
            const float *g = out.tensor.data;
            int bad = 0;
            double worst = 0;
            for (int i = 0; i < 288; i++) {
                double d = fabs((double)g[i] - r[i]);
                if (d > worst) worst = d;
                if (d > 1e-4 + 1e-4 * fabs(r[i])) bad++;
            }
            printf("plugins vs forecast_raw_tail: max |diff| %.3g, %d of 288 outside tolerance\n", worst, bad);
            CHECK(bad == 0);
        }
        aviary_tensor_free(&mid[0].tensor);
        aviary_tensor_free(&mid[1].tensor);
        aviary_tensor_free(&out.tensor);
        /* a CSV that is too short is an error naming the file, not a crash */
        aviary_value shortcsv = {AVIARY_PORT_PATH, {0}, (char *)"corpus/csv/hourly.csv"};
        aviary_value m2[2] = {{AVIARY_PORT_TENSOR, {0}, NULL}, {AVIARY_PORT_TENSOR, {0}, NULL}};
        CHECK(enc->desc->run(ei, &shortcsv, m2) == AVIARY_SHAPE);
        CHECK(strstr(aviary_errmsg(), "hourly.csv: 2 data rows") != NULL);
        aviary_tensor_free(&m2[0].tensor);
        aviary_tensor_free(&m2[1].tensor);
    }
    enc->desc->destroy(ei);
    head->desc->destroy(hi);

    /* bad options: wrong stride for the checkpoint, unknown scale, horizon beyond pred_len */
    const char *bad1[] = {"seq_len", "336", "stride", "16"};
    fill_options(enc->desc, bad1, 2, eo);
    void *x = NULL;
    CHECK(enc->desc->create(&ea, &x) == AVIARY_CONFIG && x == NULL);
    const char *bad2[] = {"seq_len", "336", "stride", "8", "scale", "zscore"};
    fill_options(enc->desc, bad2, 3, eo);
    CHECK(enc->desc->create(&ea, &x) == AVIARY_CONFIG && x == NULL);
    CHECK(strstr(aviary_errmsg(), "options.scale") != NULL);
    const char *bad3[] = {"horizon", "97"};
    fill_options(head->desc, bad3, 1, ho);
    CHECK(head->desc->create(&ha, &x) == AVIARY_CONFIG && x == NULL);

    aviary_checkpoint_close(ck);
    aviary_checkpoint_close(exp);
    aviary_plugin_registry_free(reg);
    if (failures) {
        fprintf(stderr, "test_ts_plugins: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_ts_plugins: all passed\n");
    return 0;
}
