/* verify_rwkv_ts.c - `aviary verify` for family "rwkv-ts" (RWKV-TS forecasters).
 *
 * Two kinds of fixture:
 *  - a raw-units window (inputs.series = CSV, expected x [seq_len, C]): every
 *    stage is compared (x, revin_mean/std, patches, embed, blockN, head, forecast);
 *  - a trained model with its dataset (expected x [B, seq_len, 1]): the data
 *    pipeline is rebuilt from the CSV alone (70/10/20 borders, train-fitted
 *    scaler, channel-major test windows) and compared (x, y_true, x_multi,
 *    x_raw_tail, x_raw_tail_scaled) together with the model outputs
 *    (forecast, forecast_multi, forecast_raw_tail).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aviary/aviary_csv.h"
#include "aviary/aviary_ts_eval.h"
#include "verify.h"

static int cfg_int(const cJSON *cfg, const char *key, int def) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(cfg, key);
    return cJSON_IsNumber(j) ? j->valueint : def;
}

static bool has_expected(verify_ctx *v, const char *name) {
    return v->expected && aviary_checkpoint_find(v->expected, name) != NULL;
}

static int64_t expected_dim(verify_ctx *v, const char *name, int d) {
    const aviary_tensor *t = v->expected ? aviary_checkpoint_find(v->expected, name) : NULL;
    return t && d < t->ndim ? t->shape[d] : -1;
}

/* Raw-units window fixture: stage by stage. */
static void run_window(verify_ctx *v, const aviary_ts_model *m, const cJSON *inputs) {
    const aviary_ts_info *I = aviary_ts_model_info(m);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(inputs, "series");
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(inputs, "series_columns");
    const cJSON *datec = cJSON_GetObjectItemCaseSensitive(inputs, "date_column");
    if (!cJSON_IsString(series)) { verify_failf(v, "fixture.json: inputs.series missing"); return; }
    const char *names[64];
    size_t nn = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cols) if (cJSON_IsString(it) && nn < 64) names[nn++] = it->valuestring;
    aviary_csv_options o = aviary_csv_default_options();
    o.columns = nn ? names : NULL;
    o.n_columns = nn;
    o.date_column = cJSON_IsString(datec) ? datec->valuestring : NULL;
    char path[4096];
    aviary_csv *csv = NULL;
    if (aviary_csv_read(verify_path(v, series->valuestring, path, sizeof path), &o, &csv)) {
        verify_failf(v, "series: %s", aviary_errmsg());
        return;
    }
    int64_t C = (int64_t)aviary_csv_cols(csv), L = I->seq_len, P = I->patch_num, D = I->d_model, H = I->pred_len;
    int64_t rows = (int64_t)aviary_csv_rows(csv);
    if (rows < L) {
        verify_failf(v, "series: %lld rows, need seq_len %lld", (long long)rows, (long long)L);
        aviary_csv_free(csv);
        return;
    }
    size_t n = (size_t)(C * (L + 2 + P * I->patch_len + P * D + 2 * H) + L * C);
    float *buf = malloc(n * sizeof(float));
    float *tmp = malloc((size_t)(C * (L > P * D ? L : P * D)) * sizeof(float));
    if (!buf || !tmp) { verify_failf(v, "out of memory"); goto out; }
    float *xtc = buf, *xs = xtc + L * C, *mean = xs + C * L, *sd = mean + C, *pat = sd + C, *tok = pat + C * P * I->patch_len,
          *head = tok + C * P * D, *fc = head + C * H;
    /* last seq_len rows, time-major [L][C] as the model input */
    for (int64_t t = 0; t < L; t++)
        for (int64_t c = 0; c < C; c++) xtc[t * C + c] = (float)aviary_csv_value(csv, (size_t)(rows - L + t), (size_t)c);
    verify_compare(v, "x", xtc, L * C, "(from the CSV)");
    for (int64_t t = 0; t < L; t++)
        for (int64_t c = 0; c < C; c++) xs[c * L + t] = xtc[t * C + c];
    aviary_status s;
    if ((s = aviary_ts_normalize(m, xs, C, tmp, mean, sd))) goto fail;
    verify_compare(v, "revin_mean", mean, C, NULL);
    verify_compare(v, "revin_std", sd, C, NULL);
    if ((s = aviary_ts_patchify(m, tmp, C, pat))) goto fail;
    verify_compare(v, "patches", pat, C * P * I->patch_len, NULL);
    if ((s = aviary_ts_embed(m, pat, C, tok))) goto fail;
    verify_compare(v, "embed", tok, C * P * D, NULL);
    for (int l = 0; l < I->n_layer; l++) {
        if ((s = aviary_ts_block(m, l, tok, C))) goto fail;
        char nm[32];
        snprintf(nm, sizeof nm, "block%d", l);
        if (has_expected(v, nm)) verify_compare(v, nm, tok, C * P * D, NULL);
    }
    if ((s = aviary_ts_head(m, tok, C, head))) goto fail;
    for (int64_t t = 0; t < H; t++)
        for (int64_t c = 0; c < C; c++) tmp[t * C + c] = head[c * H + t];
    verify_compare(v, "head", tmp, H * C, "[pred_len, C]");
    aviary_ts_denormalize(m, head, C, mean, sd);
    for (int64_t t = 0; t < H; t++)
        for (int64_t c = 0; c < C; c++) fc[t * C + c] = head[c * H + t];
    verify_compare(v, "forecast", fc, H * C, "[pred_len, C]");
    /* the one-call path must agree with the staged one */
    if ((s = aviary_ts_forecast(m, xs, C, head))) goto fail;
    for (int64_t t = 0; t < H; t++)
        for (int64_t c = 0; c < C; c++) tmp[t * C + c] = head[c * H + t];
    verify_compare(v, "forecast", tmp, H * C, "(aviary_ts_forecast)");
    goto out;
fail:
    verify_failf(v, "model: %s", aviary_errmsg());
out:
    free(buf);
    free(tmp);
    aviary_csv_free(csv);
}

/* Trained-model fixture: data pipeline from the CSV + model outputs. */
static void run_dataset(verify_ctx *v, const aviary_ts_model *m, const cJSON *inputs) {
    const aviary_ts_info *I = aviary_ts_model_info(m);
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(inputs, "series");
    if (!cJSON_IsString(series)) { verify_failf(v, "fixture.json: inputs.series missing"); return; }
    char path[4096];
    aviary_csv *csv = NULL;
    verify_path(v, series->valuestring, path, sizeof path);
    if (aviary_csv_read(path, NULL, &csv)) {
        verify_failf(v, "series: %s", aviary_errmsg());
        return;
    }
    const int64_t C = (int64_t)aviary_csv_cols(csv), N = (int64_t)aviary_csv_rows(csv), L = I->seq_len, H = I->pred_len;
    float *scaled = NULL, *x = NULL, *y = NULL, *w = NULL;
    double *mean = NULL, *sd = NULL;
    aviary_ts_borders bd;
    if (aviary_ts_split_borders(aviary_ts_split_for_file(path), N, (int)L, (int)H, &bd)) {
        verify_failf(v, "split: %s", aviary_errmsg());
        goto out;
    }
    printf("  data %s: %lld rows x %lld columns; borders train [%lld, %lld) val [%lld, %lld) test [%lld, %lld)\n",
           series->valuestring, (long long)N, (long long)C, (long long)bd.train[0], (long long)bd.train[1],
           (long long)bd.val[0], (long long)bd.val[1], (long long)bd.test[0], (long long)bd.test[1]);
    scaled = malloc((size_t)(N * C) * sizeof(float));
    mean = malloc((size_t)C * sizeof(double));
    sd = malloc((size_t)C * sizeof(double));
    int64_t B = expected_dim(v, "x", 0);
    if (B < 1) B = 1;
    int64_t nmax = (B > C ? B : C);
    x = malloc((size_t)(nmax * L) * sizeof(float));
    y = malloc((size_t)(nmax * H) * sizeof(float));
    w = malloc((size_t)(nmax * (L > H ? L : H)) * sizeof(float));
    if (!scaled || !mean || !sd || !x || !y || !w) { verify_failf(v, "out of memory"); goto out; }
    aviary_ts_scaler_fit(aviary_csv_data(csv), C, bd.train[0], bd.train[1], mean, sd);
    aviary_ts_scaler_apply(aviary_csv_data(csv), N, C, mean, sd, scaled);
    aviary_status s;
    int64_t per = (bd.test[1] - bd.test[0]) - L - H + 1;
    if (has_expected(v, "x")) {
        /* first B windows of the test loader: channel 0, starts 0..B-1 */
        for (int64_t b = 0; b < B; b++) {
            int64_t c = b / per, st = bd.test[0] + b % per;
            for (int64_t t = 0; t < L; t++) x[b * L + t] = scaled[(st + t) * C + c];
            for (int64_t t = 0; t < H; t++) w[b * H + t] = scaled[(st + L + t) * C + c];
        }
        verify_compare(v, "x", x, B * L, "(test windows rebuilt from the CSV)");
        if (has_expected(v, "y_true")) verify_compare(v, "y_true", w, B * H, "(test targets from the CSV)");
        if ((s = aviary_ts_forecast(m, x, B, y))) goto fail;
        verify_compare(v, "forecast", y, B * H, NULL);
    }
    if (has_expected(v, "x_multi")) {
        for (int64_t t = 0; t < L; t++)
            for (int64_t c = 0; c < C; c++) w[t * C + c] = scaled[(bd.test[0] + t) * C + c];
        verify_compare(v, "x_multi", w, L * C, "(first test window per channel)");
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < L; t++) x[c * L + t] = w[t * C + c];
        if ((s = aviary_ts_forecast(m, x, C, y))) goto fail;
        for (int64_t t = 0; t < H; t++)
            for (int64_t c = 0; c < C; c++) w[t * C + c] = y[c * H + t];
        verify_compare(v, "forecast_multi", w, H * C, NULL);
    }
    if (has_expected(v, "x_raw_tail")) {
        for (int64_t t = 0; t < L; t++)
            for (int64_t c = 0; c < C; c++) w[t * C + c] = (float)aviary_csv_value(csv, (size_t)(N - L + t), (size_t)c);
        verify_compare(v, "x_raw_tail", w, L * C, "(last rows of the CSV)");
        for (int64_t t = 0; t < L; t++)
            for (int64_t c = 0; c < C; c++) w[t * C + c] = scaled[(N - L + t) * C + c];
        verify_compare(v, "x_raw_tail_scaled", w, L * C, "(train-fitted scaler)");
        for (int64_t c = 0; c < C; c++)
            for (int64_t t = 0; t < L; t++) x[c * L + t] = w[t * C + c];
        if ((s = aviary_ts_forecast(m, x, C, y))) goto fail;
        for (int64_t t = 0; t < H; t++)
            for (int64_t c = 0; c < C; c++) w[t * C + c] = (float)((double)y[c * H + t] * sd[c] + mean[c]);
        verify_compare(v, "forecast_raw_tail", w, H * C, "(raw units)");
    }
    goto out;
fail:
    verify_failf(v, "model: %s", aviary_errmsg());
out:
    free(scaled);
    free(mean);
    free(sd);
    free(x);
    free(y);
    free(w);
    aviary_csv_free(csv);
}

int verify_rwkv_ts(verify_ctx *v) {
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(v->fixture, "config");
    const cJSON *inputs = cJSON_GetObjectItemCaseSensitive(v->fixture, "inputs");
    aviary_ts_params p = aviary_ts_default_params();
    p.seq_len = cfg_int(cfg, "seq_len", 0);
    p.stride = cfg_int(cfg, "stride", 0);
    p.weights = AVIARY_WEIGHTS_F32;
    const cJSON *gn = cJSON_GetObjectItemCaseSensitive(cfg, "groupnorm_eps");
    if (cJSON_IsNumber(gn)) p.gn_eps = gn->valuedouble;
    const cJSON *ln = cJSON_GetObjectItemCaseSensitive(cfg, "layernorm_eps");
    if (cJSON_IsNumber(ln)) p.ln_eps = ln->valuedouble;
    char path[4096];
    const char *wpath = v->weights ? v->weights : verify_path(v, "model.safetensors", path, sizeof path);
    aviary_ts_model *m = NULL;
    if (aviary_ts_model_load(wpath, &p, &m)) return cli_fail_status(AVIARY_ERROR);
    const aviary_ts_info *I = aviary_ts_model_info(m);
    printf("  model %s: seq_len %d pred_len %d patch %d stride %d (%d patches) d_model %d heads %d x %d layers %d ffn %d, "
           "%lld params\n",
           wpath, I->seq_len, I->pred_len, I->patch_len, I->stride, I->patch_num, I->d_model, I->n_head, I->head_size,
           I->n_layer, I->ffn, (long long)I->n_params);
    if (expected_dim(v, "x", 0) == I->seq_len || !has_expected(v, "x"))
        run_window(v, m, inputs);
    else
        run_dataset(v, m, inputs);
    aviary_ts_model_free(m);
    return 0;
}
