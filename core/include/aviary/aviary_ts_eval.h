/*
 * aviary_ts_eval.h - the standard long-term forecasting evaluation protocol
 * (as in the RWKV-TS / One-Fits-All / Time-Series-Library code bases):
 *
 *  - borders: ETT hourly files use fixed 12/4/4 months of 30 days
 *    (train [0, 8640), val [8640 - seq_len, 11520), test [11520 - seq_len, 14400));
 *    ETT 15-minute files the same x4; any other file 70/10/20:
 *    num_train = int(0.7 N), num_test = int(0.2 N), num_val = N - train - test,
 *    train [0, num_train), val [num_train - seq_len, num_train + num_val),
 *    test [N - num_test - seq_len, N). Half-open row ranges; val and test
 *    start seq_len rows early so that their first target is the first row of
 *    the part.
 *  - scaling: a standard scaler fitted on the train rows of every column
 *    (mean and population std, ddof 0; a zero std is replaced by 1, like
 *    sklearn), applied in double precision, then rounded to float32.
 *  - windows: channel-independent and channel-major, as the official
 *    Dataset_*: index i -> channel i / n, start i % n, with
 *    n = len(part) - seq_len - pred_len + 1; input rows [s, s+seq_len),
 *    targets the next pred_len rows.
 *  - the official test loader has batch_size 64 (the training batch size),
 *    shuffle False and drop_last True: only the first floor(total / 64) * 64
 *    windows are scored, i.e. the LAST windows of the LAST channel are
 *    dropped. Scores are also reported on all windows.
 *  - MSE and MAE averaged over scored windows x horizon, in scaled space.
 *  - baselines on exactly the same windows: naive (repeat the last input
 *    value) and seasonal naive (repeat the last `season` input values).
 *
 * Owned by the time-series ("ts") module; implemented in core/src/ts_eval.c.
 */
#ifndef AVIARY_TS_EVAL_H
#define AVIARY_TS_EVAL_H

#include "aviary_ts.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum aviary_ts_split {
    AVIARY_TS_SPLIT_CUSTOM = 0,     /* 70/10/20 */
    AVIARY_TS_SPLIT_ETT_HOUR = 1,   /* ETTh1/ETTh2 fixed borders */
    AVIARY_TS_SPLIT_ETT_MINUTE = 2  /* ETTm1/ETTm2 fixed borders */
} aviary_ts_split;

/* "custom", "ett_h", "ett_m"; NULL for an invalid value. */
AVIARY_API const char *aviary_ts_split_name(aviary_ts_split s);
/* The kind the official scripts would use for a data file: ETTh* -> ett_h, ETTm* -> ett_m, else custom. */
AVIARY_API aviary_ts_split aviary_ts_split_for_file(const char *path);

typedef struct aviary_ts_borders {
    int64_t train[2], val[2], test[2]; /* half-open row ranges */
} aviary_ts_borders;

/* Fails (AVIARY_INVALID_ARG, message naming the sizes) when the table is too
 * short to hold one test window. */
AVIARY_API aviary_status aviary_ts_split_borders(aviary_ts_split kind, int64_t n_rows, int seq_len, int pred_len,
                                                 aviary_ts_borders *out);

/* Mean and population std of rows [row0, row1) of data [rows][cols]. */
AVIARY_API void aviary_ts_scaler_fit(const double *data, int64_t cols, int64_t row0, int64_t row1, double *mean,
                                     double *std);
/* out[r][c] = (float)((data[r][c] - mean[c]) / std[c]) for rows [0, rows). */
AVIARY_API void aviary_ts_scaler_apply(const double *data, int64_t rows, int64_t cols, const double *mean,
                                       const double *std, float *out);

typedef struct aviary_ts_eval_params {
    int batch_size;  /* official test loader batch size (default 64) */
    bool drop_last;  /* official: true */
    int season;      /* seasonal-naive period in rows (default 24) */
} aviary_ts_eval_params;

AVIARY_API aviary_ts_eval_params aviary_ts_eval_default_params(void);

enum { AVIARY_TS_METHOD_MODEL = 0, AVIARY_TS_METHOD_NAIVE = 1, AVIARY_TS_METHOD_SEASONAL = 2, AVIARY_TS_METHODS = 3 };

typedef struct aviary_ts_score {
    double mse, mae;          /* over the scored windows (drop_last as in params) */
    double mse_all, mae_all;  /* over every window */
    double *mse_channel, *mae_channel; /* [cols], scored windows */
} aviary_ts_score;

typedef struct aviary_ts_eval_result {
    int64_t cols;
    int64_t windows_total, windows_scored, windows_per_channel;
    aviary_ts_score score[AVIARY_TS_METHODS];
} aviary_ts_eval_result;

/* Score the model (and the baselines) on every window of rows [row0, row1) of
 * scaled [rows][cols]. `m` may be NULL to score only the baselines (then
 * score[MODEL] stays zero). seq_len/pred_len come from the model, or from
 * seq_len/pred_len when m is NULL. Free the result with aviary_ts_eval_result_free. */
AVIARY_API aviary_status aviary_ts_evaluate(const aviary_ts_model *m, int seq_len, int pred_len, const float *scaled,
                                            int64_t cols, int64_t row0, int64_t row1,
                                            const aviary_ts_eval_params *params, aviary_ts_eval_result *out);
AVIARY_API void aviary_ts_eval_result_free(aviary_ts_eval_result *r);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_TS_EVAL_H */
