/* cmd_forecast.c - `aviary forecast`: RWKV-TS forecasting from a CSV file.
 *
 *   aviary forecast -c PIPELINE.json DATA.csv [--horizon N] [--out F.csv] [--plot F.png] ...
 *
 * The pipeline names the two RWKV-TS stages (plugins ts_patch and ts_forecast),
 * their weights file (relative to the pipeline file) and the options that are
 * not stored in the checkpoint (seq_len, stride). Modes:
 *   default   forecast the next N rows of every chosen column from the last
 *             seq_len rows; print them, optionally write a CSV continuing the
 *             time index and a PNG plot;
 *   --eval    the long-term forecasting benchmark protocol (aviary_ts_eval.h)
 *             with naive and seasonal-naive baselines on the same windows;
 *   --stream  forecast again as each new row arrives on stdin;
 *   --bench   forecasts per second.
 *
 * Scaling: the model normalises each window itself (RevIN), but it was
 * trained on standard-scaled data, and RevIN's eps makes the scale matter a
 * little. By default (--scale train) the standard scaler of the training
 * protocol is fitted on the train part of the file (70/10/20 or ETT borders;
 * the whole file if it is too short for a split), windows are scaled before
 * the model and forecasts un-scaled after it, exactly as the official code.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "aviary/aviary_csv.h"
#include "aviary/aviary_ts_eval.h"
#include "cli.h"
#include "plot.h"

typedef struct fc_opts {
    const char *pipeline, *data, *out, *plot, *columns, *date_column, *split, *part, *scale, *target;
    long horizon, threads, season, batch, history;
    bool fill_forward, eval, stream, bench, no_drop_last;
} fc_opts;

typedef struct ts_pipe {
    char weights[4096];
    aviary_ts_params params;
    /* ts_patch / ts_forecast options that are defaults for the command line */
    char columns[1024], date_column[256], scale[16];
    bool fill_forward;
    int horizon;
} ts_pipe;

static void usage(FILE *f) {
    fprintf(f,
            "usage: aviary forecast -c PIPELINE.json DATA.csv [options]\n"
            "  Forecasts every chosen column of DATA.csv from its last seq_len rows with the\n"
            "  RWKV-TS model of the pipeline, prints the forecast, and optionally writes it.\n"
            "  --horizon N        rows to forecast (default: the model's pred_len; longer\n"
            "                     horizons feed forecasts back in, pred_len rows at a time)\n"
            "  --out FILE.csv     write the forecast, continuing the date column\n"
            "  --plot FILE.png    plot history and forecast, one panel per column\n"
            "  --history N        history rows shown in the plot (default seq_len)\n"
            "  --columns a,b      numeric columns to use (default: all numeric columns)\n"
            "  --date-column NAME the date/time column (default: auto-detected)\n"
            "  --fill-forward     fill missing cells with the value of the row above\n"
            "  --scale MODE       train (default: standard scaler fitted on the train part,\n"
            "                     as in training), all (fitted on every row) or none\n"
            "  --threads N        compute threads (default: all cores)\n"
            "  --eval             score the model on the test part with the official protocol,\n"
            "                     beside naive and seasonal-naive baselines\n"
            "    --split S        auto (default: ETTh*/ETTm* fixed borders, else 70/10/20),\n"
            "                     custom, ett_h or ett_m\n"
            "    --part P         test (default) or val\n"
            "    --season N       seasonal-naive period in rows (default: from the date step,\n"
            "                     24 for hourly data, else 24)\n"
            "    --target NAME    move this column last, like the official Dataset_Custom\n"
            "    --batch-size N   official test loader batch size (default 64)\n"
            "    --no-drop-last   score every window (the official loader drops the last\n"
            "                     incomplete batch)\n"
            "  --stream           after the first forecast, read rows (same layout as DATA.csv,\n"
            "                     no header) from stdin and forecast again after each; the\n"
            "                     model stays loaded and keeps a rolling window of the last\n"
            "                     seq_len rows (RWKV-TS normalises and re-patches every\n"
            "                     window, so each forecast is one pass over that window)\n"
            "  --bench            measure forecasts per second on DATA.csv's last window\n");
}

/* ---------- pipeline ---------- */

static int pipe_int(const char *pf, const cJSON *opts, int si, const char *key, long min, long max, int *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(opts, key);
    if (!j) return cli_fail("%s: stages[%d].options.%s: missing (RWKV-TS needs it: it is not in the checkpoint)", pf, si, key);
    if (!cJSON_IsNumber(j) || j->valuedouble != floor(j->valuedouble) || j->valuedouble < min || j->valuedouble > max)
        return cli_fail("%s: stages[%d].options.%s: expected an integer from %ld to %ld", pf, si, key, min, max);
    *out = (int)j->valuedouble;
    return 0;
}

static int pipe_num(const char *pf, const cJSON *opts, int si, const char *key, double *out) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(opts, key);
    if (!j) return 0;
    if (!cJSON_IsNumber(j) || !(j->valuedouble > 0) || j->valuedouble > 1)
        return cli_fail("%s: stages[%d].options.%s: expected a number in (0, 1]", pf, si, key);
    *out = j->valuedouble;
    return 0;
}

/* Read the RWKV-TS stages of a pipeline file. */
static int load_pipeline(const char *pf, ts_pipe *tp) {
    size_t len = 0;
    char *text = cli_read_file(pf, &len);
    if (!text) return cli_fail("%s: cannot read the pipeline file (%s)", pf, strerror(errno));
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root) return cli_fail("%s: not valid JSON", pf);
    int rc = 0;
    tp->params = aviary_ts_default_params();
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
    if (!cJSON_IsObject(root)) { rc = cli_fail("%s: expected a JSON object", pf); goto out; }
    if (!cJSON_IsArray(stages)) { rc = cli_fail("%s: stages: expected an array of stages", pf); goto out; }
    int enc = -1, head = -1, si = 0;
    const cJSON *st;
    cJSON_ArrayForEach(st, stages) {
        const cJSON *pl = cJSON_GetObjectItemCaseSensitive(st, "plugin");
        if (!cJSON_IsString(pl)) { rc = cli_fail("%s: stages[%d].plugin: expected a string", pf, si); goto out; }
        if (!strcmp(pl->valuestring, "ts_patch")) enc = si;
        else if (!strcmp(pl->valuestring, "ts_forecast")) head = si;
        si++;
    }
    if (enc < 0 || head < 0) {
        rc = cli_fail("%s: stages: a forecasting pipeline needs a 'ts_patch' encoder and a 'ts_forecast' head stage", pf);
        goto out;
    }
    const cJSON *es = cJSON_GetArrayItem(stages, enc), *hs = cJSON_GetArrayItem(stages, head);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(es, "weights");
    if (!cJSON_IsString(w)) { rc = cli_fail("%s: stages[%d].weights: expected a file name", pf, enc); goto out; }
    const cJSON *hw = cJSON_GetObjectItemCaseSensitive(hs, "weights");
    if (hw && (!cJSON_IsString(hw) || strcmp(hw->valuestring, w->valuestring))) {
        rc = cli_fail("%s: stages[%d].weights: the ts_forecast head must use the same checkpoint as ts_patch ('%s')", pf,
                      head, w->valuestring);
        goto out;
    }
    cli_resolve_path(pf, w->valuestring, tp->weights, sizeof tp->weights);
    const cJSON *opts = cJSON_GetObjectItemCaseSensitive(es, "options");
    if (!cJSON_IsObject(opts)) { rc = cli_fail("%s: stages[%d].options: expected an object with seq_len and stride", pf, enc); goto out; }
    const cJSON *o;
    cJSON_ArrayForEach(o, opts) {
        static const char *known[] = {"seq_len",   "stride",  "revin_eps",   "layernorm_eps", "groupnorm_eps",
                                      "precision", "columns", "date_column", "fill_forward",  "scale"};
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= !strcmp(o->string, known[k]);
        if (!ok) {
            rc = cli_fail("%s: stages[%d].options.%s: unknown option (ts_patch takes seq_len, stride, revin_eps, "
                          "layernorm_eps, groupnorm_eps, precision, columns, date_column, fill_forward, scale)",
                          pf, enc, o->string);
            goto out;
        }
    }
    if ((rc = pipe_int(pf, opts, enc, "seq_len", 1, 1 << 20, &tp->params.seq_len)) ||
        (rc = pipe_int(pf, opts, enc, "stride", 1, 1 << 20, &tp->params.stride)) ||
        (rc = pipe_num(pf, opts, enc, "revin_eps", &tp->params.revin_eps)) ||
        (rc = pipe_num(pf, opts, enc, "layernorm_eps", &tp->params.ln_eps)) ||
        (rc = pipe_num(pf, opts, enc, "groupnorm_eps", &tp->params.gn_eps)))
        goto out;
    const cJSON *prec = cJSON_GetObjectItemCaseSensitive(opts, "precision");
    tp->params.weights = AVIARY_WEIGHTS_F32;
    if (prec && (!cJSON_IsString(prec) || aviary_weight_type_parse(prec->valuestring, &tp->params.weights))) {
        rc = cli_fail("%s: stages[%d].options.precision: expected \"f32\", \"bf16\" or \"int8\"", pf, enc);
        goto out;
    }
    static const char *strs[] = {"columns", "date_column", "scale"};
    char *dst[] = {tp->columns, tp->date_column, tp->scale};
    size_t cap[] = {sizeof tp->columns, sizeof tp->date_column, sizeof tp->scale};
    for (int k = 0; k < 3; k++) {
        const cJSON *j = cJSON_GetObjectItemCaseSensitive(opts, strs[k]);
        if (j && (!cJSON_IsString(j) || strlen(j->valuestring) >= cap[k])) {
            rc = cli_fail("%s: stages[%d].options.%s: expected a (short) string", pf, enc, strs[k]);
            goto out;
        }
        if (j) snprintf(dst[k], cap[k], "%s", j->valuestring);
    }
    const cJSON *ff = cJSON_GetObjectItemCaseSensitive(opts, "fill_forward");
    if (ff && !cJSON_IsBool(ff)) {
        rc = cli_fail("%s: stages[%d].options.fill_forward: expected true or false", pf, enc);
        goto out;
    }
    tp->fill_forward = cJSON_IsTrue(ff);
    const cJSON *hopts = cJSON_GetObjectItemCaseSensitive(hs, "options");
    if (hopts) {
        cJSON_ArrayForEach(o, hopts) {
            if (strcmp(o->string, "horizon")) {
                rc = cli_fail("%s: stages[%d].options.%s: unknown option (ts_forecast takes horizon)", pf, head, o->string);
                goto out;
            }
        }
        int hz = 0;
        if (cJSON_GetObjectItemCaseSensitive(hopts, "horizon") &&
            (rc = pipe_int(pf, hopts, head, "horizon", 0, 1 << 20, &hz)))
            goto out;
        tp->horizon = hz;
    }
out:
    cJSON_Delete(root);
    return rc;
}

/* ---------- time index ---------- */

typedef struct time_index {
    bool dated;            /* the CSV has a parsable date column */
    int64_t last, step;    /* seconds */
    aviary_time_style style;
    const char *name;      /* column header for the output */
    int64_t next_row;      /* when not dated: row number of the next row */
} time_index;

static void infer_time(const aviary_csv *csv, time_index *ti) {
    memset(ti, 0, sizeof *ti);
    size_t rows = aviary_csv_rows(csv);
    ti->next_row = (int64_t)rows;
    ti->name = "step";
    if (!aviary_csv_date_name(csv) || rows < 2) return;
    size_t from = rows > 25 ? rows - 25 : 0;
    int64_t diffs[24];
    int nd = 0;
    int64_t prev = 0;
    for (size_t r = from; r < rows; r++) {
        int64_t t;
        aviary_time_style st;
        if (!aviary_time_parse(aviary_csv_date(csv, r), &t, &st)) return;
        if (r > from && nd < 24) diffs[nd++] = t - prev;
        prev = t;
        ti->style = st;
    }
    int best = 0, best_n = 0;
    for (int i = 0; i < nd; i++) {
        int n = 0;
        for (int j = 0; j < nd; j++) n += diffs[j] == diffs[i];
        if (n > best_n) { best_n = n; best = i; }
    }
    if (nd == 0 || diffs[best] <= 0) return;
    ti->dated = true;
    ti->step = diffs[best];
    ti->last = prev;
    ti->name = aviary_csv_date_name(csv);
}

static const char *time_label(const time_index *ti, int64_t k, char *buf, size_t n) {
    /* k = 1 is the first row after the data */
    if (ti->dated) return aviary_time_format(ti->last + k * ti->step, &ti->style, buf, n);
    snprintf(buf, n, "%lld", (long long)(ti->next_row + k - 1));
    return buf;
}

static long default_season(const time_index *ti) {
    if (!ti->dated) return 24;
    switch (ti->step) {
    case 3600: return 24;   /* hourly: a day */
    case 1800: return 48;
    case 900: return 96;    /* 15 minutes (ETTm) */
    case 600: return 144;   /* 10 minutes (weather) */
    case 300: return 288;
    case 60: return 1440;
    case 86400: return 7;   /* daily: a week */
    default: return 24;
    }
}

/* ---------- forecasting ---------- */

typedef struct scaler {
    double *mean, *std;
    const char *desc;
} scaler;

/* Forecast `horizon` rows for every column from window [L][C] (raw units). */
static aviary_status forecast_window(const aviary_ts_model *m, const double *win, int C, const scaler *sc, int horizon,
                                     double *out /* [horizon][C] */) {
    const aviary_ts_info *I = aviary_ts_model_info(m);
    const int L = I->seq_len, P = I->pred_len;
    float *x = malloc((size_t)C * L * sizeof(float)), *y = malloc((size_t)C * P * sizeof(float));
    if (!x || !y) {
        free(x);
        free(y);
        return aviary_error(AVIARY_NOMEM, "forecast: out of memory");
    }
    for (int c = 0; c < C; c++)
        for (int t = 0; t < L; t++) x[c * L + t] = (float)((win[t * C + c] - sc->mean[c]) / sc->std[c]);
    aviary_status s = AVIARY_OK;
    for (int done = 0; done < horizon;) {
        if ((s = aviary_ts_forecast(m, x, C, y))) break;
        int take = horizon - done < P ? horizon - done : P;
        for (int t = 0; t < take; t++)
            for (int c = 0; c < C; c++) out[(done + t) * C + c] = (double)y[c * P + t] * sc->std[c] + sc->mean[c];
        done += take;
        if (done < horizon) { /* slide the window over the forecast */
            for (int c = 0; c < C; c++) {
                float *xs = x + c * L;
                if (P >= L) {
                    memcpy(xs, y + c * P + (P - L), (size_t)L * sizeof(float));
                } else {
                    memmove(xs, xs + P, (size_t)(L - P) * sizeof(float));
                    memcpy(xs + (L - P), y + c * P, (size_t)P * sizeof(float));
                }
            }
        }
    }
    free(x);
    free(y);
    return s;
}

static void print_forecast(const aviary_csv *csv, const time_index *ti, const double *out, int horizon, int C) {
    char buf[64];
    printf("%-20s", ti->name);
    for (int c = 0; c < C; c++) printf(" %14s", aviary_csv_column_name(csv, (size_t)c));
    printf("\n");
    for (int t = 0; t < horizon; t++) {
        printf("%-20s", time_label(ti, t + 1, buf, sizeof buf));
        for (int c = 0; c < C; c++) printf(" %14.6g", out[t * C + c]);
        printf("\n");
    }
}

static int write_csv_out(const char *path, const aviary_csv *csv, const time_index *ti, const double *out, int horizon,
                         int C) {
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 32);
    if (!tmp) return cli_fail("%s: out of memory", path);
    snprintf(tmp, pl + 32, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        free(tmp);
        return cli_fail("%s: cannot write (%s)", path, strerror(e));
    }
    char buf[64];
    fprintf(f, "%s", ti->name);
    for (int c = 0; c < C; c++) {
        const char *n = aviary_csv_column_name(csv, (size_t)c);
        if (strpbrk(n, ",\"\n")) {
            fputs(",\"", f);
            for (const char *q = n; *q; q++) {
                if (*q == '"') fputc('"', f);
                fputc(*q, f);
            }
            fputc('"', f);
        } else {
            fprintf(f, ",%s", n);
        }
    }
    fputc('\n', f);
    for (int t = 0; t < horizon; t++) {
        fprintf(f, "%s", time_label(ti, t + 1, buf, sizeof buf));
        for (int c = 0; c < C; c++) fprintf(f, ",%.9g", out[t * C + c]);
        fputc('\n', f);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = true;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        free(tmp);
        return cli_fail("%s: cannot write (%s)", path, strerror(e));
    }
    free(tmp);
    return 0;
}

static int write_plot(const char *path, const aviary_csv *csv, const time_index *ti, const double *hist /*[n][C] */,
                      int n_hist, const double *out, int horizon, int C, const char *title) {
    plot_series *ps = calloc((size_t)C, sizeof *ps);
    double *cols = malloc((size_t)C * (n_hist + horizon) * sizeof(double));
    if (!ps || !cols) {
        free(ps);
        free(cols);
        return cli_fail("%s: out of memory", path);
    }
    for (int c = 0; c < C; c++) {
        double *h = cols + (size_t)c * (n_hist + horizon), *f = h + n_hist;
        for (int t = 0; t < n_hist; t++) h[t] = hist[t * C + c];
        for (int t = 0; t < horizon; t++) f[t] = out[t * C + c];
        ps[c] = (plot_series){aviary_csv_column_name(csv, (size_t)c), h, n_hist, f, horizon};
    }
    char l0[64], l1[64], l2[64];
    time_label(ti, 1 - n_hist, l0, sizeof l0);
    time_label(ti, 0, l1, sizeof l1);
    time_label(ti, horizon, l2, sizeof l2);
    char err[512];
    int rc = plot_forecast_png(path, ps, C, title, l0, l1, l2, err, sizeof err);
    free(ps);
    free(cols);
    return rc ? cli_fail("%s", err) : 0;
}

/* ---------- modes ---------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int run_bench(const aviary_ts_model *m, const double *win, int C, const scaler *sc) {
    const aviary_ts_info *I = aviary_ts_model_info(m);
    double *out = malloc((size_t)I->pred_len * C * sizeof(double));
    float *xb = malloc((size_t)64 * I->seq_len * sizeof(float)), *yb = malloc((size_t)64 * I->pred_len * sizeof(float));
    if (!out || !xb || !yb) {
        free(out); free(xb); free(yb);
        return cli_fail("bench: out of memory");
    }
    for (int b = 0; b < 64; b++)
        for (int t = 0; t < I->seq_len; t++)
            xb[b * I->seq_len + t] = (float)((win[t * C + b % C] - sc->mean[b % C]) / sc->std[b % C]);
    int rc = 0;
    for (int i = 0; i < 3; i++)
        if (forecast_window(m, win, C, sc, I->pred_len, out)) { rc = cli_fail_status(AVIARY_ERROR); goto done; }
    double t0 = now_s(), t1;
    long n = 0;
    do {
        if (forecast_window(m, win, C, sc, I->pred_len, out)) { rc = cli_fail_status(AVIARY_ERROR); goto done; }
        n++;
        t1 = now_s();
    } while (t1 - t0 < 2.0 || n < 10);
    double per = (t1 - t0) / n;
    printf("bench: %d thread(s); one forecast = %d series x %d steps from %d rows\n", aviary_get_num_threads(), C,
           I->pred_len, I->seq_len);
    printf("bench: latency %.3f ms per forecast, %.1f forecasts/s (%.1f series/s)\n", per * 1e3, 1.0 / per, C / per);
    t0 = now_s();
    n = 0;
    do {
        if (aviary_ts_forecast(m, xb, 64, yb)) { rc = cli_fail_status(AVIARY_ERROR); goto done; }
        n++;
        t1 = now_s();
    } while (t1 - t0 < 2.0 || n < 5);
    printf("bench: batched 64 series per call: %.1f series/s (%.3f ms per call)\n", 64.0 * n / (t1 - t0),
           (t1 - t0) / n * 1e3);
done:
    free(out);
    free(xb);
    free(yb);
    return rc;
}

static int run_eval(const aviary_ts_model *m, const aviary_csv *csv, const fc_opts *o, const time_index *ti,
                    int target_col) {
    const aviary_ts_info *I = aviary_ts_model_info(m);
    const int64_t N = (int64_t)aviary_csv_rows(csv), C = (int64_t)aviary_csv_cols(csv);
    aviary_ts_split kind = aviary_ts_split_for_file(o->data);
    if (o->split && strcmp(o->split, "auto")) {
        if (!strcmp(o->split, "custom")) kind = AVIARY_TS_SPLIT_CUSTOM;
        else if (!strcmp(o->split, "ett_h")) kind = AVIARY_TS_SPLIT_ETT_HOUR;
        else if (!strcmp(o->split, "ett_m")) kind = AVIARY_TS_SPLIT_ETT_MINUTE;
        else return cli_fail("--split: expected auto, custom, ett_h or ett_m, got '%s'", o->split);
    }
    bool val = false;
    if (o->part) {
        if (!strcmp(o->part, "val")) val = true;
        else if (strcmp(o->part, "test")) return cli_fail("--part: expected test or val, got '%s'", o->part);
    }
    aviary_ts_borders bd;
    if (aviary_ts_split_borders(kind, N, I->seq_len, I->pred_len, &bd)) return cli_fail("%s: %s", o->data, aviary_errmsg());
    /* channel order: CSV order, with --target moved last (official Dataset_Custom) */
    int64_t *order = malloc((size_t)C * sizeof *order);
    double *raw = malloc((size_t)(N * C) * sizeof(double)), *mean = malloc((size_t)C * sizeof(double)),
           *sd = malloc((size_t)C * sizeof(double));
    float *scaled = malloc((size_t)(N * C) * sizeof(float));
    aviary_ts_eval_result res = {0};
    int rc = 0;
    if (!order || !raw || !mean || !sd || !scaled) { rc = cli_fail("eval: out of memory"); goto done; }
    {
        int64_t k = 0;
        for (int64_t c = 0; c < C; c++)
            if (c != target_col) order[k++] = c;
        if (target_col >= 0) order[k++] = target_col;
    }
    for (int64_t r = 0; r < N; r++)
        for (int64_t c = 0; c < C; c++) raw[r * C + c] = aviary_csv_value(csv, (size_t)r, (size_t)order[c]);
    aviary_ts_scaler_fit(raw, C, bd.train[0], bd.train[1], mean, sd);
    aviary_ts_scaler_apply(raw, N, C, mean, sd, scaled);
    aviary_ts_eval_params ep = aviary_ts_eval_default_params();
    ep.batch_size = (int)o->batch;
    ep.drop_last = !o->no_drop_last;
    ep.season = (int)(o->season > 0 ? o->season : default_season(ti));
    if (ep.season > I->seq_len) { rc = cli_fail("--season: %d is longer than seq_len %d", ep.season, I->seq_len); goto done; }
    const int64_t *part = val ? bd.val : bd.test;
    printf("eval: %s, %lld rows, %lld channels (", o->data, (long long)N, (long long)C);
    for (int64_t c = 0; c < C; c++) printf("%s%s", c ? ", " : "", aviary_csv_column_name(csv, (size_t)order[c]));
    printf(")\n");
    printf("  split %s%s: train [%lld, %lld)  val [%lld, %lld)  test [%lld, %lld)  (val/test start seq_len=%d rows early)\n",
           aviary_ts_split_name(kind), kind == AVIARY_TS_SPLIT_CUSTOM ? " (70/10/20)" : " (fixed ETT borders)",
           (long long)bd.train[0], (long long)bd.train[1], (long long)bd.val[0], (long long)bd.val[1],
           (long long)bd.test[0], (long long)bd.test[1], I->seq_len);
    printf("  scaler: standard (population std), fitted on the train rows; metrics in scaled space\n");
    if (aviary_ts_evaluate(m, 0, 0, scaled, C, part[0], part[1], &ep, &res)) {
        rc = cli_fail("eval: %s", aviary_errmsg());
        goto done;
    }
    int64_t dropped = res.windows_total - res.windows_scored;
    printf("  %s windows: %lld (%lld per channel, channel-major), %d -> %d steps\n", val ? "val" : "test",
           (long long)res.windows_total, (long long)res.windows_per_channel, I->seq_len, I->pred_len);
    if (ep.drop_last)
        printf("  scored: %lld windows = %lld batches of %d (official test loader, shuffle=False, drop_last=True:\n"
               "          the last %lld windows, of the last channel '%s', are not scored; MSE(all)/MAE(all) include them)\n",
               (long long)res.windows_scored, (long long)(res.windows_scored / ep.batch_size), ep.batch_size,
               (long long)dropped, aviary_csv_column_name(csv, (size_t)order[C - 1]));
    else
        printf("  scored: all %lld windows (--no-drop-last)\n", (long long)res.windows_scored);
    static const char *names[AVIARY_TS_METHODS] = {"RWKV-TS (this model)", "naive (last value)", "seasonal naive"};
    printf("\n  %-26s %9s %9s %9s %9s   MSE per channel\n", "method", "MSE", "MAE", "MSE(all)", "MAE(all)");
    for (int k = 0; k < AVIARY_TS_METHODS; k++) {
        const aviary_ts_score *s = &res.score[k];
        char nm[64];
        snprintf(nm, sizeof nm, "%s%s", names[k], k == AVIARY_TS_METHOD_SEASONAL ? "" : "");
        if (k == AVIARY_TS_METHOD_SEASONAL) snprintf(nm, sizeof nm, "seasonal naive (period %d)", ep.season);
        printf("  %-26s %9.6f %9.6f %9.6f %9.6f  ", nm, s->mse, s->mae, s->mse_all, s->mae_all);
        for (int64_t c = 0; c < C; c++) printf(" %s=%.6f", aviary_csv_column_name(csv, (size_t)order[c]), s->mse_channel[c]);
        printf("\n");
    }
    int best = 0;
    for (int k = 1; k < AVIARY_TS_METHODS; k++)
        if (res.score[k].mse < res.score[best].mse) best = k;
    printf("\n%s mse/mae: RWKV-TS mse %.4g mae %.4g | naive mse %.4g mae %.4g | seasonal-naive(%d) mse %.4g mae %.4g\n",
           val ? "val" : "test", res.score[0].mse, res.score[0].mae, res.score[1].mse, res.score[1].mae, ep.season,
           res.score[2].mse, res.score[2].mae);
    printf("lowest MSE on these windows: %s%s\n", best == 0 ? names[0] : best == 1 ? names[1] : "seasonal naive",
           best == 0 ? "" : " (the model does not beat this baseline here)");
done:
    aviary_ts_eval_result_free(&res);
    free(order);
    free(raw);
    free(mean);
    free(sd);
    free(scaled);
    return rc;
}

/* Split comma-separated names in place. */
static int split_names(char *s, const char **names, int max) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (n == max) return -1;
        names[n++] = tok;
    }
    return n;
}

/* The raw text of the first and last non-empty lines of a file's text. */
static char *line_copy(const char *b, const char *e) {
    while (e > b && (e[-1] == '\r' || e[-1] == '\n')) e--;
    size_t n = (size_t)(e - b);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = '\0';
    }
    return s;
}

static int run_stream(const aviary_ts_model *m, aviary_csv *csv, const char *text, size_t len,
                      const aviary_csv_options *copt, const fc_opts *o, const scaler *sc, time_index *ti, int horizon) {
    const aviary_ts_info *I = aviary_ts_model_info(m);
    const int L = I->seq_len, C = (int)aviary_csv_cols(csv);
    const char *nl = memchr(text, '\n', len);
    char *header = line_copy(text, nl ? nl : text + len);
    const char *e = text + len;
    while (e > text && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ')) e--;
    const char *b = e;
    while (b > text && b[-1] != '\n') b--;
    char *prev = line_copy(b, e);
    double *win = malloc((size_t)L * C * sizeof(double)), *out = malloc((size_t)horizon * C * sizeof(double));
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    long lineno = 0;
    if (!header || !prev || !win || !out) { rc = cli_fail("stream: out of memory"); goto done; }
    size_t rows = aviary_csv_rows(csv);
    for (int t = 0; t < L; t++)
        for (int c = 0; c < C; c++) win[t * C + c] = aviary_csv_value(csv, rows - L + t, (size_t)c);
    printf("stream: reading rows from stdin (same columns as %s, no header); one forecast line per row\n", o->data);
    fflush(stdout);
    ssize_t got;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r')) line[--got] = '\0';
        if (got == 0) continue;
        size_t tl = strlen(header) + strlen(prev) + (size_t)got + 4;
        char *t = malloc(tl);
        if (!t) { rc = cli_fail("stream: out of memory"); goto done; }
        snprintf(t, tl, "%s\n%s\n%s\n", header, prev, line);
        aviary_csv *one = NULL;
        /* parsed as header + previous row (for fill-forward) + this row: line 3 is stdin's line */
        aviary_status s = aviary_csv_parse(t, strlen(t), "<stdin>", copt, &one);
        free(t);
        if (s) {
            const char *msg = aviary_errmsg();
            if (!strncmp(msg, "<stdin>:3: ", 11)) msg += 11;
            else if (!strncmp(msg, "<stdin>: ", 9)) msg += 9;
            rc = cli_fail("stdin line %ld: %s", lineno, msg);
            goto done;
        }
        if (aviary_csv_rows(one) != 2 || aviary_csv_cols(one) != (size_t)C) {
            aviary_csv_free(one);
            rc = cli_fail("stdin line %ld: expected one row with the columns of %s", lineno, o->data);
            goto done;
        }
        memmove(win, win + C, (size_t)(L - 1) * C * sizeof(double));
        for (int c = 0; c < C; c++) win[(L - 1) * C + c] = aviary_csv_value(one, 1, (size_t)c);
        if (ti->dated) {
            int64_t ts;
            aviary_time_style st;
            if (!aviary_time_parse(aviary_csv_date(one, 1), &ts, &st)) {
                aviary_csv_free(one);
                rc = cli_fail("stdin line %ld: '%s' is not a date like the ones in %s", lineno,
                              aviary_csv_date(one, 1) ? aviary_csv_date(one, 1) : "", o->data);
                goto done;
            }
            ti->last = ts;
        } else {
            ti->next_row++;
        }
        aviary_csv_free(one);
        free(prev);
        prev = strdup(line);
        if (!prev) { rc = cli_fail("stream: out of memory"); goto done; }
        if (forecast_window(m, win, C, sc, horizon, out)) { rc = cli_fail_status(AVIARY_ERROR); goto done; }
        char b1[64], b2[64];
        printf("row %s -> next %s:", time_label(ti, 0, b1, sizeof b1), time_label(ti, 1, b2, sizeof b2));
        for (int c = 0; c < C; c++) printf(" %s=%.6g", aviary_csv_column_name(csv, (size_t)c), out[c]);
        printf(" | +%d %s:", horizon, time_label(ti, horizon, b2, sizeof b2));
        for (int c = 0; c < C; c++) printf(" %s=%.6g", aviary_csv_column_name(csv, (size_t)c), out[(horizon - 1) * C + c]);
        printf("\n");
        fflush(stdout);
        if (o->out && (rc = write_csv_out(o->out, csv, ti, out, horizon, C))) goto done;
    }
    if (o->plot) rc = write_plot(o->plot, csv, ti, win, L, out, horizon, C, "aviary forecast --stream (RWKV-TS)");
done:
    free(header);
    free(prev);
    free(win);
    free(out);
    free(line);
    return rc;
}

int cli_cmd_forecast(int argc, char **argv) {
    fc_opts o = {0};
    o.batch = 64;
    o.threads = 0;
    o.horizon = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
#define TAKE_STR(flag, field)                                                                 \
    if (!strcmp(a, flag)) {                                                                   \
        if (!val) return cli_fail("forecast: %s needs a value (see 'aviary forecast --help')", flag); \
        o.field = val;                                                                        \
        i++;                                                                                  \
        continue;                                                                             \
    }
#define TAKE_INT(flag, field, lo, hi)                                                         \
    if (!strcmp(a, flag)) {                                                                   \
        if (!val) return cli_fail("forecast: %s needs a value (see 'aviary forecast --help')", flag); \
        if (!cli_parse_int(flag, val, lo, hi, &o.field)) return 1;                            \
        i++;                                                                                  \
        continue;                                                                             \
    }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        TAKE_STR("-c", pipeline)
        TAKE_STR("--config", pipeline)
        TAKE_STR("--out", out)
        TAKE_STR("--plot", plot)
        TAKE_STR("--columns", columns)
        TAKE_STR("--date-column", date_column)
        TAKE_STR("--split", split)
        TAKE_STR("--part", part)
        TAKE_STR("--scale", scale)
        TAKE_STR("--target", target)
        TAKE_INT("--horizon", horizon, 1, 100000)
        TAKE_INT("--threads", threads, 1, 1024)
        TAKE_INT("--season", season, 1, 1000000)
        TAKE_INT("--batch-size", batch, 1, 1000000)
        TAKE_INT("--history", history, 1, 10000000)
        if (!strcmp(a, "--fill-forward")) { o.fill_forward = true; continue; }
        if (!strcmp(a, "--eval")) { o.eval = true; continue; }
        if (!strcmp(a, "--stream")) { o.stream = true; continue; }
        if (!strcmp(a, "--bench")) { o.bench = true; continue; }
        if (!strcmp(a, "--no-drop-last")) { o.no_drop_last = true; continue; }
        if (a[0] == '-' && a[1]) {
            usage(stderr);
            return cli_fail("forecast: unknown option '%s'", a);
        }
        if (o.data) return cli_fail("forecast: more than one data file given ('%s' and '%s')", o.data, a);
        o.data = a;
#undef TAKE_STR
#undef TAKE_INT
    }
    if (!o.pipeline || !o.data) {
        usage(stderr);
        return cli_fail("forecast: need -c PIPELINE.json and a DATA.csv file");
    }
    if ((o.eval + o.stream + o.bench) > 1) return cli_fail("forecast: --eval, --stream and --bench exclude each other");
    if (o.scale && strcmp(o.scale, "train") && strcmp(o.scale, "all") && strcmp(o.scale, "none"))
        return cli_fail("--scale: expected train, all or none, got '%s'", o.scale);
    if (o.threads > 0) aviary_set_num_threads((int)o.threads);

    ts_pipe tp;
    memset(&tp, 0, sizeof tp);
    if (load_pipeline(o.pipeline, &tp)) return 1;
    /* the pipeline's options are defaults; command-line flags win */
    if (!o.columns && tp.columns[0]) o.columns = tp.columns;
    if (!o.date_column && tp.date_column[0]) o.date_column = tp.date_column;
    if (!o.scale && tp.scale[0]) o.scale = tp.scale;
    if (tp.fill_forward) o.fill_forward = true;
    if (!o.horizon && tp.horizon > 0) o.horizon = tp.horizon;
    if (o.scale && strcmp(o.scale, "train") && strcmp(o.scale, "all") && strcmp(o.scale, "none"))
        return cli_fail("%s: scale: expected train, all or none, got '%s'", o.pipeline, o.scale);

    /* data */
    const char *names[256];
    int n_names = 0;
    char *colbuf = NULL;
    if (o.columns) {
        colbuf = strdup(o.columns);
        if (!colbuf) return cli_fail("out of memory");
        n_names = split_names(colbuf, names, 256);
        if (n_names <= 0) {
            free(colbuf);
            return cli_fail("--columns: expected a comma-separated list of column names, got '%s'", o.columns);
        }
    }
    aviary_csv_options copt = aviary_csv_default_options();
    copt.columns = n_names ? names : NULL;
    copt.n_columns = (size_t)n_names;
    copt.fill_forward = o.fill_forward;
    copt.date_column = o.date_column;
    size_t tlen = 0;
    char *text = cli_read_file(o.data, &tlen);
    if (!text) {
        int e = errno;
        free(colbuf);
        return cli_fail("%s: cannot open (%s)", o.data, strerror(e));
    }
    aviary_csv *csv = NULL;
    aviary_ts_model *m = NULL;
    double *win = NULL, *out = NULL, *smean = NULL, *sstd = NULL;
    int rc = 0;
    if (aviary_csv_parse(text, tlen, o.data, &copt, &csv)) { rc = cli_fail_status(AVIARY_FORMAT); goto done; }
    if (aviary_ts_model_load(tp.weights, &tp.params, &m)) { rc = cli_fail_status(AVIARY_ERROR); goto done; }
    const aviary_ts_info *I = aviary_ts_model_info(m);
    const int C = (int)aviary_csv_cols(csv);
    const int64_t N = (int64_t)aviary_csv_rows(csv);
    int target_col = -1;
    if (o.target) {
        for (int c = 0; c < C; c++)
            if (!strcmp(aviary_csv_column_name(csv, (size_t)c), o.target)) target_col = c;
        if (target_col < 0) { rc = cli_fail("--target: '%s' is not one of the chosen columns", o.target); goto done; }
    }
    if (N < I->seq_len) {
        rc = cli_fail("%s: %lld data rows, the model needs at least seq_len = %d", o.data, (long long)N, I->seq_len);
        goto done;
    }
    time_index ti;
    infer_time(csv, &ti);
    if (o.eval) {
        rc = run_eval(m, csv, &o, &ti, target_col);
        goto done;
    }
    /* scaler for forecasting */
    smean = malloc((size_t)C * sizeof(double));
    sstd = malloc((size_t)C * sizeof(double));
    if (!smean || !sstd) { rc = cli_fail("out of memory"); goto done; }
    scaler sc = {smean, sstd, NULL};
    if (o.scale && !strcmp(o.scale, "none")) {
        for (int c = 0; c < C; c++) { smean[c] = 0; sstd[c] = 1; }
        sc.desc = "none";
    } else {
        aviary_ts_borders bd;
        bool all = o.scale && !strcmp(o.scale, "all");
        if (!all && aviary_ts_split_borders(aviary_ts_split_for_file(o.data), N, I->seq_len, I->pred_len, &bd) == AVIARY_OK) {
            aviary_ts_scaler_fit(aviary_csv_data(csv), C, bd.train[0], bd.train[1], smean, sstd);
            sc.desc = "standard, fitted on the train rows (as in training)";
        } else {
            aviary_ts_scaler_fit(aviary_csv_data(csv), C, 0, N, smean, sstd);
            sc.desc = all ? "standard, fitted on every row" : "standard, fitted on every row (too few rows for a split)";
        }
    }
    int horizon = o.horizon > 0 ? (int)o.horizon : I->pred_len;
    win = malloc((size_t)I->seq_len * C * sizeof(double));
    out = malloc((size_t)horizon * C * sizeof(double));
    if (!win || !out) { rc = cli_fail("out of memory"); goto done; }
    for (int t = 0; t < I->seq_len; t++)
        for (int c = 0; c < C; c++) win[t * C + c] = aviary_csv_value(csv, (size_t)(N - I->seq_len + t), (size_t)c);
    if (o.bench) {
        rc = run_bench(m, win, C, &sc);
        goto done;
    }
    if (forecast_window(m, win, C, &sc, horizon, out)) { rc = cli_fail_status(AVIARY_ERROR); goto done; }
    {
        char b1[64], b2[64];
        printf("forecast: %s, %d column(s), last %d of %lld rows (%s .. %s)%s\n", o.data, C, I->seq_len, (long long)N,
               time_label(&ti, 1 - I->seq_len, b1, sizeof b1), time_label(&ti, 0, b2, sizeof b2),
               aviary_csv_filled(csv) ? " [missing cells filled forward]" : "");
        printf("model: %s (RWKV-TS, %d layers, d_model %d, %lld params), %d -> %d steps; scaler: %s\n", tp.weights,
               I->n_layer, I->d_model, (long long)I->n_params, I->seq_len, I->pred_len, sc.desc);
        if (ti.dated)
            printf("time step: %lld s (most common step of the last rows)\n", (long long)ti.step);
        if (horizon > I->pred_len)
            printf("note: horizon %d > pred_len %d: forecasts are fed back in, %d rows at a time\n", horizon,
                   I->pred_len, I->pred_len);
        print_forecast(csv, &ti, out, horizon, C);
    }
    if (o.out) {
        if ((rc = write_csv_out(o.out, csv, &ti, out, horizon, C))) goto done;
        printf("wrote %s (%d rows)\n", o.out, horizon);
    }
    if (o.plot && !o.stream) {
        int nh = (int)(o.history > 0 ? (o.history < N ? o.history : N) : I->seq_len);
        const double *hist = aviary_csv_data(csv) + (size_t)(N - nh) * C;
        char title[256];
        const char *base = strrchr(o.data, '/');
        snprintf(title, sizeof title, "RWKV-TS forecast: %s", base ? base + 1 : o.data);
        if ((rc = write_plot(o.plot, csv, &ti, hist, nh, out, horizon, C, title))) goto done;
        printf("wrote %s\n", o.plot);
    }
    if (o.stream) rc = run_stream(m, csv, text, tlen, &copt, &o, &sc, &ti, horizon);
done:
    free(win);
    free(out);
    free(smean);
    free(sstd);
    aviary_ts_model_free(m);
    aviary_csv_free(csv);
    free(text);
    free(colbuf);
    return rc;
}
