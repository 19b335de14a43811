/* rwkv_ts.c - RWKV-TS long-term forecasting model (contract in aviary_ts.h). */
#include <math.h>
#include <stdio.h>
#include "internal.h"
#include "weights.h"
#include "aviary/aviary_ts.h"

struct aviary_ts_model {
    aviary_ts_info info;
    double revin_eps;
    aviary_linear *in_layer, *out_layer;
    aviary_x051a_block **blocks;
};

aviary_ts_params aviary_ts_default_params(void) {
    aviary_ts_params p = {0, 0, 1e-5, 1e-5, 1e-5 * 64, AVIARY_WEIGHTS_AUTO};
    return p;
}

void aviary_ts_model_free(aviary_ts_model *m) {
    if (!m) return;
    if (m->blocks)
        for (int i = 0; i < m->info.n_layer; i++) aviary_x051a_block_free(m->blocks[i]);
    free(m->blocks);
    aviary_linear_free(m->in_layer);
    aviary_linear_free(m->out_layer);
    free(m);
}

const aviary_ts_info *aviary_ts_model_info(const aviary_ts_model *m) { return m ? &m->info : NULL; }

/* Linear `key` (weight + bias, any size); *in_f / *out_f receive its sizes. */
static aviary_status linear_2d(const aviary_checkpoint *ck, const char *key, const aviary_weight_type wt,
                               aviary_linear **out, int64_t *in_f, int64_t *out_f) {
    aviary_linear_params lp = aviary_linear_default_params();
    lp.weights = wt;
    int64_t dims[2];
    aviary_status s = aviary__w_linear_bias(ck, "", key, 0, 0, &lp, out, dims);
    if (s) return s;
    *out_f = dims[0];
    *in_f = dims[1];
    return AVIARY_OK;
}

aviary_status aviary_ts_model_create(const aviary_checkpoint *ck, const aviary_ts_params *params, aviary_ts_model **out) {
    if (out) *out = NULL;
    if (!ck || !params || !out) return aviary_error(AVIARY_INVALID_ARG, "aviary_ts_model_create: NULL argument");
    const char *path = aviary_checkpoint_path(ck);
    if (params->seq_len <= 0 || params->stride <= 0)
        return aviary_error(AVIARY_INVALID_ARG, "%s: RWKV-TS needs seq_len and stride (not stored in the checkpoint)", path);
    aviary_ts_model *m = calloc(1, sizeof *m);
    if (!m) return aviary_error(AVIARY_NOMEM, "out of memory");
    m->revin_eps = params->revin_eps > 0 ? params->revin_eps : 1e-5;
    aviary_ts_info *I = &m->info;
    I->seq_len = params->seq_len;
    I->stride = params->stride;
    aviary_status s;
    int64_t pin, dm, hin, pred;
    if ((s = linear_2d(ck, "in_layer", params->weights, &m->in_layer, &pin, &dm))) goto fail;
    if ((s = linear_2d(ck, "out_layer", params->weights, &m->out_layer, &hin, &pred))) goto fail;
    I->n_params = pin * dm + dm + hin * pred + pred;
    if (pin > params->seq_len || dm > (1 << 16) || hin % dm != 0) {
        s = aviary_error(AVIARY_SHAPE, "%s: in_layer [%lld, %lld] and out_layer [%lld, %lld] do not fit an RWKV-TS model",
                         path, (long long)dm, (long long)pin, (long long)pred, (long long)hin);
        goto fail;
    }
    I->patch_len = (int)pin;
    I->d_model = (int)dm;
    I->pred_len = (int)pred;
    I->patch_num = (int)(hin / dm);
    int expect = (params->seq_len + params->stride - I->patch_len) / params->stride + 1;
    if (expect != I->patch_num) {
        s = aviary_error(AVIARY_CONFIG,
                         "%s: out_layer expects %d patches, but seq_len %d, stride %d and patch_len %d give %d "
                         "(check seq_len/stride in the pipeline options)",
                         path, I->patch_num, params->seq_len, params->stride, I->patch_len, expect);
        goto fail;
    }
    /* Count blocks rwkv.0., rwkv.1., ... */
    int nl = 0;
    for (;; nl++) {
        char key[64];
        snprintf(key, sizeof key, "rwkv.%d.ln_1.weight", nl);
        if (!aviary_checkpoint_find(ck, key)) break;
        if (nl > 1000) break;
    }
    if (nl == 0) {
        s = aviary_error(AVIARY_NOT_FOUND, "%s: no RWKV-TS blocks (rwkv.0.ln_1.weight missing)", path);
        goto fail;
    }
    m->blocks = calloc((size_t)nl, sizeof *m->blocks);
    if (!m->blocks) { s = aviary_error(AVIARY_NOMEM, "out of memory"); goto fail; }
    I->n_layer = nl;
    aviary_x051a_params bp = aviary_x051a_default_params();
    if (params->ln_eps > 0) bp.ln_eps = params->ln_eps;
    if (params->gn_eps > 0) bp.gn_eps = params->gn_eps;
    bp.weights = params->weights;
    for (int i = 0; i < nl; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "rwkv.%d.", i);
        if ((s = aviary_x051a_block_create(ck, prefix, &bp, &m->blocks[i]))) goto fail;
        if (aviary_x051a_block_width(m->blocks[i]) != I->d_model) {
            s = aviary_error(AVIARY_SHAPE, "%s: block %d has width %d, in_layer gives d_model %d", path, i,
                             aviary_x051a_block_width(m->blocks[i]), I->d_model);
            goto fail;
        }
        I->n_params += aviary_x051a_block_params(m->blocks[i]);
    }
    I->n_head = aviary_x051a_block_heads(m->blocks[0]);
    I->head_size = I->d_model / I->n_head;
    I->ffn = aviary_x051a_block_ffn(m->blocks[0]);
    *out = m;
    return AVIARY_OK;
fail:
    aviary_ts_model_free(m);
    return s;
}

aviary_status aviary_ts_model_load(const char *path, const aviary_ts_params *params, aviary_ts_model **out) {
    if (out) *out = NULL;
    aviary_checkpoint *ck = NULL;
    aviary_status s = aviary_checkpoint_open(path, &ck);
    if (s) return s;
    s = aviary_ts_model_create(ck, params, out);
    aviary_checkpoint_close(ck);
    return s;
}

static aviary_status check_args(const aviary_ts_model *m, const void *a, const void *b, int64_t B, const char *fn) {
    if (!m || !a || !b || B <= 0 || B > ((int64_t)1 << 32))
        return aviary_error(AVIARY_INVALID_ARG, "%s: bad arguments", fn);
    return AVIARY_OK;
}

aviary_status aviary_ts_normalize(const aviary_ts_model *m, const float *x, int64_t B, float *xn, float *mean,
                                  float *std) {
    aviary_status s = check_args(m, x, xn, B, "aviary_ts_normalize");
    if (s) return s;
    if (!mean || !std) return aviary_error(AVIARY_INVALID_ARG, "aviary_ts_normalize: bad arguments");
    const int L = m->info.seq_len;
    for (int64_t b = 0; b < B; b++) {
        const float *xs = x + b * L;
        double mu = 0, var = 0;
        for (int t = 0; t < L; t++) mu += xs[t];
        mu /= L;
        float muf = (float)mu;
        for (int t = 0; t < L; t++) {
            double d = (double)(xs[t] - muf);
            var += d * d;
        }
        var /= L;
        float sd = (float)sqrt(var + m->revin_eps);
        mean[b] = muf;
        std[b] = sd;
        for (int t = 0; t < L; t++) xn[b * L + t] = (xs[t] - muf) / sd;
    }
    return AVIARY_OK;
}

aviary_status aviary_ts_patchify(const aviary_ts_model *m, const float *xn, int64_t B, float *patches) {
    aviary_status s = check_args(m, xn, patches, B, "aviary_ts_patchify");
    if (s) return s;
    const int L = m->info.seq_len, P = m->info.patch_num, PL = m->info.patch_len, S = m->info.stride;
    for (int64_t b = 0; b < B; b++) {
        const float *xs = xn + b * L;
        for (int p = 0; p < P; p++)
            for (int i = 0; i < PL; i++) {
                int t = p * S + i;
                patches[(b * P + p) * PL + i] = xs[t < L ? t : L - 1];
            }
    }
    return AVIARY_OK;
}

aviary_status aviary_ts_embed(const aviary_ts_model *m, const float *patches, int64_t B, float *tokens) {
    aviary_status s = check_args(m, patches, tokens, B, "aviary_ts_embed");
    if (s) return s;
    return aviary_linear_forward(m->in_layer, patches, B * m->info.patch_num, tokens);
}

aviary_status aviary_ts_block(const aviary_ts_model *m, int layer, float *tokens, int64_t B) {
    aviary_status s = check_args(m, tokens, tokens, B, "aviary_ts_block");
    if (s) return s;
    if (layer < 0 || layer >= m->info.n_layer)
        return aviary_error(AVIARY_INVALID_ARG, "aviary_ts_block: layer %d out of range [0, %d)", layer, m->info.n_layer);
    return aviary_x051a_block_forward(m->blocks[layer], tokens, B, m->info.patch_num);
}

aviary_status aviary_ts_head(const aviary_ts_model *m, const float *tokens, int64_t B, float *out) {
    aviary_status s = check_args(m, tokens, out, B, "aviary_ts_head");
    if (s) return s;
    return aviary_linear_forward(m->out_layer, tokens, B, out);
}

void aviary_ts_denormalize(const aviary_ts_model *m, float *out, int64_t B, const float *mean, const float *std) {
    if (!m || !out || !mean || !std) return;
    const int PL = m->info.pred_len;
    for (int64_t b = 0; b < B; b++)
        for (int t = 0; t < PL; t++) out[b * PL + t] = out[b * PL + t] * std[b] + mean[b];
}

aviary_status aviary_ts_forecast(const aviary_ts_model *m, const float *x, int64_t B, float *y) {
    aviary_status s = check_args(m, x, y, B, "aviary_ts_forecast");
    if (s) return s;
    const aviary_ts_info *I = &m->info;
    size_t nxn = (size_t)B * I->seq_len, npat = (size_t)B * I->patch_num * I->patch_len,
           ntok = (size_t)B * I->patch_num * I->d_model;
    float *buf = aviary__alloc_aligned((nxn + npat + ntok + 2 * (size_t)B) * sizeof(float));
    if (!buf) return aviary_error(AVIARY_NOMEM, "RWKV-TS forecast: out of memory");
    float *xn = buf, *pat = xn + nxn, *tok = pat + npat, *mean = tok + ntok, *std = mean + B;
    if ((s = aviary_ts_normalize(m, x, B, xn, mean, std)) || (s = aviary_ts_patchify(m, xn, B, pat)) ||
        (s = aviary_ts_embed(m, pat, B, tok)))
        goto done;
    for (int l = 0; l < I->n_layer; l++)
        if ((s = aviary_ts_block(m, l, tok, B))) goto done;
    if ((s = aviary_ts_head(m, tok, B, y))) goto done;
    aviary_ts_denormalize(m, y, B, mean, std);
done:
    aviary__free_aligned(buf);
    return s;
}
