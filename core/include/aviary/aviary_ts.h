/*
 * aviary_ts.h - RWKV-TS long-term forecasting models (howard-hou/RWKV-TS,
 * Long-term_Forecasting/models/RWKV4TS.py) from their official checkpoints.
 *
 * The model is channel-independent: it maps one series of seq_len values to
 * pred_len values, and a multivariate input is simply several series. All
 * functions here take B independent series, series-major: x [B][seq_len],
 * forecasts [B][pred_len].
 *
 *   1. instance norm (RevIN, no affine): mean over time, std = sqrt(biased
 *      var + 1e-5); xn = (x - mean) / std
 *   2. padding: `stride` copies of the last value at the end, then patches of
 *      patch_len every stride: patch_num = (seq_len + stride - patch_len)/stride + 1
 *   3. in_layer: Linear(patch_len, d_model) per patch -> tokens [B][P][D]
 *   4. n_layer x051a blocks (aviary_ts_block.h)
 *   5. flatten (token-major: index p*D + c) and out_layer Linear(P*D, pred_len)
 *   6. de-normalise: y * std + mean
 *
 * Sizes come from the checkpoint (patch_len, d_model, heads, layers,
 * pred_len, patch_num); seq_len and stride are not stored and must be given
 * (they are checked against patch_num). Immutable after load; thread-safe.
 *
 * Owned by the time-series ("ts") module; implemented in core/src/rwkv_ts.c.
 */
#ifndef AVIARY_TS_H
#define AVIARY_TS_H

#include "aviary_ts_block.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct aviary_ts_params {
    int seq_len;              /* required: input length the model was trained for */
    int stride;               /* required: patch stride */
    double revin_eps;         /* default 1e-5 */
    double ln_eps;            /* default 1e-5 */
    double gn_eps;            /* default 6.4e-4 */
    aviary_weight_type weights;
} aviary_ts_params;

AVIARY_API aviary_ts_params aviary_ts_default_params(void);

typedef struct aviary_ts_info {
    int seq_len, pred_len, patch_len, stride, patch_num;
    int d_model, n_layer, n_head, head_size, ffn;
    int64_t n_params;
} aviary_ts_info;

typedef struct aviary_ts_model aviary_ts_model;

/* From an open checkpoint (keys in_layer.*, rwkv.N.*, out_layer.*; "module."
 * prefixes are handled by the checkpoint). The checkpoint may be closed after. */
AVIARY_API aviary_status aviary_ts_model_create(const aviary_checkpoint *ck, const aviary_ts_params *params,
                                                aviary_ts_model **out);
/* Open `path` (.pth or .safetensors), create, close. */
AVIARY_API aviary_status aviary_ts_model_load(const char *path, const aviary_ts_params *params, aviary_ts_model **out);
AVIARY_API void aviary_ts_model_free(aviary_ts_model *m);
AVIARY_API const aviary_ts_info *aviary_ts_model_info(const aviary_ts_model *m);

/* Stages (for plugins and verification). Buffers are caller-owned, contiguous. */
/* x [B][seq_len] -> xn [B][seq_len], mean[B], std[B]. */
AVIARY_API aviary_status aviary_ts_normalize(const aviary_ts_model *m, const float *x, int64_t B, float *xn,
                                             float *mean, float *std);
/* xn [B][seq_len] -> patches [B][patch_num][patch_len]. */
AVIARY_API aviary_status aviary_ts_patchify(const aviary_ts_model *m, const float *xn, int64_t B, float *patches);
/* patches -> tokens [B][patch_num][d_model]. */
AVIARY_API aviary_status aviary_ts_embed(const aviary_ts_model *m, const float *patches, int64_t B, float *tokens);
/* Block `layer` on tokens, in place. */
AVIARY_API aviary_status aviary_ts_block(const aviary_ts_model *m, int layer, float *tokens, int64_t B);
/* tokens -> out [B][pred_len] (normalised space). */
AVIARY_API aviary_status aviary_ts_head(const aviary_ts_model *m, const float *tokens, int64_t B, float *out);
/* out = out * std + mean, per series. */
AVIARY_API void aviary_ts_denormalize(const aviary_ts_model *m, float *out, int64_t B, const float *mean,
                                      const float *std);

/* Whole model: x [B][seq_len] -> y [B][pred_len]. */
AVIARY_API aviary_status aviary_ts_forecast(const aviary_ts_model *m, const float *x, int64_t B, float *y);

#ifdef __cplusplus
}
#endif
#endif /* AVIARY_TS_H */
