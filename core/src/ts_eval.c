/* ts_eval.c - long-term forecasting evaluation protocol (contract in aviary_ts_eval.h). */
#include <math.h>
#include <stdio.h>
#include "internal.h"
#include "aviary/aviary_ts_eval.h"

const char *aviary_ts_split_name(aviary_ts_split s) {
    switch (s) {
    case AVIARY_TS_SPLIT_CUSTOM: return "custom";
    case AVIARY_TS_SPLIT_ETT_HOUR: return "ett_h";
    case AVIARY_TS_SPLIT_ETT_MINUTE: return "ett_m";
    }
    return NULL;
}

aviary_ts_split aviary_ts_split_for_file(const char *path) {
    if (!path) return AVIARY_TS_SPLIT_CUSTOM;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (!strncmp(base, "ETTh", 4)) return AVIARY_TS_SPLIT_ETT_HOUR;
    if (!strncmp(base, "ETTm", 4)) return AVIARY_TS_SPLIT_ETT_MINUTE;
    return AVIARY_TS_SPLIT_CUSTOM;
}

aviary_status aviary_ts_split_borders(aviary_ts_split kind, int64_t n, int seq_len, int pred_len, aviary_ts_borders *out) {
    if (!out || seq_len <= 0 || pred_len <= 0 || n < 0)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_ts_split_borders: bad arguments");
    int64_t tr, va, te_end;
    if (kind == AVIARY_TS_SPLIT_ETT_HOUR || kind == AVIARY_TS_SPLIT_ETT_MINUTE) {
        int64_t unit = kind == AVIARY_TS_SPLIT_ETT_HOUR ? 30 * 24 : 30 * 24 * 4;
        tr = 12 * unit;
        va = 16 * unit;
        te_end = 20 * unit;
        if (n < te_end)
            return aviary_error(AVIARY_INVALID_ARG, "%s split needs %lld rows, the table has %lld",
                                aviary_ts_split_name(kind), (long long)te_end, (long long)n);
        out->train[0] = 0;
        out->train[1] = tr;
        out->val[0] = tr - seq_len;
        out->val[1] = va;
        out->test[0] = va - seq_len;
        out->test[1] = te_end;
    } else if (kind == AVIARY_TS_SPLIT_CUSTOM) {
        /* int(len * 0.7) and int(len * 0.2) in Python: float product, truncated. */
        int64_t num_train = (int64_t)((double)n * 0.7);
        int64_t num_test = (int64_t)((double)n * 0.2);
        int64_t num_val = n - num_train - num_test;
        out->train[0] = 0;
        out->train[1] = num_train;
        out->val[0] = num_train - seq_len;
        out->val[1] = num_train + num_val;
        out->test[0] = n - num_test - seq_len;
        out->test[1] = n;
    } else {
        return aviary_error(AVIARY_INVALID_ARG, "unknown split kind %d", (int)kind);
    }
    if (out->val[0] < 0 || out->test[0] < 0 || out->test[1] - out->test[0] < (int64_t)seq_len + pred_len)
        return aviary_error(AVIARY_INVALID_ARG,
                            "%lld rows are too few for a %s split with seq_len %d and pred_len %d",
                            (long long)n, aviary_ts_split_name(kind), seq_len, pred_len);
    return AVIARY_OK;
}

void aviary_ts_scaler_fit(const double *data, int64_t cols, int64_t row0, int64_t row1, double *mean, double *std) {
    int64_t n = row1 - row0;
    for (int64_t c = 0; c < cols; c++) {
        double mu = 0, var = 0;
        for (int64_t r = row0; r < row1; r++) mu += data[r * cols + c];
        mu = n > 0 ? mu / (double)n : 0;
        for (int64_t r = row0; r < row1; r++) {
            double d = data[r * cols + c] - mu;
            var += d * d;
        }
        var = n > 0 ? var / (double)n : 0;
        mean[c] = mu;
        std[c] = var > 0 ? sqrt(var) : 1.0;
    }
}

void aviary_ts_scaler_apply(const double *data, int64_t rows, int64_t cols, const double *mean, const double *std,
                            float *out) {
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++) out[r * cols + c] = (float)((data[r * cols + c] - mean[c]) / std[c]);
}

aviary_ts_eval_params aviary_ts_eval_default_params(void) {
    aviary_ts_eval_params p = {64, true, 24};
    return p;
}

void aviary_ts_eval_result_free(aviary_ts_eval_result *r) {
    if (!r) return;
    for (int k = 0; k < AVIARY_TS_METHODS; k++) {
        free(r->score[k].mse_channel);
        free(r->score[k].mae_channel);
    }
    memset(r, 0, sizeof *r);
}

aviary_status aviary_ts_evaluate(const aviary_ts_model *m, int seq_len, int pred_len, const float *scaled, int64_t cols,
                                 int64_t row0, int64_t row1, const aviary_ts_eval_params *params,
                                 aviary_ts_eval_result *out) {
    if (!out || !scaled || cols <= 0 || row0 < 0 || row1 <= row0)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_ts_evaluate: bad arguments");
    memset(out, 0, sizeof *out);
    aviary_ts_eval_params def = aviary_ts_eval_default_params();
    if (!params) params = &def;
    if (m) {
        seq_len = aviary_ts_model_info(m)->seq_len;
        pred_len = aviary_ts_model_info(m)->pred_len;
    }
    if (seq_len <= 0 || pred_len <= 0 || params->batch_size <= 0 || params->season <= 0 || params->season > seq_len)
        return aviary_error(AVIARY_INVALID_ARG, "evaluate: bad seq_len %d / pred_len %d / batch %d / season %d",
                            seq_len, pred_len, params->batch_size, params->season);
    int64_t per = (row1 - row0) - seq_len - pred_len + 1;
    if (per <= 0)
        return aviary_error(AVIARY_INVALID_ARG, "evaluate: %lld rows hold no window of %d + %d rows",
                            (long long)(row1 - row0), seq_len, pred_len);
    int64_t total = per * cols;
    int64_t scored = params->drop_last ? total / params->batch_size * params->batch_size : total;
    out->cols = cols;
    out->windows_total = total;
    out->windows_scored = scored;
    out->windows_per_channel = per;
    for (int k = 0; k < AVIARY_TS_METHODS; k++) {
        out->score[k].mse_channel = calloc((size_t)cols, sizeof(double));
        out->score[k].mae_channel = calloc((size_t)cols, sizeof(double));
        if (!out->score[k].mse_channel || !out->score[k].mae_channel) {
            aviary_ts_eval_result_free(out);
            return aviary_error(AVIARY_NOMEM, "evaluate: out of memory");
        }
    }
    const int64_t BATCH = 64;
    float *x = malloc((size_t)BATCH * seq_len * sizeof(float));
    float *y = malloc((size_t)BATCH * pred_len * sizeof(float));
    double *se_sc = calloc((size_t)AVIARY_TS_METHODS * 2, sizeof(double)); /* sums over scored: se, ae */
    double *se_all = calloc((size_t)AVIARY_TS_METHODS * 2, sizeof(double));
    int64_t *cnt_ch = calloc((size_t)cols, sizeof(int64_t));
    aviary_status s = AVIARY_OK;
    if (!x || !y || !se_sc || !se_all || !cnt_ch) {
        s = aviary_error(AVIARY_NOMEM, "evaluate: out of memory");
        goto done;
    }
    for (int64_t i0 = 0; i0 < total; i0 += BATCH) {
        int64_t nb = total - i0 < BATCH ? total - i0 : BATCH;
        for (int64_t b = 0; b < nb; b++) {
            int64_t i = i0 + b, c = i / per, st = row0 + i % per;
            for (int t = 0; t < seq_len; t++) x[b * seq_len + t] = scaled[(st + t) * cols + c];
        }
        if (m && (s = aviary_ts_forecast(m, x, nb, y))) goto done;
        for (int64_t b = 0; b < nb; b++) {
            int64_t i = i0 + b, c = i / per, st = row0 + i % per;
            bool counted = i < scored;
            if (counted) cnt_ch[c]++;
            const float *xs = x + b * seq_len;
            for (int k = 0; k < AVIARY_TS_METHODS; k++) {
                if (k == AVIARY_TS_METHOD_MODEL && !m) continue;
                double se = 0, ae = 0;
                for (int t = 0; t < pred_len; t++) {
                    float pred;
                    if (k == AVIARY_TS_METHOD_MODEL) pred = y[b * pred_len + t];
                    else if (k == AVIARY_TS_METHOD_NAIVE) pred = xs[seq_len - 1];
                    else pred = xs[seq_len - params->season + t % params->season];
                    float truth = scaled[(st + seq_len + t) * cols + c];
                    double d = (double)(pred - truth);
                    se += d * d;
                    ae += fabs(d);
                }
                se_all[2 * k] += se;
                se_all[2 * k + 1] += ae;
                if (counted) {
                    se_sc[2 * k] += se;
                    se_sc[2 * k + 1] += ae;
                    out->score[k].mse_channel[c] += se;
                    out->score[k].mae_channel[c] += ae;
                }
            }
        }
    }
    for (int k = 0; k < AVIARY_TS_METHODS; k++) {
        if (k == AVIARY_TS_METHOD_MODEL && !m) continue;
        aviary_ts_score *sc = &out->score[k];
        double ns = (double)scored * pred_len, na = (double)total * pred_len;
        sc->mse = ns > 0 ? se_sc[2 * k] / ns : NAN;
        sc->mae = ns > 0 ? se_sc[2 * k + 1] / ns : NAN;
        sc->mse_all = se_all[2 * k] / na;
        sc->mae_all = se_all[2 * k + 1] / na;
        for (int64_t c = 0; c < cols; c++) {
            double nc = (double)cnt_ch[c] * pred_len;
            sc->mse_channel[c] = nc > 0 ? sc->mse_channel[c] / nc : NAN;
            sc->mae_channel[c] = nc > 0 ? sc->mae_channel[c] / nc : NAN;
        }
    }
done:
    free(x);
    free(y);
    free(se_sc);
    free(se_all);
    free(cnt_ch);
    if (s) aviary_ts_eval_result_free(out);
    return s;
}
